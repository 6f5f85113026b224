"""Tests for api.identity.project_routes: Keystone's projects, over HTTP in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from api.identity.tokens import TokenIssuer
from api.identity.users import User, UserStore
from tests.unit.api.identity.helpers import Reply, call

PROJECTS = "/identity/v3/projects"
AppMaker = Callable[[], web.Application]


def as_(issuer: TokenIssuer, user: User) -> dict[str, str]:
    return {"X-Auth-Token": issuer.issue(user)[0]}


def keystone_error(reply: Reply, code: int, says: str) -> None:
    assert reply.status == code, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and says in error["message"]


def create(app: web.Application, headers: dict[str, str], **project: Any) -> Reply:
    return call(app, "POST", PROJECTS, json={"project": project}, headers=headers)


def test_an_admin_makes_a_project_as_keystone_writes_it(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    reply = create(make_app(), as_(issuer, root), name="lab",
                   description="the lab", domain_id="default")
    assert reply.status == 201
    body = reply.json()["project"]
    assert len(body["id"]) == 32
    assert {k: body[k] for k in ("name", "description", "domain_id", "enabled", "parent_id",
                                 "is_domain")} == {
        "name": "lab", "description": "the lab", "domain_id": "default", "enabled": True,
        "parent_id": "default", "is_domain": False}
    assert body["links"]["self"].endswith(f"{PROJECTS}/{body['id']}")


def test_a_taken_name_is_409(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    keystone_error(create(make_app(), as_(issuer, root), name="acme"), 409,
                   "not permitted to have two projects with the same name")


@pytest.mark.parametrize(("project", "code", "says"), [
    ({}, 400, "'name' is a required property"),
    ({"name": 7}, 400, "'name' is not of type 'string'"),
    ({"name": "a/b"}, 400, "a project name must be"),
    ({"name": "lab", "enabled": "yes"}, 400, "'enabled'"),
    ({"name": "lab", "domain_id": "other"}, 404, "Could not find domain: other."),
], ids=["no-name", "name-not-string", "bad-name", "enabled-not-bool", "other-domain"])
def test_a_bad_project_is_refused(make_app: AppMaker, issuer: TokenIssuer,
                                  root: User, project: dict[str, Any], code: int,
                                  says: str) -> None:
    keystone_error(create(make_app(), as_(issuer, root), **project), code, says)


def test_a_member_may_not_make_list_or_delete_projects(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    headers = as_(issuer, alice)
    keystone_error(create(make_app(), headers, name="lab"), 403, "identity:create_project")
    keystone_error(call(make_app(), "GET", PROJECTS, headers=headers), 403,
                   "identity:list_projects")
    keystone_error(call(make_app(), "DELETE", f"{PROJECTS}/acme", headers=headers), 403,
                   "identity:delete_project")
    keystone_error(call(make_app(), "GET", f"{PROJECTS}/ops", headers=headers), 403,
                   "identity:get_project")


def test_a_member_may_see_their_own_project(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    reply = call(make_app(), "GET", f"{PROJECTS}/acme", headers=as_(issuer, alice))
    assert reply.status == 200 and reply.json()["project"]["name"] == "acme"


def test_no_token_is_401(make_app: AppMaker) -> None:
    keystone_error(call(make_app(), "GET", PROJECTS), 401, "requires authentication")


@pytest.mark.parametrize(("query", "names"), [
    ("", ["acme", "ops", "lab"]),
    ("?name=lab", ["lab"]),
    ("?name=nothing", []),
    ("?domain_id=default", ["acme", "ops", "lab"]),
    ("?domain_id=other", []),
    ("?name__startswith=a", ["acme"]),
], ids=["all", "name", "no-such-name", "default-domain", "other-domain", "startswith"])
def test_the_list_takes_keystones_filters(
        make_app: AppMaker, issuer: TokenIssuer, root: User, users: UserStore,
        query: str, names: list[str]) -> None:
    users.create_project("lab")
    reply = call(make_app(), "GET", PROJECTS + query, headers=as_(issuer, root))
    assert reply.status == 200
    assert [p["name"] for p in reply.json()["projects"]] == names
    assert reply.json()["links"]["next"] is None


def test_show_and_delete_a_project_then_404(
        make_app: AppMaker, issuer: TokenIssuer, root: User,
        users: UserStore) -> None:
    lab = users.create_project("lab")
    headers = as_(issuer, root)
    reply = call(make_app(), "GET", f"{PROJECTS}/{lab.id}", headers=headers)
    assert reply.json()["project"]["id"] == lab.id
    assert call(make_app(), "DELETE", f"{PROJECTS}/{lab.id}", headers=headers).status == 204
    for method in ("GET", "DELETE"):
        keystone_error(call(make_app(), method, f"{PROJECTS}/{lab.id}", headers=headers),
                       404, f"Could not find project: {lab.id}.")


def test_a_deleted_projects_tokens_stop_working(
        make_app: AppMaker, issuer: TokenIssuer, root: User, alice: User) -> None:
    alices = as_(issuer, alice)
    assert call(make_app(), "GET", f"{PROJECTS}/acme", headers=alices).status == 200
    reply = call(make_app(), "DELETE", f"{PROJECTS}/acme", headers=as_(issuer, root))
    assert reply.status == 204
    keystone_error(call(make_app(), "GET", f"{PROJECTS}/acme", headers=alices), 401,
                   "The token has been revoked")
