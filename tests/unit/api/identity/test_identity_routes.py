"""Tests for api.identity.routes: the Keystone v3 endpoints over real HTTP, in-process."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from api.identity.errors import KeysMissing
from api.identity.routes import MAX_BODY, authenticate_request, error_response
from api.identity.tokens import TokenIssuer
from api.identity.users import User
from tests.unit.api.identity.helpers import ALICE, COMPUTE_URL, FakeClock, Reply, call

TOKENS = "/identity/v3/auth/tokens"
DEFAULT = {"id": "default", "name": "Default"}
KEYSTONE_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
AppMaker = Callable[[], web.Application]


def login(name: str = "alice", password: str = ALICE["password"],
          scope: Any = None, user_domain: Any = None, **user: Any) -> dict[str, Any]:
    """A password-auth body, as keystoneauth sends it."""
    ref = {"name": name, "domain": user_domain or {"name": "Default"}, "password": password}
    auth: dict[str, Any] = {"identity": {"methods": ["password"],
                                         "password": {"user": {**ref, **user}}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def by_name(project: str, domain: Any = None) -> dict[str, Any]:
    return {"project": {"name": project, "domain": domain or {"name": "Default"}}}


def assert_keystone_error(reply: Reply, code: int, title: str, says: str = "") -> None:
    assert reply.status == code
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert (error["code"], error["title"]) == (code, title)
    assert says in error["message"]


# ------------------------------------------------------------ discovery


@pytest.mark.parametrize("path", ["/identity", "/identity/"])
def test_the_version_list_offers_v3(make_app: AppMaker, path: str) -> None:
    reply = call(make_app(), "GET", path)
    assert reply.status == 300
    [v3] = reply.json()["versions"]["values"]
    assert (v3["id"], v3["status"]) == ("v3.14", "stable")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/identity/v3/", v3["links"][0]["href"])


@pytest.mark.parametrize("path", ["/identity/v3", "/identity/v3/"])
def test_the_v3_document(make_app: AppMaker, path: str) -> None:
    reply = call(make_app(), "GET", path)
    assert reply.status == 200
    version = reply.json()["version"]
    assert version["updated"] == "2020-04-07T00:00:00Z"
    assert version["links"][0]["rel"] == "self"
    assert version["media-types"] == [{"base": "application/json",
                                       "type": "application/vnd.openstack.identity-v3+json"}]


# ------------------------------------------------------------ login


def test_a_login_answers_201_with_the_token_in_a_header(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    reply = call(make_app(), "POST", TOKENS, json=login(scope=by_name("acme")))
    assert reply.status == 201
    info = issuer.verify(reply.headers["X-Subject-Token"])
    token = reply.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"] == {"id": alice.id, "name": "alice", "domain": DEFAULT,
                             "password_expires_at": None}
    assert token["project"] == {"id": "acme", "name": "acme", "domain": DEFAULT}
    assert token["roles"] == [{"id": "member", "name": "member"},
                              {"id": "reader", "name": "reader"}]
    assert re.fullmatch(KEYSTONE_TIME, token["issued_at"])
    assert token["expires_at"] == "2026-09-21T15:13:20.000000Z"
    assert token["audit_ids"] == [info.audit_id]
    assert token["is_domain"] is False
    assert token["catalog"][0]["endpoints"][0]["url"] == COMPUTE_URL
    assert ALICE["password"] not in reply.text


def test_an_admin_holds_manager_member_and_reader_too(make_app: AppMaker) -> None:
    reply = call(make_app(), "POST", TOKENS, json=login("root", "root-secret"))
    assert [r["name"] for r in reply.json()["token"]["roles"]] == [
        "admin", "manager", "member", "reader"]


@pytest.mark.parametrize("scope", [
    by_name("acme"), by_name("acme", {"id": "default"}), {"project": {"id": "acme"}},
    None, "unscoped",
], ids=["name", "name-domain-id", "id", "no-scope", "unscoped"])
def test_the_scope_is_the_users_project(make_app: AppMaker, scope: Any) -> None:
    reply = call(make_app(), "POST", TOKENS, json=login(scope=scope))
    assert reply.status == 201
    assert reply.json()["token"]["project"]["id"] == "acme"


def test_a_user_may_be_named_by_id(make_app: AppMaker, alice: User) -> None:
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": alice.id, "password": ALICE["password"]}}}}}
    reply = call(make_app(), "POST", TOKENS, json=body)
    assert reply.status == 201
    assert reply.json()["token"]["user"]["name"] == "alice"


@pytest.mark.parametrize("body", [
    login(password="wrong"),
    login(name="nobody"),
    {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": "no-such-id", "password": ALICE["password"]}}}}},
], ids=["wrong-password", "unknown-user", "unknown-id"])
def test_wrong_credentials_are_401(make_app: AppMaker, body: Any) -> None:
    reply = call(make_app(), "POST", TOKENS, json=body)
    assert_keystone_error(reply, 401, "Unauthorized",
                          "The request you have made requires authentication.")
    assert "X-Subject-Token" not in reply.headers


def test_a_refused_user_name_is_logged_quoted_not_as_lines_of_its_own(
        make_app: AppMaker, caplog: pytest.LogCaptureFixture) -> None:
    forged = "nobody\n2026-12-04 INFO identity: login of admin succeeded"
    with caplog.at_level(logging.INFO, logger="api.identity.routes"):
        reply = call(make_app(), "POST", TOKENS, json=login(name=forged))
    assert reply.status == 401
    [line] = [r.getMessage() for r in caplog.records if "login refused" in r.getMessage()]
    assert "\n" not in line and repr(forged) in line


@pytest.mark.parametrize("body", [
    login(user_domain={"name": "Other"}),
    login(user_domain={"id": "other"}),
    login(scope=by_name("acme", {"name": "Other"})),
], ids=["user-domain-name", "user-domain-id", "project-domain"])
def test_another_domain_is_401(make_app: AppMaker, body: Any) -> None:
    assert_keystone_error(call(make_app(), "POST", TOKENS, json=body), 401, "Unauthorized",
                          "Could not find domain")


@pytest.mark.parametrize("scope", [by_name("ops"), {"project": {"id": "ops"}}],
                         ids=["by-name", "by-id"])
def test_another_project_is_401(make_app: AppMaker, scope: Any) -> None:
    reply = call(make_app(), "POST", TOKENS, json=login(scope=scope))
    assert_keystone_error(reply, 401, "Unauthorized", "User alice has no access to project ops")


def drop(path: str) -> dict[str, Any]:
    """A good login without the member at `path` (dotted)."""
    body = login()
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    del node[last]
    return body


def retype(path: str, value: Any) -> dict[str, Any]:
    body = drop(path)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    node[last] = value
    return body


@pytest.mark.parametrize(("body", "says"), [
    ([], "a JSON object"),
    ({}, "auth"),
    (drop("auth.identity"), "identity in auth"),
    (drop("auth.identity.methods"), "methods in identity"),
    (retype("auth.identity.methods", ["token"]), "Only the password"),
    (retype("auth.identity.methods", "password"), "methods in identity, as a list"),
    (drop("auth.identity.password"), "password in identity"),
    (drop("auth.identity.password.user.password"), "password in user"),
    (retype("auth.identity.password.user.password", 1234), "password in user, as a string"),
    (drop("auth.identity.password.user.name"), "name in user"),
    (retype("auth.identity.password.user.name", ["alice"]), "name in user"),
    (retype("auth.identity.password.user.domain", "Default"), "domain"),
    (retype("auth.identity.password.user.domain", {}), "domain"),
    (login(scope={"domain": {"id": "default"}}), "Only a project scope"),
    (login(scope={"project": {}}), "name in project"),
], ids=["array", "empty", "no-identity", "no-methods", "token-method", "methods-string",
        "no-password-section", "no-password", "password-number", "no-name", "name-list",
        "domain-string", "domain-empty", "domain-scope",
        "empty-project"])
def test_a_malformed_login_is_400(make_app: AppMaker, body: Any, says: str) -> None:
    reply = call(make_app(), "POST", TOKENS, json=body)
    assert_keystone_error(reply, 400, "Bad Request", says)
    assert ALICE["password"] not in reply.text


@pytest.mark.parametrize(("data", "says"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'{"auth": "' + b"x" * MAX_BODY + b'"}', "larger than 65536 bytes"),
], ids=["broken", "not-utf8", "empty", "huge"])
def test_an_unreadable_body_is_400(make_app: AppMaker, data: bytes, says: str) -> None:
    reply = call(make_app(), "POST", TOKENS, data=data,
                 headers={"Content-Type": "application/json"})
    assert_keystone_error(reply, 400, "Bad Request", says)


def test_a_huge_body_without_a_length_is_refused_before_it_is_parsed(
        make_app: AppMaker) -> None:
    async def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024  # chunked: no Content-Length to refuse early

    reply = call(make_app(), "POST", TOKENS, data=chunks())
    assert reply.status == 413  # aiohttp's limit, the app's max_body


def test_a_body_in_several_pieces_is_read_whole(make_app: AppMaker) -> None:
    whole = json.dumps(login()).encode()

    async def pieces() -> Any:
        yield whole[:10]
        yield whole[10:]

    reply = call(make_app(), "POST", TOKENS, data=pieces())
    assert reply.status == 201


def test_deeply_nested_json_is_400(make_app: AppMaker) -> None:
    reply = call(make_app(), "POST", TOKENS, data=b"[" * 60_000)
    assert_keystone_error(reply, 400, "Bad Request", "nested too deeply")


# ------------------------------------------------------------ validation


def validate(make_app: AppMaker, auth: str, subject: str, method: str = "GET",
             query: str = "") -> Reply:
    headers = {"X-Auth-Token": auth, "X-Subject-Token": subject}
    return call(make_app(), method, TOKENS + query, headers=headers)


def test_a_valid_subject_token_is_200_with_its_body(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, info = issuer.issue(alice)
    reply = validate(make_app, token, token)
    assert reply.status == 200
    assert reply.headers["X-Subject-Token"] == token
    body = reply.json()["token"]
    assert body["user"]["id"] == alice.id and body["audit_ids"] == [info.audit_id]
    assert body["catalog"][0]["type"] == "compute"


def test_nocatalog_leaves_the_catalog_out(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    assert "catalog" not in validate(make_app, token, token, query="?nocatalog").json()["token"]


def test_head_validates_without_a_body(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    reply = validate(make_app, token, token, method="HEAD")
    assert (reply.status, reply.text) == (200, "")
    assert reply.headers["X-Subject-Token"] == token


def test_an_admin_validates_anyones_token_a_member_only_their_own(
        make_app: AppMaker, issuer: TokenIssuer, alice: User, root: User,
        users: Any) -> None:
    alices, _ = issuer.issue(alice)
    roots, _ = issuer.issue(root)
    bobs, _ = issuer.issue(next(u for u in users.users() if u.name == "bob"))
    assert validate(make_app, roots, alices).status == 200
    assert_keystone_error(validate(make_app, bobs, alices), 403, "Forbidden",
                          "identity:validate_token")


@pytest.mark.parametrize("subject", ["garbage", "expired"])
def test_an_invalid_subject_token_is_404(
        make_app: AppMaker, issuer: TokenIssuer, clock: FakeClock, root: User,
        alice: User, subject: str) -> None:
    old, _ = issuer.issue(alice)
    clock.advance(1800)
    caller, _ = issuer.issue(root)
    clock.advance(1800)  # old has expired, caller has not
    reply = validate(make_app, caller, "garbage" if subject == "garbage" else old)
    assert_keystone_error(reply, 404, "Not Found", "Could not find token: The token ")


@pytest.mark.parametrize("auth", ["", "garbage"], ids=["missing", "invalid"])
def test_a_bad_caller_token_is_401(
        make_app: AppMaker, issuer: TokenIssuer, alice: User, auth: str) -> None:
    token, _ = issuer.issue(alice)
    assert_keystone_error(validate(make_app, auth, token), 401, "Unauthorized",
                          "The request you have made requires authentication."
                          if not auth else "The token is not valid")


def test_no_subject_token_is_400(make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    assert_keystone_error(validate(make_app, token, ""), 400, "Bad Request", "X-Subject-Token")


# ------------------------------------------------------------ for the app


def test_authenticate_request_reads_x_auth_token(issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)

    async def whoami(request: web.Request) -> web.StreamResponse:
        return web.json_response({"user": (await authenticate_request(request, issuer)).user_name})

    app = web.Application()
    app.router.add_get("/whoami", whoami)
    assert call(app, "GET", "/whoami", headers={"X-Auth-Token": token}).json() == {
        "user": "alice"}


def test_a_server_error_says_nothing_of_the_server(tmp_path: Any) -> None:
    reply = error_response(KeysMissing(tmp_path / "secret-place", "it does not exist"))
    assert reply.status == 500
    assert reply.text is not None and "secret-place" not in reply.text
    assert '"title": "Internal Server Error"' in reply.text


def test_missing_keys_at_login_are_a_500(make_app: AppMaker, issuer: TokenIssuer) -> None:
    for path in issuer.keys.directory.iterdir():
        path.unlink()
    reply = call(make_app(), "POST", TOKENS, json=login())
    assert_keystone_error(reply, 500, "Internal Server Error", "unexpected error")
