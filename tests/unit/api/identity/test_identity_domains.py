"""Tests for api.identity.domains: the one domain over real HTTP, in-process,
and Keystone's list filters as a table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web

from api.identity.domains import domain_body, matches
from api.identity.tokens import TokenIssuer
from api.identity.users import User
from tests.unit.api.identity.helpers import Reply, call

DOMAINS = "/identity/v3/domains"
AppMaker = Callable[[], web.Application]


def get(make_app: AppMaker, path: str, token: str, **params: str) -> Reply:
    headers = {"X-Auth-Token": token} if token else {}
    return call(make_app(), "GET", path, headers=headers, params=params)


def assert_keystone_error(reply: Reply, code: int, title: str, says: str) -> None:
    error = reply.json()["error"]
    assert (reply.status, error["code"], error["title"]) == (code, code, title)
    assert says in error["message"]


# ------------------------------------------------------------ show


@pytest.mark.parametrize("who", ["alice", "root"])
def test_anyone_with_a_token_sees_the_default_domain(
        make_app: AppMaker, issuer: TokenIssuer, alice: User, root: User, who: str) -> None:
    token, _ = issuer.issue({"alice": alice, "root": root}[who])
    reply = get(make_app, f"{DOMAINS}/default", token)
    assert reply.status == 200
    domain = reply.json()["domain"]
    assert {k: domain[k] for k in ("id", "name", "enabled", "tags", "options")} == {
        "id": "default", "name": "Default", "enabled": True, "tags": [], "options": {}}
    assert domain["links"]["self"].endswith(f"{DOMAINS}/default")


@pytest.mark.parametrize("ident", ["Default", "other", "x" * 300])
def test_another_domain_is_404(
        make_app: AppMaker, issuer: TokenIssuer, root: User, ident: str) -> None:
    token, _ = issuer.issue(root)
    reply = get(make_app, f"{DOMAINS}/{ident}", token)
    assert_keystone_error(reply, 404, "Not Found", f"Could not find domain: {ident[:64]}.")


@pytest.mark.parametrize("path", [DOMAINS, f"{DOMAINS}/default"], ids=["list", "show"])
@pytest.mark.parametrize("token", ["", "garbage"], ids=["no-token", "garbage"])
def test_domains_need_a_valid_token(make_app: AppMaker, path: str, token: str) -> None:
    assert_keystone_error(get(make_app, path, token), 401, "Unauthorized", "")


# ------------------------------------------------------------ list


def test_an_admin_lists_the_one_domain(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    token, _ = issuer.issue(root)
    reply = get(make_app, DOMAINS, token)
    assert reply.status == 200
    body = reply.json()
    assert [d["id"] for d in body["domains"]] == ["default"]
    assert body["links"]["self"].endswith(DOMAINS)
    assert (body["links"]["previous"], body["links"]["next"]) == (None, None)


def test_the_self_link_keeps_the_filters(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    token, _ = issuer.issue(root)
    reply = get(make_app, DOMAINS, token, name="Default")
    assert reply.json()["links"]["self"].endswith(f"{DOMAINS}?name=Default")
    assert len(reply.json()["domains"]) == 1


def test_a_member_may_not_list_domains(
        make_app: AppMaker, issuer: TokenIssuer, alice: User) -> None:
    token, _ = issuer.issue(alice)
    assert_keystone_error(get(make_app, DOMAINS, token), 403, "Forbidden",
                          "identity:list_domains")


@pytest.mark.parametrize(("query", "listed"), [
    ({}, True),
    ({"name": "Default"}, True),
    ({"name": "default"}, False),  # exact, as the id is not the name
    ({"name": "Other"}, False),
    ({"name__contains": "fau"}, True),
    ({"name__contains": "FAU"}, False),
    ({"name__icontains": "FAU"}, True),
    ({"name__startswith": "Def"}, True),
    ({"name__istartswith": "def"}, True),
    ({"name__endswith": "ult"}, True),
    ({"name__iendswith": "ULT"}, True),
    ({"name__endswith": "x"}, False),
    ({"enabled": "true"}, True),
    ({"enabled": "True"}, True),
    ({"enabled": ""}, True),
    ({"enabled": "anything"}, True),
    ({"enabled": "false"}, False),
    ({"enabled": "False"}, False),
    ({"enabled": "0"}, False),
    ({"enabled": "no"}, False),
    ({"enabled": "OFF"}, False),
    ({"name": "Default", "enabled": "false"}, False),
    ({"unknown": "x"}, True),
], ids=lambda v: repr(v) if isinstance(v, dict) else str(v))
def test_keystones_filters(query: dict[str, str], listed: bool) -> None:
    assert matches(domain_body("http://api"), query) is listed


def test_filters_apply_over_http(
        make_app: AppMaker, issuer: TokenIssuer, root: User) -> None:
    token, _ = issuer.issue(root)
    assert get(make_app, DOMAINS, token, enabled="False").json()["domains"] == []
    assert len(get(make_app, DOMAINS, token, enabled="True").json()["domains"]) == 1
