"""Fixtures for the identity tests: a users file, a key directory, a fake clock, an app.

The users file is made once per session (each password costs one scrypt run)
and copied into every test's own directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from api.identity.keys import KeyRepository
from api.identity.routes import MAX_BODY, add_routes
from api.identity.tokens import TokenIssuer
from api.identity.users import User, UserStore
from tests.unit.api.identity.helpers import ALICE, BOB, ROOT, FakeClock, catalog


@pytest.fixture(scope="session")
def users_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.json"
    store = UserStore(path)
    for user in (ALICE, ROOT, BOB):
        store.add(**user)
    return path


@pytest.fixture
def users(users_template: Path, tmp_path: Path) -> UserStore:
    """alice and bob (members of acme) and root (admin of ops)."""
    return UserStore(Path(shutil.copy(users_template, tmp_path / "users.json")))


@pytest.fixture
def alice(users: UserStore) -> User:
    return next(u for u in users.users() if u.name == "alice")


@pytest.fixture
def root(users: UserStore) -> User:
    return next(u for u in users.users() if u.name == "root")


@pytest.fixture
def keys(tmp_path: Path) -> KeyRepository:
    repo = KeyRepository(tmp_path / "keys", recheck=0.0)  # every change seen at once
    repo.init()
    return repo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(keys: KeyRepository, clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(keys, ttl=3600.0, clock=clock)


@pytest.fixture
def make_app(users: UserStore, issuer: TokenIssuer) -> Callable[[], web.Application]:
    """Makes a fresh app with the identity routes (an aiohttp app is run only once)."""
    def make() -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)  # as the API's app has it
        add_routes(app, users, issuer, catalog, lambda r: str(r.url.origin()))
        return app
    return make
