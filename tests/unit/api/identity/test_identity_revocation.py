"""Tests for api.identity.revocation: both lists keep the contract; the database's
is shared by every process on it, read at most once per `refresh`, and fails closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from api.db import tables
from api.db.schema import open_api_database
from api.identity.revocation import DatabaseRevocations, MemoryRevocations, Revocations
from celldb.errors import DatabaseUnavailable
from tests.unit.api.identity.helpers import START, FakeClock

LATER = datetime.fromtimestamp(START + 3600, UTC)  # an expiry an hour ahead


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture
def engines(url: str) -> Iterator[Callable[[], Engine]]:
    """Makes engines on one API database, as separate API processes hold them."""
    made: list[Engine] = []

    def make() -> Engine:
        made.append(open_api_database(url))
        return made[-1]
    yield make
    for engine in made:
        engine.dispose()


class StatementCounter:
    """Counts the statements an engine runs that name `revoked_tokens`."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        self.count += "revoked_tokens" in statement


def memory(clock: FakeClock, engines: Callable[[], Engine]) -> Revocations:
    return MemoryRevocations(clock)


def database(clock: FakeClock, engines: Callable[[], Engine]) -> Revocations:
    return DatabaseRevocations(engines(), refresh=1.0, clock=clock)


KINDS = pytest.mark.parametrize("make", [memory, database], ids=["memory", "database"])


# ------------------------------------------------------------ the contract, both kinds


@KINDS
def test_a_revoked_audit_id_is_revoked_and_no_other(
        make: Callable[..., Revocations], clock: FakeClock,
        engines: Callable[[], Engine]) -> None:
    revocations = make(clock, engines)
    assert not revocations.is_revoked("a1")
    revocations.revoke("a1", LATER)
    assert revocations.is_revoked("a1")
    assert not revocations.is_revoked("a2")


@KINDS
def test_revoking_twice_is_revoking_once(
        make: Callable[..., Revocations], clock: FakeClock,
        engines: Callable[[], Engine]) -> None:
    revocations = make(clock, engines)
    revocations.revoke("a1", LATER)
    revocations.revoke("a1", LATER)
    assert revocations.is_revoked("a1")


# ------------------------------------------------------------ the database's


def test_the_schema_step_makes_the_table(engines: Callable[[], Engine]) -> None:
    with engines().connect() as conn:
        assert (conn.execute(select(tables.schema_version.c.version)).scalar() or 0) >= 4
        assert conn.execute(select(func.count()).select_from(tables.revoked_tokens)).scalar() == 0


def test_another_process_sees_a_revocation_within_refresh_seconds(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    here = DatabaseRevocations(engines(), refresh=1.0, clock=clock)
    there = DatabaseRevocations(engines(), refresh=1.0, clock=clock)
    assert not there.is_revoked("a1")  # read now: nothing revoked
    here.revoke("a1", LATER)
    assert here.is_revoked("a1")  # at once where it was revoked
    clock.advance(0.9)
    assert not there.is_revoked("a1")  # its copy is 0.9 s old: not read again
    clock.advance(0.1)
    assert there.is_revoked("a1")


def test_the_table_is_read_at_most_once_per_refresh(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    counter = StatementCounter(engine)
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    for _ in range(100):
        revocations.is_revoked("a1")
        clock.advance(0.005)
    assert counter.count == 1
    clock.advance(0.5)
    revocations.is_revoked("a1")
    assert counter.count == 2


def test_a_clock_that_went_back_reads_again(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    counter = StatementCounter(engine)
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.is_revoked("a1")
    clock.advance(-5)
    revocations.is_revoked("a1")
    assert counter.count == 2


def test_expired_revocations_are_forgotten_and_deleted(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.revoke("old", datetime.fromtimestamp(START + 10, UTC))
    clock.advance(11)  # "old" has expired: its token is refused as expired anyway
    assert not revocations.is_revoked("old")
    revocations.revoke("new", LATER)  # a revocation clears out the expired rows
    with engine.connect() as conn:
        kept = conn.execute(select(tables.revoked_tokens.c.audit_id)).scalars().all()
    assert kept == ["new"]


def test_an_unreadable_table_fails_every_check_until_it_is_read_again(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.revoke("a1", LATER)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE revoked_tokens RENAME TO elsewhere"))
    clock.advance(1.0)
    counter = StatementCounter(engine)
    for _ in range(3):  # fails closed: never "not revoked" on a failed read
        with pytest.raises(DatabaseUnavailable, match="token revocations unavailable"):
            revocations.is_revoked("a2")
    assert counter.count == 1  # and tries again only after `refresh`
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE elsewhere RENAME TO revoked_tokens"))
    clock.advance(1.0)
    assert revocations.is_revoked("a1")
    assert not revocations.is_revoked("a2")


def test_a_failed_revocation_raises_and_revokes_nothing(
        clock: FakeClock, engines: Callable[[], Engine]) -> None:
    engine = engines()
    revocations = DatabaseRevocations(engine, refresh=1.0, clock=clock)
    revocations.is_revoked("a1")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE revoked_tokens"))
    with pytest.raises(DatabaseUnavailable):
        revocations.revoke("a1", LATER)
    assert not revocations.is_revoked("a1")  # the copy read before the drop
