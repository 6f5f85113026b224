"""A directory that hangs holds the requests that need it, never the event loop
(api.identity.backends.loop): while a login's bind or a token's uncached lookup
is stuck, an unauthenticated request and a request whose token's answer is
cached are answered. The fake directory's calls block on threading.Events the
test sets: paced by events, no sleeps."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.identity.backends.base import Account
from api.identity.backends.loop import LoopBackend
from api.identity.errors import Unauthorized
from api.identity.keys import KeyRepository
from api.identity.revocation import StillHeld
from api.identity.routes import add_routes, authenticate_request
from api.identity.tokens import TokenIssuer
from api.identity.users import AUTH_FAILED, Grant, User, UserStore
from tests.unit.api.identity.helpers import OneProject, catalog

GUARD = 30.0  # seconds: only so that a regression fails instead of hanging
ANN = User("ann", "ann", "shop", "member", "")
BEN = User("ben", "ben", "shop", "member", "")
LOGIN = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "ann", "domain": {"id": "default"}, "password": "pw"}}}}}


class HangingDirectory(OneProject):
    """ann and ben, members of shop. A call that must ask the directory (a
    bind, a lookup not remembered) says so on `asked` and then waits for
    `answer`; what it answered is remembered."""

    name = "ldap"
    external = True
    writable = False
    cache_seconds = 5.0
    threads = 4

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()
        self._known = {u.id: Account(u, (Grant(u.id, "shop", "member"),)) for u in (ANN, BEN)}
        self._remembered: dict[str, Account] = {}

    def _round_trip(self) -> None:
        self.asked.set()
        assert self.answer.wait(GUARD), "the test never let the directory answer"

    def authenticate(self, name: str, password: str) -> User:
        self._round_trip()
        if (name, password) != ("ann", "pw"):
            raise Unauthorized(AUTH_FAILED)
        return ANN

    def account(self, user_id: str) -> Account:
        self._round_trip()
        found = self._remembered[user_id] = self._known.get(user_id, Account(None))
        return found

    def remembered(self, user_id: str) -> Account | None:
        return self._remembered.get(user_id)


def app_over(users: UserStore, keys: KeyRepository, directory: HangingDirectory
             ) -> tuple[web.Application, TokenIssuer]:
    """The identity routes over `directory`, an open route and a route that
    needs a token, as the API app's middleware checks one."""
    backend = LoopBackend(directory)
    issuer = TokenIssuer(keys, access=StillHeld(backend))

    async def open_route(request: web.Request) -> web.StreamResponse:
        return web.json_response({"versions": []})

    async def servers(request: web.Request) -> web.StreamResponse:
        who = await authenticate_request(request, issuer)
        return web.json_response({"servers": [], "user": who.user_name})

    app = web.Application()
    add_routes(app, users, issuer, catalog, lambda r: str(r.url.origin()), backend)
    app.router.add_get("/v2.1", open_route)
    app.router.add_get("/v2.1/servers", servers)
    return app, issuer


@asynccontextmanager
async def client_of(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(app)) as client:
        yield client


async def status(client: TestClient[Any, Any], path: str, token: str = "") -> int:
    headers = {"X-Auth-Token": token} if token else {}
    async with client.get(path, headers=headers) as resp:
        return resp.status


async def stuck(directory: HangingDirectory) -> None:
    """Once a call is waiting in the directory (awaited on a thread of its own)."""
    assert await asyncio.to_thread(directory.asked.wait, GUARD), "nothing asked the directory"


def test_requests_are_answered_while_a_login_is_stuck_in_the_directory(
        users: UserStore, keys: KeyRepository) -> None:
    directory = HangingDirectory()
    directory.answer.set()
    app, issuer = app_over(users, keys, directory)
    token, _ = issuer.issue(ANN, "shop", "member")

    async def main() -> None:
        async with client_of(app) as client:
            assert await status(client, "/v2.1/servers", token) == 200  # ann's answer kept
            directory.asked.clear()
            directory.answer.clear()
            login = asyncio.create_task(client.post("/identity/v3/auth/tokens", json=LOGIN))
            await stuck(directory)
            assert await status(client, "/v2.1") == 200
            assert await status(client, "/v2.1/servers", token) == 200
            assert await status(client, "/identity/v3/auth/catalog", token) == 200
            assert not login.done() and not directory.answer.is_set()  # still stuck
            directory.answer.set()
            async with await login as answered:
                assert answered.status == 201

    asyncio.run(main())


def test_a_token_whose_lookup_is_stuck_holds_only_its_own_request(
        users: UserStore, keys: KeyRepository) -> None:
    directory = HangingDirectory()
    directory.answer.set()
    app, issuer = app_over(users, keys, directory)
    anns, _ = issuer.issue(ANN, "shop", "member")
    bens, _ = issuer.issue(BEN, "shop", "member")  # never looked up yet

    async def main() -> None:
        async with client_of(app) as client:
            assert await status(client, "/v2.1/servers", anns) == 200
            directory.asked.clear()
            directory.answer.clear()
            ben = asyncio.create_task(status(client, "/v2.1/servers", bens))
            await stuck(directory)
            assert await status(client, "/v2.1/servers", anns) == 200
            assert await status(client, "/v2.1") == 200
            assert not ben.done()
            directory.answer.set()
            assert await ben == 200

    asyncio.run(main())
