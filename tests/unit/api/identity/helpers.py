"""Shared test data for the identity tests: users, a fake clock, a catalog, HTTP helpers.

`call` runs one request against a fresh app in-process (aiohttp's TestServer);
`serving` runs an app on a real port in a thread of its own, for blocking
clients such as keystoneauth.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDictProxy

from api.identity.users import Project

ALICE = {"name": "alice", "project": "acme", "role": "member", "password": "alice-secret"}
ROOT = {"name": "root", "project": "ops", "role": "admin", "password": "root-secret"}
BOB = {"name": "bob", "project": "acme", "role": "member", "password": "bob-secret"}
COMPUTE_URL = "http://compute.example:8774/v2.1"
START = 1_790_000_000.0  # 2026-09-21T14:13:20Z: any fixed moment


class OneProject:
    """The project part of a fake identity backend: one project, shop."""

    def projects(self) -> list[Project]:
        return [Project("shop", "shop")]

    def project_by_id(self, project_id: str) -> Project | None:
        return Project("shop", "shop") if project_id == "shop" else None

    def project_by_name(self, name: str) -> Project | None:
        return self.project_by_id(name)


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def catalog(request: web.Request) -> list[dict[str, Any]]:
    """A one-service catalog, in Keystone's format."""
    return [{"type": "compute", "name": "nova", "id": "compute", "endpoints": [
        {"id": "compute-public", "interface": "public", "region": "RegionOne",
         "region_id": "RegionOne", "url": COMPUTE_URL},
    ]}]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def call(app: web.Application, method: str, path: str, **kwargs: Any) -> Reply:
    """One request to `app`, served in-process."""
    async def main() -> Reply:
        async with TestClient(TestServer(app)) as client, \
                client.request(method, path, **kwargs) as resp:
            return Reply(resp.status, resp.headers, await resp.text())
    return asyncio.run(main())


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """`app` on 127.0.0.1 (a free port) in a thread with its own event loop; yields
    its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, name="identity-test-server")
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
