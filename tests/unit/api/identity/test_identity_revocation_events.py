"""Tests for api.identity.revocation's events: every token of a user, a project,
or a user on a project, issued until a moment, is refused; in memory and in the
API database, where every process sees them, beside the audit ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from api.db import tables
from api.db.schema import open_api_database
from api.identity.errors import Unauthorized
from api.identity.keys import KeyRepository
from api.identity.revocation import (
    DatabaseRevocations,
    MemoryRevocations,
    Revocations,
    grant_subject,
    project_subject,
    subjects_of,
    user_subject,
)
from api.identity.tokens import TokenIssuer
from api.identity.users import User
from celldb.errors import DatabaseUnavailable
from tests.unit.api.identity.helpers import START, FakeClock

NOW = datetime.fromtimestamp(START, UTC)
LATER = datetime.fromtimestamp(START + 3600, UTC)
DAVE = User("u-dave", "dave", "lab", "member", "")


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    made: list[Engine] = []

    def make() -> Engine:
        made.append(open_api_database(f"sqlite:///{tmp_path / 'api.db'}"))
        return made[-1]
    yield make
    for engine in made:
        engine.dispose()


def memory(clock: FakeClock, engines: Callable[[], Engine]) -> Revocations:
    return MemoryRevocations(clock)


def database(clock: FakeClock, engines: Callable[[], Engine]) -> Revocations:
    return DatabaseRevocations(engines(), refresh=1.0, clock=clock)


KINDS = pytest.mark.parametrize("make", [memory, database], ids=["memory", "database"])


@KINDS
@pytest.mark.parametrize(("ended", "user", "project", "refused"), [
    (user_subject("u1"), "u1", "p1", True),
    (user_subject("u1"), "u2", "p1", False),
    (project_subject("p1"), "u2", "p1", True),
    (project_subject("p1"), "u1", "p2", False),
    (grant_subject("u1", "p1"), "u1", "p1", True),
    (grant_subject("u1", "p1"), "u1", "p2", False),
    (grant_subject("u1", "p1"), "u2", "p1", False),
], ids=["user", "other-user", "project", "other-project", "grant", "grant-other-project",
        "grant-other-user"])
def test_an_event_matches_its_subject_only(
        make: Callable[..., Revocations], clock: FakeClock, engines: Callable[[], Engine],
        ended: str, user: str, project: str, refused: bool) -> None:
    revocations = make(clock, engines)
    revocations.end(ended, NOW, LATER)
    assert revocations.ended(subjects_of(user, project), NOW) is refused


@KINDS
def test_tokens_issued_after_the_event_are_not_matched(
        make: Callable[..., Revocations], clock: FakeClock,
        engines: Callable[[], Engine]) -> None:
    revocations = make(clock, engines)
    revocations.end(user_subject("u1"), NOW, LATER)
    after = datetime.fromtimestamp(START + 0.000001, UTC)
    assert revocations.ended([user_subject("u1")], NOW)
    assert not revocations.ended([user_subject("u1")], after)


def test_every_process_sees_an_event_within_refresh(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    here = DatabaseRevocations(engines(), refresh=1.0, clock=clock)
    there = DatabaseRevocations(engines(), refresh=1.0, clock=clock)
    assert not there.ended([project_subject("p1")], NOW)
    here.end(project_subject("p1"), NOW, LATER)
    assert here.ended([project_subject("p1")], NOW)
    clock.advance(1.0)
    assert there.ended([project_subject("p1")], NOW)


def test_expired_events_are_forgotten_and_deleted(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.end(user_subject("old"), NOW, datetime.fromtimestamp(START + 10, UTC))
    clock.advance(11)
    assert not revocations.ended([user_subject("old")], NOW)
    revocations.end(user_subject("new"), NOW, LATER)
    with engine.connect() as conn:
        kept = conn.execute(select(tables.revoked_tokens.c.audit_id)).scalars().all()
    assert kept == [user_subject("new")]


def test_a_failed_event_raises_and_ends_nothing(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.ended([user_subject("u1")], NOW)
    with engine.begin() as conn:
        tables.revoked_tokens.drop(conn)
    with pytest.raises(DatabaseUnavailable):
        revocations.end(user_subject("u1"), NOW, LATER)
    assert not revocations.ended([user_subject("u1")], NOW)
    clock.advance(1.0)  # and once re-read, every check fails closed
    with pytest.raises(DatabaseUnavailable):
        revocations.ended([user_subject("u1")], NOW)


@KINDS
def test_events_and_audit_ids_live_side_by_side(
        make: Callable[..., Revocations], clock: FakeClock,
        engines: Callable[[], Engine]) -> None:
    revocations = make(clock, engines)
    revocations.revoke("a1", LATER)
    revocations.end(user_subject("u1"), NOW, LATER)
    assert revocations.is_revoked("a1") and not revocations.is_revoked(user_subject("u2"))
    assert not revocations.ended(["a1"], datetime.fromtimestamp(START + 60, UTC))
    assert revocations.ended(subjects_of("u1", "p1"), NOW)


def test_a_long_subject_still_fits_the_key_column() -> None:
    long = project_subject("p" * 64)
    assert len(long) == 64 and long.startswith("sha256:")
    assert long == project_subject("p" * 64) != project_subject("q" * 64)
    assert len(grant_subject("u" * 32, "p" * 64)) == 64
    assert project_subject("p" * 50) == "project:" + "p" * 50


def test_the_issuer_ends_the_tokens_issued_until_now(tmp_path: Path, clock: FakeClock) -> None:
    keys = KeyRepository(tmp_path / "keys", recheck=0.0)
    keys.init()
    issuer = TokenIssuer(keys, ttl=3600.0, clock=clock)
    before, _ = issuer.issue(DAVE)
    elsewhere, _ = issuer.issue(DAVE, "other", "member")
    issuer.end_tokens(grant_subject(DAVE.id, "lab"))
    clock.advance(0.5)
    after, _ = issuer.issue(DAVE)
    assert issuer.verify(after).project == "lab"
    assert issuer.verify(elsewhere).project == "other"
    with pytest.raises(Unauthorized, match="The token has been revoked"):
        issuer.verify(before)
