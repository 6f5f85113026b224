"""Tests for DELETE /identity/v3/auth/tokens (revoking one token) and
GET /identity/v3/auth/catalog, over real HTTP, in-process; and, in the whole
API app, that a revoked token is refused everywhere, by every API process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from api.identity.errors import Unauthorized
from api.identity.tokens import TokenIssuer
from api.identity.users import User, UserStore
from api.state import STATE
from tests.unit.api.apiapp import USERS
from tests.unit.api.apiapp import make_app as make_api_app
from tests.unit.api.identity.helpers import Reply, call, catalog

TOKENS = "/identity/v3/auth/tokens"
CATALOG = "/identity/v3/auth/catalog"
AppMaker = Callable[[], web.Application]


def on_token(make_app: AppMaker, method: str, auth: str, subject: str) -> Reply:
    headers = {"X-Auth-Token": auth, "X-Subject-Token": subject}
    return call(make_app(), method, TOKENS, headers={k: v for k, v in headers.items() if v})


def assert_keystone_error(reply: Reply, code: int, says: str) -> None:
    assert reply.status == code
    assert reply.json()["error"]["code"] == code
    assert says in reply.json()["error"]["message"]


# ------------------------------------------------------------ revoking


def test_a_user_revokes_their_own_token_and_it_is_gone(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    other, _ = issuer.issue(alice)
    reply = on_token(make_app, "DELETE", token, token)
    assert (reply.status, reply.text) == (204, "")
    # Validating it is 404, as Keystone answers (GET and HEAD) ...
    assert_keystone_error(on_token(make_app, "GET", other, token), 404, "revoked")
    assert on_token(make_app, "HEAD", other, token).status == 404
    # ... and using it is 401, while the user's other tokens still work.
    assert_keystone_error(on_token(make_app, "GET", token, other), 401, "revoked")
    with pytest.raises(Unauthorized, match="revoked"):
        issuer.verify(token)
    assert issuer.verify(other).user_name == "alice"


def test_revoking_a_revoked_token_is_404(
        make_app: AppMaker, issuer: TokenIssuer, alice: User, root: User) -> None:
    token, _ = issuer.issue(alice)
    admin, _ = issuer.issue(root)
    assert on_token(make_app, "DELETE", admin, token).status == 204
    assert_keystone_error(on_token(make_app, "DELETE", admin, token), 404, "Could not find token")


def test_a_member_may_not_revoke_someone_elses_token(
        make_app: AppMaker, issuer: TokenIssuer, users: UserStore, alice: User) -> None:
    bob = next(u for u in users.users() if u.name == "bob")
    alices, _ = issuer.issue(alice)
    bobs, _ = issuer.issue(bob)
    assert_keystone_error(on_token(make_app, "DELETE", bobs, alices), 403,
                          "identity:revoke_token")
    assert issuer.verify(alices).user_name == "alice"


def test_an_admin_may_revoke_anyones_token(
        make_app: AppMaker, issuer: TokenIssuer, alice: User, root: User) -> None:
    alices, _ = issuer.issue(alice)
    roots, _ = issuer.issue(root)
    assert on_token(make_app, "DELETE", roots, alices).status == 204
    with pytest.raises(Unauthorized):
        issuer.verify(alices)


@pytest.mark.parametrize(("auth", "subject", "code", "says"), [
    ("alice", "", 400, "X-Subject-Token"),
    ("alice", "garbage", 404, "Could not find token"),
    ("", "alice", 401, "requires authentication"),
    ("garbage", "alice", 401, "not valid"),
], ids=["no-subject", "bad-subject", "no-caller", "bad-caller"])
def test_a_bad_revocation_request(make_app: AppMaker, issuer: TokenIssuer, alice: User,
                                  auth: str, subject: str, code: int, says: str) -> None:
    token, _ = issuer.issue(alice)
    named = {"alice": token, "garbage": "garbage", "": ""}
    reply = on_token(make_app, "DELETE", named[auth], named[subject])
    assert_keystone_error(reply, code, says)
    assert issuer.verify(token).user_name == "alice"


# ------------------------------------------------------------ the catalog


def test_the_catalog_is_the_tokens(make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    reply = call(make_app(), "GET", CATALOG, headers={"X-Auth-Token": token})
    assert reply.status == 200
    body = reply.json()
    assert body["catalog"] == catalog(None)  # type: ignore[arg-type]
    assert body["links"]["self"].endswith(CATALOG)
    assert (body["links"]["previous"], body["links"]["next"]) == (None, None)


@pytest.mark.parametrize("token", ["", "garbage"], ids=["none", "garbage"])
def test_the_catalog_needs_a_valid_token(make_app: AppMaker, token: str) -> None:
    headers = {"X-Auth-Token": token} if token else {}
    reply = call(make_app(), "GET", CATALOG, headers=headers)
    assert_keystone_error(reply, 401, "")
    assert reply.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_a_revoked_token_has_no_catalog(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    assert on_token(make_app, "DELETE", token, token).status == 204
    reply = call(make_app(), "GET", CATALOG, headers={"X-Auth-Token": token})
    assert_keystone_error(reply, 401, "revoked")


# ------------------------------------------------------------ the whole API


def test_a_revoked_token_is_refused_by_every_api_process(tmp_path: Path) -> None:
    first, _ = make_api_app(tmp_path)
    token, _ = first[STATE].issuer.issue(USERS["alice"])
    auth = {"X-Auth-Token": token}
    assert call(first, "DELETE", TOKENS, headers=auth | {"X-Subject-Token": token}).status == 204
    # Another API process on the same database (and keys) refuses it too.
    second, _ = make_api_app(tmp_path)
    reply = call(second, "GET", "/v2.1/flavors", headers=auth)
    assert_keystone_error(reply, 401, "revoked")
    assert reply.headers["WWW-Authenticate"].startswith("Keystone uri=")
    fresh, _ = second[STATE].issuer.issue(USERS["alice"])
    third, _ = make_api_app(tmp_path)
    assert call(third, "GET", "/v2.1/flavors", headers={"X-Auth-Token": fresh}).status == 200
