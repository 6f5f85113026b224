"""The API database's quota reservations: what they count, and that two
processes (threads with engines of their own here) cannot both take the last
unit, on SQLite and on PostgreSQL (row locks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.db.quotas import QuotaExceeded, QuotaStore, TreeCount, Usage
from api.db.schema import open_api_database

ONE = Usage(1, 2, 1024)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engines(db_url: str) -> Iterator[list[Engine]]:
    made = [open_api_database(db_url) for _ in range(2)]  # as two API processes
    yield made
    for engine in made:
        engine.dispose()


def seen(instances: int = 0, uuids: frozenset[str] = frozenset(),
         at: float | None = None) -> TreeCount:
    return TreeCount(ONE.times(instances), uuids, time.time() if at is None else at)


def test_a_boot_in_flight_counts_until_released(engines: list[Engine]) -> None:
    store = QuotaStore(engines[0])
    store.set_limits("p", {"instances": 2})
    taken = store.reserve("p", seen(1), ONE, 1, 1)
    with pytest.raises(QuotaExceeded) as refused:
        store.reserve("p", seen(1), ONE, 1, 1)
    assert refused.value.nova_message() == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")
    store.release(taken)
    assert len(store.reserve("p", seen(1), ONE, 1, 1)) == 1


def test_a_settled_boot_counts_until_a_list_begun_after_it_shows_it(
        engines: list[Engine]) -> None:
    store = QuotaStore(engines[0])
    before = time.time() - 60  # a list begun a minute ago cannot have seen it
    [reservation] = store.reserve("p", seen(), ONE, 1, 1)
    store.settle(reservation, "u1")
    assert store.reserved("p", seen(0, at=before)).instances == 1
    assert store.reserved("p", seen(1, frozenset({"u1"}), at=before)).instances == 0
    assert store.reserved("p", seen(0, at=time.time() + 60)).instances == 0  # deleted since


def test_two_processes_cannot_both_take_the_last_unit(engines: list[Engine]) -> None:
    QuotaStore(engines[0]).set_limits("p", {"instances": 5})
    stores = [QuotaStore(engine) for engine in engines]
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def take(store: QuotaStore) -> None:
        start.wait()
        try:
            store.reserve("p", seen(), ONE, 1, 1)
        except QuotaExceeded:
            return
        with lock:
            granted.append(1)

    threads = [threading.Thread(target=take, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(granted) == 5
