"""An API app in-process with one tree image and a small upload limit, and a
caller for the image API (raw bodies, any content type) beside apiapp's
compute caller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.app import build_app
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from api.state import STATE
from model.catalog import Image
from tests.unit.api.apiapp import FLAVORS, USERS, ApiClient, FakeTop

TREE_IMAGE = Image("8d3a5c46-1b6e-4c1f-9a55-0f3f1c2b7e10", "debian-12", "debian-12.qcow2")
MAX_IMAGE = 4096
MAX_BODY = 2048  # an upload is not a request body: it may be larger
PATCH = "application/openstack-images-v2.1-json-patch"


class ImageCaller(ApiClient):
    """ApiClient with `image`: a request under /image/v2 answering (status,
    headers, body: JSON when it is, else bytes)."""

    def image(self, user: str, method: str, path: str, body: Any = None,
              data: bytes | None = None, content_type: str = "application/json",
              headers: dict[str, str] | None = None,
              chunked: bool = False) -> tuple[int, dict[str, str], Any]:
        token, _ = self.app[STATE].issuer.issue(USERS[user])
        sent = {"X-Auth-Token": token, "Content-Type": content_type, **(headers or {})}
        payload = data if data is not None else (
            json.dumps(body).encode() if body is not None else None)

        async def pieces() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            yield payload or b""

        async def send() -> tuple[int, dict[str, str], Any]:
            async with self.client.request(method, f"/image/v2{path}",
                                           data=pieces() if chunked else payload,
                                           headers=sent) as resp:
                raw = await resp.read()
                is_json = resp.content_type == "application/json"
                return resp.status, dict(resp.headers), (json.loads(raw) if is_json
                                                         and raw else raw)
        result: tuple[int, dict[str, str], Any] = self._run(send())
        return result

    def create(self, user: str = "alice", **attributes: Any) -> dict[str, Any]:
        """A new image (raw, bare, private unless said), checked made."""
        body = {"name": "img", "disk_format": "raw", "container_format": "bare",
                "visibility": "private"} | attributes
        status, _, made = self.image(user, "POST", "/images", body)
        assert status == 201, made
        return dict(made)

    def upload(self, image_id: str, data: bytes, user: str = "alice",
               chunked: bool = False) -> int:
        status, _, _ = self.image(user, "PUT", f"/images/{image_id}/file", data=data,
                                  content_type="application/octet-stream", chunked=chunked)
        return status


@contextmanager
def image_client(tmp: Path) -> Iterator[ImageCaller]:
    KeyRepository(tmp / "keys").init()
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1",
                       users_file=tmp / "users.json", keys_dir=tmp / "keys",
                       flavors=FLAVORS, images=(TREE_IMAGE,), max_image_size=MAX_IMAGE,
                       max_body=MAX_BODY)
    client = ImageCaller(build_app(config, tree=FakeTop()))  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()
