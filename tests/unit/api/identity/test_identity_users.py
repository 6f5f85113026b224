"""Tests for api.identity.users and api.identity.passwords: the users file and its
password hashes."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from api.identity.errors import (
    BadAuthRequest,
    Unauthorized,
    UnknownUser,
    UserExists,
    UsersUnreadable,
)
from api.identity.passwords import hash_password, verify_password
from api.identity.users import User, UserStore
from tests.unit.api.identity.helpers import ALICE


def test_an_added_user_authenticates_with_their_password(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    added = store.add("alice", "acme", "member", "s3cret")
    assert store.authenticate("alice", "s3cret") == added
    assert (added.name, added.project, added.role) == ("alice", "acme", "member")
    assert len(added.id) == 32 and int(added.id, 16) >= 0  # a uuid4 hex
    assert store.users() == [added]


@pytest.mark.parametrize(("name", "password"), [
    ("alice", "wrong"), ("alice", ""), ("nobody", ALICE["password"]), ("", ""),
], ids=["wrong-password", "empty-password", "unknown-user", "no-name"])
def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(
        users: UserStore, name: str, password: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        users.authenticate(name, password)
    assert caught.value.message == "The request you have made requires authentication."
    assert caught.value.status == 401


def test_an_unknown_user_costs_one_scrypt_run_as_a_known_one_does(
        users: UserStore, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: int) -> bytes:
        runs.append(kwargs["n"])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    for name in ("alice", "nobody"):
        with pytest.raises(Unauthorized):
            users.authenticate(name, "wrong")
    assert runs == [2**14, 2**14]


def test_a_taken_name_is_refused(users: UserStore) -> None:
    with pytest.raises(UserExists) as caught:
        users.add("alice", "other", "member", "pw")
    assert caught.value.status == 409


def test_a_removed_user_no_longer_authenticates(users: UserStore) -> None:
    users.remove("alice")
    assert [u.name for u in users.users()] == ["root", "bob"]
    with pytest.raises(Unauthorized):
        users.authenticate("alice", ALICE["password"])
    with pytest.raises(UnknownUser) as caught:
        users.remove("alice")
    assert caught.value.status == 404


@pytest.mark.parametrize(("name", "project", "role", "password", "says"), [
    ("", "acme", "member", "pw", "user name"),
    ("a b", "acme", "member", "pw", "user name"),
    ("x" * 65, "acme", "member", "pw", "user name"),
    ("carol", "", "member", "pw", "project name"),
    ("carol", "acme/x", "member", "pw", "project name"),
    ("carol", "acme", "root", "pw", "role"),
    ("carol", "acme", "member", "", "password"),
], ids=["empty-name", "space", "too-long", "empty-project", "slash", "role", "empty-password"])
def test_a_bad_new_user_is_refused_with_a_reason(
        tmp_path: Path, name: str, project: str, role: str, password: str, says: str) -> None:
    with pytest.raises(BadAuthRequest, match=says):
        UserStore(tmp_path / "users.json").add(name, project, role, password)
    assert not (tmp_path / "users.json").exists()


def test_names_may_use_letters_digits_and_some_punctuation(tmp_path: Path) -> None:
    user = UserStore(tmp_path / "u.json").add("a.b_c-d@e.F9", "x" * 64, "admin", "pw")
    assert user.name == "a.b_c-d@e.F9"


def test_a_second_store_sees_changes_without_a_restart(tmp_path: Path) -> None:
    api, operator = UserStore(tmp_path / "u.json"), UserStore(tmp_path / "u.json")
    assert api.users() == []
    carol = operator.add("carol", "acme", "member", "pw")
    assert api.authenticate("carol", "pw") == carol
    operator.remove("carol")
    assert api.users() == []


def test_the_file_never_holds_the_password(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    user = UserStore(path).add("carol", "acme", "member", "correct horse battery")
    text = path.read_text()
    assert "correct horse" not in text and user.password_hash in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(text)["users"][0]["name"] == "carol"
    assert "password_hash" not in repr(user)
    assert [p.name for p in tmp_path.iterdir()] == ["users.json"]  # no staging file left


def test_a_hash_is_salted_scrypt_with_its_parameters_written_out() -> None:
    stored = hash_password("pw")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert hash_password("pw") != stored  # a new salt each time
    assert verify_password("pw", stored) and not verify_password("pW", stored)


def test_the_parameters_are_read_back_from_the_hash() -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=2**12, r=4, p=2, dklen=32)
    b64 = base64.b64encode
    stored = f"scrypt$4096$4$2${b64(salt).decode()}${b64(digest).decode()}"
    assert verify_password("pw", stored)
    assert not verify_password("other", stored)


@pytest.mark.parametrize("stored", [
    "", "bcrypt$2b$...", "scrypt$16384$8$1$!!!$!!!", "scrypt$3$8$1$AAAA$AAAA", "scrypt$x$8$1$A$A",
], ids=["empty", "other-scheme", "bad-base64", "n-not-power-of-2", "n-not-a-number"])
def test_a_malformed_hash_matches_nothing(stored: str) -> None:
    assert not verify_password("pw", stored)


@pytest.mark.parametrize("content", [
    "not json", '{"people": []}', '{"users": [{"name": "x"}]}',
    '{"users": [{"id": "1", "name": "x", "project": "p", "role": "member",'
    ' "password_hash": "plain"}]}',
], ids=["not-json", "no-users-key", "missing-fields", "bad-hash"])
def test_a_broken_file_is_unreadable_not_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(UsersUnreadable, match="cannot read the users file"):
        UserStore(path).users()


def test_a_user_is_a_frozen_value() -> None:
    user = User("id", "n", "p", "member", "h")
    with pytest.raises(AttributeError):
        user.role = "admin"  # type: ignore[misc]
