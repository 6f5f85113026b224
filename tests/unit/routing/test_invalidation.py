"""Tests for routing.invalidation: two indexes on one PostgreSQL database (two
replicas of a cell) keep each other's caches honest."""

from __future__ import annotations

import time

import pytest

from routing.index import Location, LocationIndex


def row(uuid: str, child: str = "c1") -> Location:
    return Location(uuid, child, f"top!{child}", "h1", "p", "ACTIVE", f"req-{uuid}",
                    pending=False)


def eventually(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.mark.postgres
def test_a_row_another_replica_changes_leaves_this_ones_cache(pg_url: str) -> None:
    a, b = LocationIndex.open(pg_url), LocationIndex.open(pg_url)
    try:
        assert a.hearing_others(10) and b.hearing_others(10)
        a.record(row("u1"))
        assert b.lookup("u1") == row("u1")  # now cached at b
        a.forget("u1")  # deleted by the other replica
        assert eventually(lambda: b.lookup("u1") is None)
        a.record(row("u2"))
        assert b.lookup("u2") is not None
        a.record(row("u2", child="c2"))  # moved by the other replica
        assert eventually(lambda: (b.lookup("u2") or row("x")).child == "c2")
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_a_replicas_own_writes_keep_its_cache(pg_url: str) -> None:
    a, b = LocationIndex.open(pg_url), LocationIndex.open(pg_url)
    try:
        assert a.hearing_others(10)
        a.record(row("mark"))  # cached at a
        a.record(row("u3"))
        # Announcements come in the order of the commits: once a has heard b's
        # move of "mark", it has heard its own write of "u3" too.
        b.record(row("mark", child="c2"))
        assert eventually(lambda: (a.lookup("mark") or row("x")).child == "c2", timeout=60)
        before = a.cache_stats().hits
        assert a.lookup("u3") is not None
        assert a.cache_stats().hits == before + 1
    finally:
        a.close()
        b.close()


def test_sqlite_needs_no_listener(tmp_path: object) -> None:
    index = LocationIndex.open(f"sqlite:///{tmp_path}/cell.db")
    try:
        assert not index.hearing_others(0.1)
    finally:
        index.close()
