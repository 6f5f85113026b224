"""Tests for api.identity.users: projects and role grants in the users file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from api.identity.errors import (
    BadAuthRequest,
    ProjectExists,
    UnknownProject,
    UnknownUser,
    UserExists,
)
from api.identity.passwords import hash_password
from api.identity.users import ROLES, Grant, Project, UserStore, implied


@pytest.mark.parametrize(("role", "carries"), [
    ("admin", ("admin", "manager", "member", "reader")),
    ("manager", ("manager", "member", "reader")),
    ("member", ("member", "reader")),
    ("reader", ("reader",)),
], ids=ROLES)
def test_each_role_implies_the_ones_below_it(role: str, carries: tuple[str, ...]) -> None:
    assert implied(role) == carries


def test_the_cli_makes_a_project_whose_id_is_its_name(users: UserStore) -> None:
    assert [(p.id, p.name) for p in users.projects()] == [("acme", "acme"), ("ops", "ops")]
    alice = next(u for u in users.users() if u.name == "alice")
    assert users.grants()[0] == Grant(alice.id, "acme", "member")
    assert users.role_on(alice.id, "acme") == "member"
    assert users.role_on(alice.id, "ops") == ""


def test_an_api_project_has_a_uuid_and_a_unique_name(users: UserStore) -> None:
    made = users.create_project("lab", "the lab")
    assert len(made.id) == 32 and made.id != "lab"
    assert users.project_by_id(made.id) == made == users.project_by_name("lab")
    with pytest.raises(ProjectExists) as caught:
        users.create_project("lab")
    assert caught.value.status == 409
    assert "same name in the same domain : lab" in caught.value.message


def test_the_cli_adds_to_an_api_project_by_name(users: UserStore) -> None:
    lab = users.create_project("lab")
    carol = users.add("carol", "lab", "manager", "pw")
    assert (carol.project, carol.role) == (lab.id, "manager")
    assert users.roles_on(carol.id, lab.id) == ["manager"]


def test_an_api_user_has_no_role_until_granted(users: UserStore) -> None:
    lab = users.create_project("lab")
    dave = users.create_user("dave", "pw", lab.id)
    assert (dave.project, dave.role) == (lab.id, "")
    users.grant(dave.id, lab.id, "member")
    users.grant(dave.id, lab.id, "member")  # idempotent
    users.grant(dave.id, lab.id, "reader")
    assert users.roles_on(dave.id, lab.id) == ["member", "reader"]
    assert users.role_on(dave.id, lab.id) == "member"
    assert users.user_by_id(dave.id).role == "member"  # type: ignore[union-attr]
    assert users.revoke_grant(dave.id, lab.id, "member")
    assert not users.revoke_grant(dave.id, lab.id, "member")
    assert users.role_on(dave.id, lab.id) == "reader"


@pytest.mark.parametrize(("user", "project", "role", "error"), [
    ("nobody", "acme", "member", UnknownUser),
    ("alice", "nowhere", "member", UnknownProject),
    ("alice", "acme", "root", BadAuthRequest),
], ids=["unknown-user", "unknown-project", "unknown-role"])
def test_a_grant_needs_a_user_a_project_and_a_role(
        users: UserStore, user: str, project: str, role: str,
        error: type[Exception]) -> None:
    ids = {u.name: u.id for u in users.users()}
    with pytest.raises(error):
        users.grant(ids.get(user, user), project, role)


def test_deleting_a_project_takes_its_grants(users: UserStore) -> None:
    users.delete_project("acme")
    assert [p.id for p in users.projects()] == ["ops"]
    alice = next(u for u in users.users() if u.name == "alice")
    assert (alice.project, alice.role) == ("", "")
    assert all(g.project_id != "acme" for g in users.grants())
    with pytest.raises(UnknownProject, match=r"Could not find project: acme\."):
        users.delete_project("acme")


def test_deleting_a_user_takes_their_grants(users: UserStore) -> None:
    alice = next(u for u in users.users() if u.name == "alice")
    users.delete_user(alice.id)
    assert all(g.user_id != alice.id for g in users.grants())
    with pytest.raises(UnknownUser, match=rf"Could not find user: {alice.id}\."):
        users.delete_user(alice.id)


def test_an_api_user_name_is_unique_and_checked(users: UserStore) -> None:
    with pytest.raises(UserExists, match="Duplicate entry found with name alice"):
        users.create_user("alice", "pw")
    with pytest.raises(BadAuthRequest, match="a user name"):
        users.create_user("a b", "pw")
    with pytest.raises(UnknownProject):
        users.create_user("erin", "pw", "nowhere")


def test_a_file_of_the_previous_release_reads_as_grants(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    rows = [{"id": "u1", "name": "alice", "project": "acme", "role": "admin",
             "password_hash": hash_password("pw")}]
    path.write_text(json.dumps({"users": rows}))
    store = UserStore(path)
    assert store.projects() == [Project("acme", "acme")]
    assert store.grants() == [Grant("u1", "acme", "admin")]
    store.create_project("lab")
    written = json.loads(path.read_text())
    assert written["users"] == rows  # still what that release reads
    assert written["grants"] == [{"user_id": "u1", "project_id": "acme", "role": "admin"}]


def test_writers_in_several_threads_and_stores_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    stores = [UserStore(path) for _ in range(4)]

    def make(n: int) -> None:
        for i in range(5):
            stores[n].create_project(f"p{n}-{i}")
    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(UserStore(path).projects()) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["users.json"]


def test_the_cli_adds_to_an_api_project_by_id_too(users: UserStore) -> None:
    lab = users.create_project("lab")
    carol = users.add("carol", lab.id, "member", "pw")
    assert carol.project == lab.id and len(users.projects()) == 3
