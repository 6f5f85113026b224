"""Tests for routing.index.LocationIndex and celldb, on SQLite and PostgreSQL.

The PostgreSQL cases use the server named by CELLROUTER_TEST_PG_URL, each in
a schema of its own. Without it they skip, or fail when
CELLROUTER_REQUIRE_POSTGRES=1. The fixtures (`url`, `pg_url`, `opener`,
`index`) live in tests/unit/conftest.py.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text

from celldb.engine import open_database
from celldb.schema import SCHEMA_VERSION, schema_version
from routing.errors import Conflict, IndexUnavailable
from routing.index import CacheStats, Location, LocationIndex


def loc(uuid: str | None = None, **kw: object) -> Location:
    fields: dict[str, object] = {"child": "eu", "request_id": str(uuidlib.uuid4())}
    fields.update(kw)
    return Location(uuid or str(uuidlib.uuid4()), **fields)  # type: ignore[arg-type]


def test_schema_is_created_where_the_url_says(url: str, index: LocationIndex) -> None:
    engine = index.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            assert str(schema).startswith("t_")
            tables = set(conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
            ), {"s": schema}).scalars())
            assert {"locations", "children", "cellrouter_schema"} <= tables
        rows = conn.execute(select(schema_version.c.version)).scalars().all()
    assert rows == [SCHEMA_VERSION]


def test_record_lookup_round_trip(index: LocationIndex) -> None:
    full = loc(child="eu", cell_path="top!eu!eu-a", host="h1", project="p1",
               state="ACTIVE", pending=True)
    bare = Location(str(uuidlib.uuid4()), child="")
    index.record(full)
    index.record(bare)
    assert index.lookup(full.uuid) == full
    assert index.lookup(bare.uuid) == bare
    assert index.lookup(str(uuidlib.uuid4())) is None


def test_record_twice_replaces(index: LocationIndex) -> None:
    first = loc(child="eu", state="BUILDING", pending=True)
    second = loc(first.uuid, child="us", cell_path="top!us!us-a", host="h9",
                 project="p2", state="ACTIVE", request_id=first.request_id)
    index.record(first)
    index.record(second)
    assert index.lookup(first.uuid) == second
    assert index.count() == 1


def test_by_request_id(index: LocationIndex) -> None:
    a, b = loc(), loc(child="us")
    index.record(a)
    index.record(b)
    index.record(loc(request_id=None))
    assert index.by_request_id(str(a.request_id)) == a
    assert index.by_request_id(str(b.request_id)) == b
    assert index.by_request_id("no-such-request") is None


def test_set_state_updates_and_clears_pending(index: LocationIndex) -> None:
    row = loc(state="BUILDING", pending=True, project="p")
    index.record(row)
    index.set_state(row.uuid, "ACTIVE", cell_path="top!eu!eu-a", host="h1")
    got = index.lookup(row.uuid)
    assert got is not None
    assert (got.state, got.cell_path, got.host, got.pending) == (
        "ACTIVE", "top!eu!eu-a", "h1", False,
    )
    assert (got.child, got.project, got.request_id) == (row.child, "p", row.request_id)


def test_set_state_without_place_keeps_it(index: LocationIndex) -> None:
    row = loc(cell_path="top!eu!eu-a", host="h1", state="ACTIVE")
    index.record(row)
    index.set_state(row.uuid, "PAUSED")
    got = index.lookup(row.uuid)
    assert got is not None
    assert (got.state, got.cell_path, got.host) == ("PAUSED", "top!eu!eu-a", "h1")


def test_set_state_of_unknown_uuid_creates_nothing(index: LocationIndex) -> None:
    index.set_state(str(uuidlib.uuid4()), "ACTIVE")
    assert index.count() == 0


def test_forget(index: LocationIndex) -> None:
    keep, drop = loc(), loc()
    index.record(keep)
    index.record(drop)
    index.forget(drop.uuid)
    index.forget(str(uuidlib.uuid4()))  # unknown: a no-op
    assert index.lookup(drop.uuid) is None
    assert index.by_request_id(str(drop.request_id)) is None
    assert index.lookup(keep.uuid) == keep
    assert index.count() == 1


def test_count_and_count_by_child(index: LocationIndex) -> None:
    assert index.count() == 0
    assert index.count_by_child() == {}
    for child, n in (("eu", 3), ("us", 2), ("", 1)):
        for _ in range(n):
            index.record(loc(child=child))
    assert index.count() == 6
    assert index.count_by_child() == {"eu": 3, "us": 2, "": 1}


def test_reopen_keeps_rows_and_one_version_row(
    url: str, opener: Callable[[], LocationIndex]
) -> None:
    first = opener()
    row = loc(state="ACTIVE")
    first.record(row)
    first.close()
    second = opener()
    opener()  # a third open must not add a version row either
    assert second.lookup(row.uuid) == row
    with second.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema_version)).scalar() == 1
        assert conn.execute(select(schema_version.c.version)).scalar() == SCHEMA_VERSION


def test_newer_schema_is_refused(url: str) -> None:
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            conn.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
    finally:
        engine.dispose()
    with pytest.raises(IndexUnavailable, match=f"version {SCHEMA_VERSION + 1}, newer than"):
        LocationIndex.open(url)


def test_errors_in_use_become_index_unavailable(index: LocationIndex) -> None:
    with index.engine.begin() as conn:
        conn.execute(text("DROP TABLE locations"))
    with pytest.raises(IndexUnavailable, match="location index unavailable"):
        index.lookup(str(uuidlib.uuid4()))
    with pytest.raises(IndexUnavailable):
        index.record(loc())


def test_bad_sqlite_url() -> None:
    with pytest.raises(IndexUnavailable, match="cannot open database"):
        open_database("sqlite:////nonexistent-dir/x/y.db")


def test_unreachable_postgres_hides_password() -> None:
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(IndexUnavailable, match="cannot open database") as info:
        LocationIndex.open(url)
    assert "s3cret" not in str(info.value)
    assert "someone:***@127.0.0.1:1/nowhere" in str(info.value)


def test_request_id_held_by_another_uuid_is_a_conflict(index: LocationIndex) -> None:
    first = loc(request_id="same-key")
    index.record(first)
    with pytest.raises(Conflict, match="same-key"):
        index.record(loc(request_id="same-key"))
    assert index.by_request_id("same-key") == first
    assert index.count() == 1


# ------------------------------------------------------------------ the cache


def _delete_behind_the_back(index: LocationIndex, uuid: str) -> None:
    """Remove a row with raw SQL, so the index cannot see it go."""
    with index.engine.begin() as conn:
        gone = conn.execute(text("DELETE FROM locations WHERE uuid = :u"), {"u": uuid})
    assert gone.rowcount == 1


def _update_behind_the_back(index: LocationIndex, uuid: str, host: str) -> None:
    with index.engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE locations SET host = :h WHERE uuid = :u"), {"h": host, "u": uuid}
        )
    assert changed.rowcount == 1


def test_lookup_after_record_is_a_cache_hit(index: LocationIndex) -> None:
    row = loc(state="ACTIVE", host="h1")
    index.record(row)
    before = index.cache_stats()
    assert before.size == 1
    assert index.lookup(row.uuid) == row
    after = index.cache_stats()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_cache_is_consulted_before_the_database(index: LocationIndex) -> None:
    row = loc(state="ACTIVE", host="h1")
    index.record(row)
    _delete_behind_the_back(index, row.uuid)
    assert index.lookup_uncached(row.uuid) is None
    assert index.count() == 0
    hits = index.cache_stats().hits
    assert index.lookup(row.uuid) == row  # still answered: it came from the cache
    assert index.cache_stats().hits == hits + 1


def test_lookup_miss_reads_the_database_and_fills_the_cache(
    opener: Callable[..., LocationIndex],
) -> None:
    writer, reader = opener(), opener()
    row = loc(state="ACTIVE")
    writer.record(row)
    assert reader.cache_stats() == CacheStats(hits=0, misses=0, size=0)
    assert reader.lookup(row.uuid) == row
    assert reader.cache_stats() == CacheStats(hits=0, misses=1, size=1)
    assert reader.lookup(row.uuid) == row
    assert reader.cache_stats() == CacheStats(hits=1, misses=1, size=1)


def test_unknown_uuid_is_not_cached(index: LocationIndex) -> None:
    missing = str(uuidlib.uuid4())
    assert index.lookup(missing) is None
    assert index.lookup(missing) is None
    stats = index.cache_stats()
    assert (stats.hits, stats.misses, stats.size) == (0, 2, 0)


@pytest.mark.parametrize("how", ["apply", "set_state"])
def test_state_changes_update_the_cached_entry(index: LocationIndex, how: str) -> None:
    row = loc(state="BUILDING", pending=True, project="p", name="web-1", created_at=5.0)
    index.record(row)
    if how == "apply":
        index.apply([(row.uuid, "ACTIVE", "top!eu!eu-a", "h1")])
    else:
        index.set_state(row.uuid, "ACTIVE", cell_path="top!eu!eu-a", host="h1")
    want = Location(row.uuid, "eu", "top!eu!eu-a", "h1", "p", "ACTIVE", row.request_id,
                    False, "web-1", 5.0)
    assert index.lookup_uncached(row.uuid) == want  # the database changed...
    _delete_behind_the_back(index, row.uuid)
    hits = index.cache_stats().hits
    assert index.lookup(row.uuid) == want  # ...and so did the cached entry itself
    assert index.cache_stats().hits == hits + 1


def test_apply_many_changes_updates_each_cached_entry(index: LocationIndex) -> None:
    a = loc(state="ACTIVE", cell_path="top!eu!eu-a", host="h1")
    b = loc(state="BUILDING", pending=True)
    c = loc(state="ACTIVE")
    for row in (a, b, c):
        index.record(row)
    index.apply([
        (a.uuid, "PAUSED", "", ""),  # keeps its place
        (b.uuid, "ACTIVE", "top!eu!eu-b", "h2"),
        (c.uuid, "DELETED", "", ""),
        (str(uuidlib.uuid4()), "ACTIVE", "x", "y"),  # unknown: skipped
    ])
    assert index.count() == 2
    assert index.cache_stats().size == 2
    for row in (a, b):
        _delete_behind_the_back(index, row.uuid)
    got_a, got_b = index.lookup(a.uuid), index.lookup(b.uuid)
    assert got_a is not None and got_b is not None
    assert (got_a.state, got_a.cell_path, got_a.host) == ("PAUSED", "top!eu!eu-a", "h1")
    assert (got_b.state, got_b.cell_path, got_b.host, got_b.pending) == (
        "ACTIVE", "top!eu!eu-b", "h2", False,
    )
    assert index.cache_stats().hits == 2


@pytest.mark.parametrize("how", ["forget", "apply"])
def test_removal_evicts_the_cached_entry(index: LocationIndex, how: str) -> None:
    keep, drop = loc(), loc()
    index.record(keep)
    index.record(drop)
    assert index.cache_stats().size == 2
    if how == "forget":
        index.forget(drop.uuid)
    else:
        index.apply([(drop.uuid, "DELETED", "", "")])
    assert index.cache_stats().size == 1
    misses = index.cache_stats().misses
    assert index.lookup(drop.uuid) is None
    assert index.cache_stats().misses == misses + 1  # not answered from the cache
    assert index.lookup(keep.uuid) == keep
    assert index.count() == 1


def test_clear_cache_makes_lookup_reread_the_database(index: LocationIndex) -> None:
    row = loc(host="old-host")
    index.record(row)
    _update_behind_the_back(index, row.uuid, "new-host")
    cached = index.lookup(row.uuid)
    assert cached is not None and cached.host == "old-host"  # the cache is stale
    index.clear_cache()
    assert index.cache_stats().size == 0
    misses = index.cache_stats().misses
    fresh = index.lookup(row.uuid)
    assert fresh == replace(row, host="new-host")
    assert index.cache_stats().misses == misses + 1
    assert index.cache_stats().size == 1


def test_cache_size_bounds_the_cache(url: str) -> None:
    index = LocationIndex.open(url, cache_size=2)
    try:
        rows = [loc() for _ in range(3)]
        for row in rows:
            index.record(row)
        assert index.cache_stats().size == 2
        index.clear_cache()
        assert [index.lookup(r.uuid) for r in rows] == rows
        stats = index.cache_stats()
        assert (stats.misses, stats.size) == (3, 2)
        # Three uuids cannot all be held in two places: at least one misses again.
        for r in rows:
            index.lookup(r.uuid)
        assert index.cache_stats().misses > 3
        assert index.cache_stats().size == 2
    finally:
        index.close()


def test_cache_ttl_expiry_makes_a_later_lookup_a_miss(
    opener: Callable[..., LocationIndex],
) -> None:
    index = opener(cache_ttl=0.05)
    row = loc(host="old-host")
    index.record(row)  # cached, with the old host
    _update_behind_the_back(index, row.uuid, "new-host")
    time.sleep(0.15)
    # Had the entry not expired, this would be a hit answering "old-host".
    assert index.lookup(row.uuid) == replace(row, host="new-host")
    stats = index.cache_stats()
    assert (stats.hits, stats.misses) == (0, 1)


def test_in_child_returns_only_that_childs_rows(index: LocationIndex) -> None:
    rows = {child: [loc(child=child, name=f"{child}-{i}", created_at=float(i))
                    for i in range(n)]
            for child, n in (("eu", 3), ("us", 2), ("", 1))}
    for group in rows.values():
        for row in group:
            index.record(row)
    for child, group in rows.items():
        got = index.in_child(child)
        assert sorted(got, key=lambda r: r.uuid) == sorted(group, key=lambda r: r.uuid)
    assert index.in_child("asia") == []
    limited = index.in_child("eu", limit=2)
    assert len(limited) == 2
    assert set(limited) <= set(rows["eu"])


def test_in_child_reads_the_database_not_the_cache(index: LocationIndex) -> None:
    a, b = loc(child="eu"), loc(child="eu")
    index.record(a)
    index.record(b)
    _delete_behind_the_back(index, b.uuid)
    assert index.in_child("eu") == [a]


def test_name_and_created_at_round_trip(
    index: LocationIndex, opener: Callable[..., LocationIndex]
) -> None:
    row = loc(child="us", name="web-1", created_at=1712345678.125, state="ACTIVE")
    index.record(row)
    assert index.lookup(row.uuid) == row  # cached
    assert index.lookup_uncached(row.uuid) == row  # the database, raw reader
    assert index.by_request_id(str(row.request_id)) == row  # the database, SQLAlchemy
    assert index.in_child("us") == [row]
    other = opener()
    got = other.lookup(row.uuid)
    assert got == row
    assert got is not None and (got.name, got.created_at) == ("web-1", 1712345678.125)
    assert isinstance(got.created_at, float)


def test_defaults_for_name_and_created_at(index: LocationIndex) -> None:
    row = Location(str(uuidlib.uuid4()), child="")
    index.record(row)
    index.clear_cache()
    got = index.lookup(row.uuid)
    assert got is not None and (got.name, got.created_at) == ("", 0.0)
