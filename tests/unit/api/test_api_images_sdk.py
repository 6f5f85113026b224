"""openstacksdk, as users run it, against the whole API app on a real port:
an image created with data, listed, patched, downloaded and deleted."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from api.app import build_app
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from api.identity.users import UserStore
from tests.unit.api.apiapp import FLAVORS, FakeTop
from tests.unit.api.imageapp import TREE_IMAGE

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
DATA = b"cellrouter image " * 512


@contextmanager
def serving(tmp: Path) -> Iterator[str]:
    """The API app on a free loopback port, in a thread of its own; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    KeyRepository(tmp / "keys").init()
    UserStore(tmp / "users.json").add("alice", "shop", "member", "alice-password")
    config = ApiConfig(listen=f"127.0.0.1:{port}", top="127.0.0.1:1",
                       users_file=tmp / "users.json", keys_dir=tmp / "keys",
                       flavors=FLAVORS, images=(TREE_IMAGE,))
    runner = web.AppRunner(build_app(config, tree=FakeTop(), port=port))  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def test_an_image_made_uploaded_listed_and_deleted_through_openstacksdk(
        tmp_path: Path) -> None:
    with serving(tmp_path) as base:
        conn = openstack.connect(
            auth_url=f"{base}/identity", username="alice", password="alice-password",
            project_name="shop", user_domain_name="Default", project_domain_name="Default",
            region_name="RegionOne")
        made = conn.image.create_image(
            "sdk-image", data=DATA, disk_format="raw", container_format="bare",
            visibility="private", meta={"os_distro": "debian", "shop_label": "blue"},
            wait=True, timeout=30)
        shown = conn.image.get_image(made.id)
        assert (shown.status, shown.size, shown.checksum, shown.owner_id) == (
            "active", len(DATA), hashlib.md5(DATA).hexdigest(), "shop")
        assert shown.hash_value == hashlib.sha512(DATA).hexdigest()
        assert (shown.os_distro, shown.properties["shop_label"]) == ("debian", "blue")
        assert {i.id for i in conn.image.images()} == {made.id, TREE_IMAGE.id}
        conn.image.update_image(made, name="renamed", shop_label="green")
        again = conn.image.get_image(made.id)
        assert (again.name, again.properties["shop_label"]) == ("renamed", "green")
        assert conn.image.download_image(made).content == DATA
        conn.image.delete_image(made)
        assert [i.id for i in conn.image.images()] == [TREE_IMAGE.id]
