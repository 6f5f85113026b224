"""Keystone's admin reads show the users of the identity backend in use, not the
users file: with a directory (here a fake one) GET /v3/users, ?name=, a user,
their projects, role assignments and grant checks answer from the directory,
the backend's calls run off the event loop (LoopBackend), and a listing the
backend cut short says `"truncated": true`. The users file beside it holds
alice, bob and root, whom no read may show."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from aiohttp import web

from api.identity.backends.base import Account, Accounts
from api.identity.backends.file import FileBackend
from api.identity.backends.loop import LoopBackend
from api.identity.errors import Unauthorized
from api.identity.routes import MAX_BODY, add_routes
from api.identity.tokens import TokenIssuer
from api.identity.users import AUTH_FAILED, Grant, Project, User, UserStore
from tests.unit.api.identity.helpers import Reply, call, catalog

USERS = "/identity/v3/users"
ASSIGNMENTS = "/identity/v3/role_assignments"
DORA = User("dora", "Dora", "ops", "admin", "")  # an id as the directory's id attribute has it
ED = User("ed", "Ed", "shop", "member", "", enabled=False)
FAY = User("fay", "Fay", "", "", "")  # in no mapped group
GRANTS = {"dora": (Grant("dora", "ops", "admin"), Grant("dora", "shop", "member")),
          "ed": (Grant("ed", "shop", "member"),)}
PROJECTS = (Project("ops", "ops"), Project("shop", "shop"))


class FakeDirectory:
    """dora (admin of ops, member of shop), ed (disabled, member of shop), fay
    (no group). Records which calls were made and on which thread."""

    name = "ldap"
    external = False  # tokens are not checked against it here: reads are tested
    writable = False
    cache_seconds = 5.0
    threads = 2

    def __init__(self, truncated: bool = False) -> None:
        self.truncated = truncated
        self.calls: list[tuple[str, str]] = []  # (method, thread name)
        self._accounts = {u.id: Account(u, GRANTS.get(u.id, ())) for u in (DORA, ED, FAY)}

    def _called(self, method: str) -> None:
        self.calls.append((method, threading.current_thread().name))

    def authenticate(self, name: str, password: str) -> User:
        raise Unauthorized(AUTH_FAILED)

    def account(self, user_id: str) -> Account:
        self._called("account")
        return self._accounts.get(user_id, Account(None))

    def remembered(self, user_id: str) -> Account | None:
        return None  # every lookup is a round trip

    def users(self) -> Accounts:
        self._called("users")
        return Accounts(tuple(self._accounts.values()), self.truncated)

    def user_by_name(self, name: str) -> Account:
        self._called("user_by_name")
        return next((a for a in self._accounts.values() if a.user and a.user.name == name),
                    Account(None))

    def projects(self) -> list[Project]:
        return list(PROJECTS)

    def project_by_id(self, project_id: str) -> Project | None:
        return next((p for p in PROJECTS if p.id == project_id), None)

    def project_by_name(self, name: str) -> Project | None:
        return self.project_by_id(name)


def get(users: UserStore, issuer: TokenIssuer, path: str, directory: FakeDirectory,
        method: str = "GET") -> Reply:
    """`path` asked by dora, an admin token of the directory's."""
    app = web.Application(client_max_size=MAX_BODY)
    add_routes(app, users, issuer, catalog, lambda r: "http://api.example",
               LoopBackend(directory))
    token, _ = issuer.issue(DORA)
    return call(app, method, path, headers={"X-Auth-Token": token})


def listed(reply: Reply, key: str) -> list[Any]:
    assert reply.status == 200, reply.text
    found: list[Any] = reply.json()[key]
    return found


def test_the_user_list_is_the_directorys_in_keystones_shape(
        users: UserStore, issuer: TokenIssuer) -> None:
    reply = get(users, issuer, USERS, FakeDirectory())
    found = listed(reply, "users")
    assert [u["id"] for u in found] == ["dora", "ed", "fay"]  # never alice, bob or root
    assert found[0] == {
        "id": "dora", "name": "Dora", "domain_id": "default", "enabled": True,
        "default_project_id": "ops", "password_expires_at": None, "options": {},
        "links": {"self": "http://api.example/identity/v3/users/dora"}}
    assert found[1]["enabled"] is False and "default_project_id" not in found[2]
    assert "truncated" not in reply.json()


def test_a_listing_the_backend_cut_short_says_truncated(
        users: UserStore, issuer: TokenIssuer) -> None:
    reply = get(users, issuer, USERS, FakeDirectory(truncated=True))
    assert reply.json()["truncated"] is True and len(reply.json()["users"]) == 3


@pytest.mark.parametrize(("query", "ids", "asked"), [
    ("?name=Ed", ["ed"], "user_by_name"),
    ("?name=alice", [], "user_by_name"),  # in the file only
    ("?enabled=false", ["ed"], "users"),
    ("?domain_id=other", [], None),
], ids=["by-name", "file-only-name", "enabled", "other-domain"])
def test_filters_ask_the_directory(users: UserStore, issuer: TokenIssuer, query: str,
                                   ids: list[str], asked: str | None) -> None:
    directory = FakeDirectory()
    found = listed(get(users, issuer, USERS + query, directory), "users")
    assert [u["id"] for u in found] == ids
    assert [method for method, _ in directory.calls] == ([asked] if asked else [])


def test_the_backends_calls_run_off_the_event_loop(users: UserStore,
                                                   issuer: TokenIssuer) -> None:
    directory = FakeDirectory()
    get(users, issuer, USERS, directory)
    get(users, issuer, USERS + "?name=Dora", directory)
    get(users, issuer, f"{USERS}/dora", directory)
    assert len(directory.calls) == 3
    assert all(thread.startswith("identity-ldap") for _, thread in directory.calls)


def test_a_user_and_their_projects_come_from_the_directory(
        users: UserStore, issuer: TokenIssuer, alice: User) -> None:
    directory = FakeDirectory()
    shown = get(users, issuer, f"{USERS}/ed", directory)
    assert shown.status == 200 and shown.json()["user"]["name"] == "Ed"
    assert get(users, issuer, f"{USERS}/{alice.id}", directory).status == 404
    projects = listed(get(users, issuer, f"{USERS}/dora/projects", directory), "projects")
    assert [p["id"] for p in projects] == ["ops", "shop"]
    assert listed(get(users, issuer, f"{USERS}/fay/projects", directory), "projects") == []
    assert get(users, issuer, f"{USERS}/{alice.id}/projects", directory).status == 404


def test_role_assignments_are_the_directorys_groups_mapped(
        users: UserStore, issuer: TokenIssuer) -> None:
    directory = FakeDirectory()
    found = listed(get(users, issuer, ASSIGNMENTS, directory), "role_assignments")
    assert {(a["user"]["id"], a["scope"]["project"]["id"], a["role"]["id"])
            for a in found} == {("dora", "ops", "admin"), ("dora", "shop", "member"),
                                ("ed", "shop", "member")}
    named = listed(get(users, issuer, f"{ASSIGNMENTS}?user.id=ed&include_names", directory),
                   "role_assignments")
    assert [(a["user"]["name"], a["scope"]["project"]["name"]) for a in named] == [
        ("Ed", "shop")]
    effective = listed(get(users, issuer, f"{ASSIGNMENTS}?user.id=ed&effective", directory),
                       "role_assignments")
    assert {a["role"]["id"] for a in effective} == {"member", "reader"}


@pytest.mark.parametrize(("path", "status"), [
    ("/identity/v3/projects/shop/users/ed/roles/member", 204),
    ("/identity/v3/projects/shop/users/ed/roles/admin", 404),
    ("/identity/v3/projects/ops/users/fay/roles/reader", 404),
    ("/identity/v3/projects/nowhere/users/ed/roles/member", 404),
    ("/identity/v3/projects/acme/users/alice/roles/member", 404),
], ids=["given", "not-given", "no-group", "no-project", "file-only"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_grant_check_asks_the_directory(users: UserStore, issuer: TokenIssuer,
                                          path: str, status: int, method: str) -> None:
    assert get(users, issuer, path, FakeDirectory(), method).status == status


def test_the_roles_given_on_a_project_are_the_directorys(
        users: UserStore, issuer: TokenIssuer) -> None:
    found = listed(get(users, issuer, "/identity/v3/projects/shop/users/dora/roles",
                       FakeDirectory()), "roles")
    assert [r["id"] for r in found] == ["member"]


def test_the_file_backend_lists_the_file_with_grants(users: UserStore, root: User) -> None:
    backend = FileBackend(users)
    listing = backend.users()
    assert [a.user.name for a in listing.found if a.user] == ["alice", "root", "bob"]
    assert not listing.truncated
    assert dict(zip([a.user.name for a in listing.found if a.user],
                    [a.grants for a in listing.found], strict=True))["root"] == (
        Grant(root.id, "ops", "admin"),)
    assert backend.user_by_name("root") == backend.account(root.id)
    assert backend.user_by_name("nobody") == Account(None)
