"""Tests for api.identity.user_routes: Keystone's users, over HTTP in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from api.identity.tokens import TokenIssuer
from api.identity.users import User, UserStore
from tests.unit.api.identity.helpers import ALICE, Reply, call

USERS = "/identity/v3/users"
TOKENS = "/identity/v3/auth/tokens"
AppMaker = Callable[[], web.Application]


def as_(issuer: TokenIssuer, user: User) -> dict[str, str]:
    return {"X-Auth-Token": issuer.issue(user)[0]}


def keystone_error(reply: Reply, code: int, says: str) -> None:
    assert reply.status == code, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and says in error["message"]


def create(app: web.Application, headers: dict[str, str], **user: Any) -> Reply:
    return call(app, "POST", USERS, json={"user": user}, headers=headers)


def test_an_admin_makes_a_user_as_keystone_writes_it(
        make_app: AppMaker, issuer: TokenIssuer, root: User,
        users: UserStore) -> None:
    reply = create(make_app(), as_(issuer, root), name="dave",
                   password="dave-secret", domain_id="default", default_project_id="acme",
                   email="dave@example.com")
    assert reply.status == 201
    body = reply.json()["user"]
    assert len(body["id"]) == 32
    assert {k: body[k] for k in ("name", "domain_id", "enabled", "default_project_id",
                                 "password_expires_at")} == {
        "name": "dave", "domain_id": "default", "enabled": True,
        "default_project_id": "acme", "password_expires_at": None}
    assert "dave-secret" not in reply.text and "password" not in body
    assert users.authenticate("dave", "dave-secret").id == body["id"]


@pytest.mark.parametrize(("user", "code", "says"), [
    ({"password": "pw"}, 400, "'name' is a required property"),
    ({"name": "dave"}, 400, "'password' is a required property"),
    ({"name": "dave", "password": ""}, 400, "a password must not be empty"),
    ({"name": "a b", "password": "pw"}, 400, "a user name must be"),
    ({"name": "dave", "password": "pw", "enabled": False}, 400, "disabled"),
    ({"name": "dave", "password": "pw", "domain_id": "x"}, 404, "Could not find domain: x."),
    ({"name": "dave", "password": "pw", "default_project_id": "x"}, 404,
     "Could not find project: x."),
    ({"name": "alice", "password": "pw"}, 409,
     "Duplicate entry found with name alice at domain ID default."),
], ids=["no-name", "no-password", "empty-password", "bad-name", "disabled", "other-domain",
        "unknown-project", "taken"])
def test_a_bad_user_is_refused(make_app: AppMaker, issuer: TokenIssuer,
                               root: User, user: dict[str, Any], code: int, says: str) -> None:
    keystone_error(create(make_app(), as_(issuer, root), **user), code, says)


def test_tempests_long_names_are_taken(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    name = "tempest-QuotasSecurityGroupAdminNegativeTest-1234567890-project"
    assert create(make_app(), as_(issuer, root), name=name,
                  password="pw").status == 201


def test_a_member_may_not_make_or_list_users_but_may_see_themselves(
        make_app: AppMaker, issuer: TokenIssuer, alice: User,
        root: User) -> None:
    headers = as_(issuer, alice)
    keystone_error(create(make_app(), headers, name="x", password="pw"), 403,
                   "identity:create_user")
    keystone_error(call(make_app(), "GET", USERS, headers=headers), 403,
                   "identity:list_users")
    keystone_error(call(make_app(), "GET", f"{USERS}/{root.id}", headers=headers), 403,
                   "identity:get_user")
    keystone_error(call(make_app(), "DELETE", f"{USERS}/{root.id}", headers=headers), 403,
                   "identity:delete_user")
    reply = call(make_app(), "GET", f"{USERS}/{alice.id}", headers=headers)
    assert reply.status == 200 and reply.json()["user"]["name"] == "alice"


@pytest.mark.parametrize(("query", "names"), [
    ("", ["alice", "root", "bob"]),
    ("?name=bob", ["bob"]),
    ("?name=nobody", []),
    ("?domain_id=other", []),
], ids=["all", "name", "nobody", "other-domain"])
def test_the_list_takes_name_and_domain(
        make_app: AppMaker, issuer: TokenIssuer, root: User, query: str,
        names: list[str]) -> None:
    reply = call(make_app(), "GET", USERS + query, headers=as_(issuer, root))
    assert [u["name"] for u in reply.json()["users"]] == names
    assert "scrypt" not in reply.text


def test_a_users_projects_are_those_they_have_a_role_on(
        make_app: AppMaker, issuer: TokenIssuer, alice: User,
        users: UserStore) -> None:
    lab = users.create_project("lab")
    users.grant(alice.id, lab.id, "reader")
    reply = call(make_app(), "GET", f"{USERS}/{alice.id}/projects",
                 headers=as_(issuer, alice))
    assert [p["name"] for p in reply.json()["projects"]] == ["acme", "lab"]


def test_a_deleted_user_is_404_and_their_tokens_stop_working(
        make_app: AppMaker, issuer: TokenIssuer, alice: User,
        root: User) -> None:
    alices = as_(issuer, alice)
    roots = as_(issuer, root)
    path = f"{USERS}/{alice.id}"
    assert call(make_app(), "DELETE", path, headers=roots).status == 204
    keystone_error(call(make_app(), "GET", path, headers=roots), 404,
                   f"Could not find user: {alice.id}.")
    keystone_error(call(make_app(), "DELETE", path, headers=roots), 404, "Could not find")
    keystone_error(call(make_app(), "GET", path, headers=alices), 401,
                   "The token has been revoked")
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "domain": {"id": "default"}, "password": ALICE["password"]}}}}}
    assert call(make_app(), "POST", TOKENS, json=login).status == 401
