"""Tests for api.identity.keys: the Fernet key repository and its rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from api.identity.errors import KeysMissing, Unauthorized
from api.identity.keys import KeyRepository
from api.identity.tokens import VERIFIED_FOR, TokenIssuer
from api.identity.users import User
from tests.unit.api.identity.helpers import FakeClock


def key_file(repo: KeyRepository, number: int) -> Fernet:
    return Fernet((repo.directory / str(number)).read_bytes())


def encrypts_with(repo: KeyRepository, number: int) -> bool:
    """Whether `repo` encrypts new tokens with key file `number`."""
    try:
        key_file(repo, number).decrypt(repo.fernet().encrypt(b"x"))
    except InvalidToken:
        return False
    return True


def test_init_makes_a_staged_and_a_primary_key_privately(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "keys")
    assert repo.init() is True
    assert repo.keys() == [0, 1]
    assert stat.S_IMODE(repo.directory.stat().st_mode) == 0o700
    for number in (0, 1):
        path = repo.directory / str(number)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        Fernet(path.read_bytes())  # a valid key
    assert encrypts_with(repo, 1)


def test_init_is_idempotent(keys: KeyRepository) -> None:
    before = {p.name: p.read_bytes() for p in keys.directory.iterdir()}
    assert keys.init() is False
    assert {p.name: p.read_bytes() for p in keys.directory.iterdir()} == before


def test_rotation_promotes_the_staged_key_and_keeps_at_most_max_active(
        keys: KeyRepository) -> None:
    staged = (keys.directory / "0").read_bytes()
    assert keys.rotate() == 2
    assert keys.keys() == [0, 1, 2]
    assert (keys.directory / "2").read_bytes() == staged
    assert (keys.directory / "0").read_bytes() != staged
    assert encrypts_with(keys, 2)
    assert [keys.rotate(), keys.rotate()] == [3, 4]
    assert keys.keys() == [0, 3, 4]  # the staged key, the primary and the previous one


def test_more_active_keys_keep_more_secondaries(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "keys", max_active=5)
    repo.init()
    for _ in range(6):
        repo.rotate()
    assert repo.keys() == [0, 4, 5, 6, 7]


def test_fewer_than_three_active_keys_would_end_live_tokens(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        KeyRepository(tmp_path, max_active=2)


def test_a_token_lives_through_one_rotation_but_not_two(
        keys: KeyRepository, issuer: TokenIssuer, alice: User, clock: FakeClock) -> None:
    token, info = issuer.issue(alice)
    keys.rotate()
    assert issuer.verify(token) == info  # its key is now the previous primary
    keys.rotate()
    with pytest.raises(Unauthorized, match="rotated out"):
        TokenIssuer(keys, clock=clock).verify(token)  # a process that never saw it
    assert issuer.verify(token) == info  # remembered as verified, for a while
    clock.advance(VERIFIED_FOR + 1)
    with pytest.raises(Unauthorized, match="rotated out"):
        issuer.verify(token)


def test_a_second_repository_over_the_directory_sees_a_rotation(keys: KeyRepository) -> None:
    other = KeyRepository(keys.directory, recheck=0.0)
    old_token = other.fernet().encrypt(b"x")  # with key 1
    keys.rotate()
    assert encrypts_with(other, 2)
    keys.rotate()
    assert encrypts_with(other, 3)
    with pytest.raises(InvalidToken):
        other.fernet().decrypt(old_token)  # key 1 is gone: it re-read the directory


def test_between_rechecks_a_repository_keeps_what_it_read(keys: KeyRepository) -> None:
    other = KeyRepository(keys.directory, recheck=3600.0)
    other.fernet()
    keys.rotate()
    # Still the old primary (the rotation is seen within `recheck`), and the new
    # primary's tokens already decrypt: it was the staged key 0.
    assert encrypts_with(other, 1)
    other.fernet().decrypt(keys.fernet().encrypt(b"x"))


def test_a_rotation_of_its_own_is_seen_at_once(tmp_path: Path) -> None:
    repo = KeyRepository(tmp_path / "keys", recheck=3600.0)
    repo.init()
    repo.fernet()
    repo.rotate()
    assert encrypts_with(repo, 2)


def test_other_files_in_the_directory_are_not_keys(keys: KeyRepository) -> None:
    for name in (".1.abc.tmp", "README", "01", "-1"):
        (keys.directory / name).write_text("not a key")
    (keys.directory / "7").mkdir()
    assert keys.keys() == [0, 1]
    assert encrypts_with(keys, 1)


@pytest.mark.parametrize("setup", ["missing", "empty", "bad-key"])
def test_no_usable_key_says_how_to_make_some(tmp_path: Path, setup: str) -> None:
    directory = tmp_path / "keys"
    if setup != "missing":
        directory.mkdir()
    if setup == "bad-key":
        (directory / "1").write_text("not a key")
    with pytest.raises(KeysMissing) as caught:
        KeyRepository(directory).fernet()
    assert caught.value.status == 500
    assert f"cellrouter api-keys init --dir {directory}" in caught.value.message


def test_a_repository_without_a_staged_key_cannot_rotate(keys: KeyRepository) -> None:
    (keys.directory / "0").unlink()
    with pytest.raises(KeysMissing, match="no staged key 0"):
        keys.rotate()


def test_tokens_stop_verifying_when_the_keys_are_gone(
        keys: KeyRepository, clock: FakeClock, alice: User) -> None:
    issuer = TokenIssuer(keys, clock=clock)
    token, _ = issuer.issue(alice)
    for path in keys.directory.iterdir():
        path.unlink()
    with pytest.raises(KeysMissing):
        issuer.verify(token)
