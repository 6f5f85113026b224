"""Tests for api.identity.assignment_routes and logins scoped by role assignments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from api.identity.tokens import TokenIssuer
from api.identity.users import Project, User, UserStore
from tests.unit.api.identity.helpers import Reply, call

ROLES = "/identity/v3/roles"
TOKENS = "/identity/v3/auth/tokens"
AppMaker = Callable[[], web.Application]


def as_(issuer: TokenIssuer, user: User) -> dict[str, str]:
    return {"X-Auth-Token": issuer.issue(user)[0]}


def keystone_error(reply: Reply, code: int, says: str) -> None:
    assert reply.status == code, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and says in error["message"]


def grant_path(project: str, user: str, role: str = "") -> str:
    return f"/identity/v3/projects/{project}/users/{user}/roles" + (f"/{role}" if role else "")


def login(name: str, password: str, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


@pytest.fixture
def lab(users: UserStore) -> Project:
    return users.create_project("lab")


@pytest.fixture
def dave(users: UserStore) -> User:
    return users.create_user("dave", "dave-secret")


def test_the_roles_are_keystones_four(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    reply = call(make_app(), "GET", ROLES, headers=as_(issuer, root))
    assert [(r["id"], r["name"]) for r in reply.json()["roles"]] == [
        ("admin", "admin"), ("manager", "manager"), ("member", "member"), ("reader", "reader")]
    reply = call(make_app(), "GET", f"{ROLES}?name=member",
                 headers=as_(issuer, root))
    assert [r["name"] for r in reply.json()["roles"]] == ["member"]
    reply = call(make_app(), "GET", f"{ROLES}/manager", headers=as_(issuer, root))
    assert reply.json()["role"]["domain_id"] is None
    keystone_error(call(make_app(), "GET", f"{ROLES}/root",
                        headers=as_(issuer, root)), 404, "Could not find role: root.")


def test_a_member_may_not_touch_roles(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    headers = as_(issuer, alice)
    keystone_error(call(make_app(), "GET", ROLES, headers=headers), 403,
                   "identity:list_roles")
    keystone_error(call(make_app(), "PUT", grant_path("acme", alice.id, "admin"),
                        headers=headers), 403, "identity:create_grant")
    keystone_error(call(make_app(), "GET", "/identity/v3/role_assignments",
                        headers=headers), 403, "identity:list_role_assignments")


def test_give_check_list_and_take_a_role(
        make_app: AppMaker, issuer: TokenIssuer, root: User, lab: Project,
        dave: User) -> None:
    headers = as_(issuer, root)
    one = grant_path(lab.id, dave.id, "member")
    keystone_error(call(make_app(), "GET", one, headers=headers), 404,
                   f"Could not find role assignment with role: member, user or group: {dave.id}")
    for _ in range(2):  # idempotent, as Keystone's
        assert call(make_app(), "PUT", one, headers=headers).status == 204
    assert call(make_app(), "GET", one, headers=headers).status == 204
    assert call(make_app(), "HEAD", one, headers=headers).status == 204
    reply = call(make_app(), "GET", grant_path(lab.id, dave.id), headers=headers)
    assert [r["name"] for r in reply.json()["roles"]] == ["member"]
    assert call(make_app(), "DELETE", one, headers=headers).status == 204
    keystone_error(call(make_app(), "DELETE", one, headers=headers), 404,
                   "Could not find role assignment")


@pytest.mark.parametrize(("which", "says"), [
    ("project", "Could not find project: nowhere."),
    ("user", "Could not find user: nobody."),
    ("role", "Could not find role: root."),
], ids=["project", "user", "role"])
def test_a_grant_of_something_unknown_is_404(
        make_app: AppMaker, issuer: TokenIssuer, root: User, lab: Project,
        dave: User, which: str, says: str) -> None:
    parts = {"project": lab.id, "user": dave.id, "role": "member"}
    parts[which] = {"project": "nowhere", "user": "nobody", "role": "root"}[which]
    path = grant_path(parts["project"], parts["user"], parts["role"])
    keystone_error(call(make_app(), "PUT", path, headers=as_(issuer, root)), 404,
                   says)


def test_role_assignments_filter_name_and_expand(
        make_app: AppMaker, issuer: TokenIssuer, root: User, lab: Project,
        dave: User, users: UserStore) -> None:
    users.grant(dave.id, lab.id, "manager")
    headers = as_(issuer, root)
    path = f"/identity/v3/role_assignments?user.id={dave.id}&scope.project.id={lab.id}"
    [found] = call(make_app(), "GET", path, headers=headers).json()["role_assignments"]
    assert found["role"] == {"id": "manager"} and found["scope"] == {"project": {"id": lab.id}}
    assert found["links"]["assignment"].endswith(grant_path(lab.id, dave.id, "manager"))
    reply = call(make_app(), "GET", path + "&effective&include_names=true",
                 headers=headers)
    found = reply.json()["role_assignments"]
    assert [a["role"]["name"] for a in found] == ["manager", "member", "reader"]
    assert found[0]["user"]["name"] == "dave"
    assert found[0]["scope"]["project"]["name"] == "lab"
    reply = call(make_app(), "GET", "/identity/v3/role_assignments?role.id=admin",
                 headers=headers)
    assert [a["user"]["id"] for a in reply.json()["role_assignments"]] == [root.id]


# ------------------------------------------------------------ logging in by assignment


@pytest.mark.parametrize("scope", [
    {"project": {"name": "lab", "domain": {"id": "default"}}},
    "by-id",
], ids=["by-name", "by-id"])
def test_a_user_with_a_role_logs_in_to_that_project(
        make_app: AppMaker, lab: Project, dave: User, users: UserStore,
        scope: Any) -> None:
    users.grant(dave.id, lab.id, "manager")
    asked = {"project": {"id": lab.id}} if scope == "by-id" else scope
    reply = call(make_app(), "POST", TOKENS, json=login("dave", "dave-secret", asked))
    assert reply.status == 201, reply.text
    token = reply.json()["token"]
    assert token["project"] == {"id": lab.id, "name": "lab",
                                "domain": {"id": "default", "name": "Default"}}
    assert [r["name"] for r in token["roles"]] == ["manager", "member", "reader"]


def test_a_user_without_a_role_there_is_401(
        make_app: AppMaker, lab: Project, dave: User, users: UserStore) -> None:
    scope = {"project": {"id": "acme"}}
    keystone_error(call(make_app(), "POST", TOKENS, json=login("dave", "dave-secret",
                                                                     scope)),
                   401, "User dave has no access to project acme")
    keystone_error(call(make_app(), "POST", TOKENS, json=login("dave", "dave-secret")),
                   401, "User dave has no access to project (none)")
    users.grant(dave.id, lab.id, "reader")
    reply = call(make_app(), "POST", TOKENS, json=login("dave", "dave-secret"))
    assert reply.json()["token"]["project"]["id"] == lab.id  # unscoped: the one they have


def test_one_user_may_log_in_to_each_of_their_projects(
        make_app: AppMaker, alice: User, lab: Project, users: UserStore,
        issuer: TokenIssuer) -> None:
    users.grant(alice.id, lab.id, "admin")
    scope = {"project": {"name": "lab", "domain": {"name": "Default"}}}
    reply = call(make_app(), "POST", TOKENS, json=login("alice", "alice-secret", scope))
    assert issuer.verify(reply.headers["X-Subject-Token"]).admin
    reply = call(make_app(), "POST", TOKENS, json=login("alice", "alice-secret"))
    assert reply.json()["token"]["project"]["id"] == "acme"  # unscoped: the default


def test_taking_the_role_ends_the_tokens_that_carry_it(
        make_app: AppMaker, issuer: TokenIssuer, root: User, lab: Project,
        dave: User, users: UserStore) -> None:
    users.grant(dave.id, lab.id, "manager")
    users.grant(dave.id, lab.id, "member")
    token, _ = issuer.issue(users.user_by_id(dave.id), lab.id, "manager")  # type: ignore[arg-type]
    assert issuer.verify(token).role == "manager"
    users.grant(dave.id, lab.id, "admin")
    assert issuer.verify(token).role == "manager"  # a role given takes nothing away
    path = grant_path(lab.id, dave.id, "admin")
    assert call(make_app(), "DELETE", path, headers=as_(issuer, root)).status == 204
    path = grant_path(lab.id, dave.id, "manager")
    assert call(make_app(), "DELETE", path, headers=as_(issuer, root)).status == 204
    reply = call(make_app(), "GET", f"{TOKENS}", headers={
        "X-Auth-Token": token, "X-Subject-Token": token})
    keystone_error(reply, 401, "The token has been revoked")
