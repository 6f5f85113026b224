"""Tests for api.identity.tokens: issuing and verifying tokens with no shared state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.identity.errors import Unauthorized
from api.identity.keys import KeyRepository
from api.identity.tokens import MAX_TOKEN_LENGTH, TokenInfo, TokenIssuer, keystone_time
from api.identity.users import User
from tests.unit.api.identity.helpers import START, FakeClock


def test_a_token_verifies_as_what_was_issued(issuer: TokenIssuer, alice: User) -> None:
    token, info = issuer.issue(alice)
    assert issuer.verify(token) == info
    assert (info.user_id, info.user_name, info.project, info.role) == (
        alice.id, "alice", "acme", "member")
    assert not info.admin
    assert info.issued_at == datetime.fromtimestamp(START, UTC)
    assert info.expires_at - info.issued_at == timedelta(hours=1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", info.audit_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # url-safe as it stands, no padding
    assert alice.password_hash not in token


def test_each_token_has_its_own_audit_id(issuer: TokenIssuer, alice: User) -> None:
    assert issuer.issue(alice)[1].audit_id != issuer.issue(alice)[1].audit_id


def test_an_admin_token_says_admin(issuer: TokenIssuer, root: User) -> None:
    assert issuer.verify(issuer.issue(root)[0]).admin


def test_a_token_expires_by_the_issuers_clock(
        issuer: TokenIssuer, clock: FakeClock, alice: User) -> None:
    token, info = issuer.issue(alice)
    clock.advance(3599.999)
    assert issuer.verify(token) == info
    clock.advance(0.001)
    with pytest.raises(Unauthorized) as caught:
        issuer.verify(token)
    assert caught.value.message == f"The token expired at {keystone_time(info.expires_at)}"
    assert caught.value.message == "The token expired at 2026-09-21T15:13:20.000000Z"


def test_the_ttl_is_the_issuers(keys: KeyRepository, clock: FakeClock, alice: User) -> None:
    short = TokenIssuer(keys, ttl=60.0, clock=clock)
    token, _ = short.issue(alice)
    clock.advance(61)
    with pytest.raises(Unauthorized, match="expired"):
        TokenIssuer(keys, ttl=3600.0, clock=clock).verify(token)


def flip(token: str, at: int) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.mark.parametrize("at", [0, 5, 40, 100, -20], ids=["version", "time", "iv", "body", "mac"])
def test_a_tampered_token_is_refused(issuer: TokenIssuer, alice: User, at: int) -> None:
    token, _ = issuer.issue(alice)
    with pytest.raises(Unauthorized, match="The token is not valid"):
        issuer.verify(flip(token, at % len(token)))


def test_a_token_from_someone_elses_keys_is_refused(
        issuer: TokenIssuer, tmp_path: Path, clock: FakeClock, alice: User) -> None:
    foreign = KeyRepository(tmp_path / "foreign")
    foreign.init()
    forged, _ = TokenIssuer(foreign, clock=clock).issue(alice)
    with pytest.raises(Unauthorized, match="not issued here"):
        issuer.verify(forged)


@pytest.mark.parametrize(("token", "says"), [
    ("", "it is empty"),
    ("abc", "not issued here"),
    ("not a token!", "not issued here"),
    ("gAAAAABé", "not issued here"),
    ("x" * (MAX_TOKEN_LENGTH + 1), f"longer than {MAX_TOKEN_LENGTH}"),
], ids=["empty", "short", "punctuation", "non-ascii", "oversized"])
def test_garbage_is_refused_with_a_reason(issuer: TokenIssuer, token: str, says: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        issuer.verify(token)
    assert caught.value.message.startswith("The token is not valid: ")
    assert says in caught.value.message


def test_a_token_from_an_unknown_payload_version_is_refused(
        issuer: TokenIssuer, keys: KeyRepository) -> None:
    token = keys.fernet().encrypt(b'{"v": 2}').decode()
    with pytest.raises(Unauthorized, match="not understood"):
        issuer.verify(token)


def test_one_api_process_verifies_another_ones_tokens(
        keys: KeyRepository, clock: FakeClock, alice: User) -> None:
    first = TokenIssuer(KeyRepository(keys.directory), clock=clock)
    second = TokenIssuer(KeyRepository(keys.directory), clock=clock)
    token, info = first.issue(alice)
    assert second.verify(token) == info


def test_keystone_time_has_microseconds_and_z() -> None:
    moment = datetime(2026, 12, 2, 17, 0, 0, 120, tzinfo=UTC)
    assert keystone_time(moment) == "2026-12-02T17:00:00.000120Z"


def test_token_info_is_a_frozen_value() -> None:
    now = datetime.now(UTC)
    info = TokenInfo("u", "n", "p", "admin", now, now, "a")
    assert info.admin
    with pytest.raises(AttributeError):
        info.role = "member"  # type: ignore[misc]
