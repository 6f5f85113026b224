"""Failed logins rate-limited per user and per address (api.identity.throttle),
and the login's answers for a throttled user and for a directory that is down,
over fake backends."""

from __future__ import annotations

import pytest
from aiohttp import web

from api.identity.backends.base import Account
from api.identity.backends.loop import LoopBackend
from api.identity.errors import DirectoryUnavailable, LoginsThrottled, Unauthorized
from api.identity.routes import add_routes
from api.identity.throttle import LoginThrottle
from api.identity.tokens import TokenIssuer
from api.identity.users import AUTH_FAILED, Grant, User, UserStore
from tests.unit.api.identity.helpers import FakeClock, OneProject, call, catalog


def test_a_user_is_throttled_after_their_failures_until_the_window_passes() -> None:
    clock = FakeClock(0.0)
    throttle = LoginThrottle(per_user=3, per_address=100, window=60.0, clock=clock)
    for seconds in (0, 10, 20):
        clock.now = seconds
        throttle.check("ann", "10.0.0.1")
        throttle.failed("ann", "10.0.0.1")
    with pytest.raises(LoginsThrottled) as refused:
        throttle.check("ann", "10.0.0.9")  # from anywhere
    assert refused.value.retry_after == 40  # when the first failure is 60 s old
    throttle.check("bob", "10.0.0.9")  # others are not
    clock.now = 60.0
    throttle.check("ann", "10.0.0.1")  # one failure aged out: one more try


def test_an_address_is_throttled_whatever_names_it_tries() -> None:
    clock = FakeClock(0.0)
    throttle = LoginThrottle(per_user=100, per_address=4, window=30.0, clock=clock)
    for n in range(4):
        throttle.failed(f"user{n}", "10.0.0.1")
    with pytest.raises(LoginsThrottled, match="address"):
        throttle.check("someone-else", "10.0.0.1")
    throttle.check("someone-else", "10.0.0.2")


def test_a_success_clears_the_users_failures() -> None:
    throttle = LoginThrottle(per_user=2, per_address=100, clock=FakeClock(0.0))
    throttle.failed("ann", "a")
    throttle.succeeded("ann")
    throttle.failed("ann", "a")
    throttle.check("ann", "a")


class FakeBackend(OneProject):
    """One user, ann (member of shop, password "pw"); `down` makes every call fail."""

    name = "fake"
    external = True
    writable = False
    cache_seconds = 5.0
    threads = 1

    def __init__(self) -> None:
        self.down = False
        self.ann = User("ann", "ann", "shop", "member", "")
        self.calls = 0

    def _up(self) -> None:
        self.calls += 1
        if self.down:
            raise DirectoryUnavailable("the directory at ldap://fake did not answer")

    def authenticate(self, name: str, password: str) -> User:
        self._up()
        if (name, password) != ("ann", "pw"):
            raise Unauthorized(AUTH_FAILED)
        return self.ann

    def account(self, user_id: str) -> Account:
        self._up()
        if user_id != "ann":
            return Account(None)
        return Account(self.ann, (Grant("ann", "shop", "member"),))

    def remembered(self, user_id: str) -> Account | None:
        return None  # always asked


def login(name: str, password: str) -> dict[str, object]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}}


def app_with(users: UserStore, issuer: TokenIssuer, backend: FakeBackend,
             throttle: LoginThrottle) -> web.Application:
    app = web.Application()
    add_routes(app, users, issuer, catalog, lambda r: str(r.url.origin()), LoopBackend(backend),
               throttle)
    return app


def test_a_throttled_login_is_429_with_retry_after_and_keystones_body(
        users: UserStore, issuer: TokenIssuer) -> None:
    backend, throttle = FakeBackend(), LoginThrottle(per_user=2, clock=FakeClock(0.0))
    for _ in range(2):
        assert call(app_with(users, issuer, backend, throttle), "POST",
                    "/identity/v3/auth/tokens", json=login("ann", "wrong")).status == 401
    asked = backend.calls
    reply = call(app_with(users, issuer, backend, throttle), "POST",
                 "/identity/v3/auth/tokens", json=login("ann", "pw"))
    assert reply.status == 429 and reply.headers["Retry-After"] == "60"
    assert reply.json()["error"]["code"] == 429
    assert reply.json()["error"]["title"] == "Too Many Requests"
    assert backend.calls == asked  # the directory was not asked


def test_the_directory_down_is_503_for_a_login(users: UserStore, issuer: TokenIssuer) -> None:
    backend = FakeBackend()
    backend.down = True
    reply = call(app_with(users, issuer, backend, LoginThrottle()), "POST",
                 "/identity/v3/auth/tokens", json=login("ann", "pw"))
    assert reply.status == 503
    assert reply.json()["error"] == {"code": 503, "title": "Service Unavailable",
                                     "message": "the directory at ldap://fake did not answer"}


def test_a_login_from_the_fake_backend_scopes_to_its_grant(
        users: UserStore, issuer: TokenIssuer) -> None:
    reply = call(app_with(users, issuer, FakeBackend(), LoginThrottle()), "POST",
                 "/identity/v3/auth/tokens", json=login("ann", "pw"))
    assert reply.status == 201
    assert reply.json()["token"]["project"] == {"id": "shop", "name": "shop",
                                                "domain": {"id": "default", "name": "Default"}}
