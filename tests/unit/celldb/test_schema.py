"""Schema creation and upgrades in celldb.schema, on SQLite and PostgreSQL.

Each case starts from an empty database (a fresh SQLite file, or a fresh
PostgreSQL schema from the `url` fixture in tests/unit/conftest.py; the
PostgreSQL cases skip without CELLROUTER_TEST_PG_URL, or fail when
CELLROUTER_REQUIRE_POSTGRES=1). A "v1 database" is one brought to version 1
with celldb.schema.upgrade_to and filled with raw SQL that names only the
columns the first release had, as that release would have written it.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, inspect, select, text

from celldb.engine import engine_for, open_database
from celldb.schema import SCHEMA_VERSION, schema_version, upgrade_to
from routing.index import Location, LocationIndex

V1_LOCATION_COLUMNS = {
    "uuid", "request_id", "child", "cell_path", "host", "project", "state", "pending",
    "updated_at",
}
V2_LOCATION_COLUMNS = V1_LOCATION_COLUMNS | {"name", "created_at"}
V3_LOCATION_COLUMNS = V2_LOCATION_COLUMNS | {"server_group"}
CURRENT_COLUMNS = V3_LOCATION_COLUMNS

Keep = Callable[[Engine], Engine]


def versions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(schema_version.c.version)).scalars())


def location_columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("locations")}


def location_indexes(engine: Engine) -> dict[str, list[Any]]:
    return {str(ix["name"]): list(ix["column_names"])
            for ix in inspect(engine).get_indexes("locations")}


def make_v1(url: str, keep: Keep) -> Engine:
    """A database at version 1, with no rows yet."""
    engine = keep(create_engine(url))
    upgrade_to(engine, 1)
    assert versions(engine) == [1]
    assert location_columns(engine) == V1_LOCATION_COLUMNS
    return engine


def insert_v1_location(engine: Engine, **values: Any) -> None:
    row: dict[str, Any] = {
        "request_id": None, "cell_path": "", "host": "", "project": "",
        "state": "BUILDING", "pending": False, "updated_at": 1.5,
    }
    row.update(values)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO locations"
            " (uuid, request_id, child, cell_path, host, project, state, pending, updated_at)"
            " VALUES (:uuid, :request_id, :child, :cell_path, :host, :project, :state,"
            " :pending, :updated_at)"
        ), row)


def test_schema_version_is_at_least_two() -> None:
    # The upgrade tests below are only meaningful with a step after version 1.
    assert SCHEMA_VERSION >= 2


def test_empty_database_is_created_at_the_current_version(url: str, engines: Keep) -> None:
    engine = engines(open_database(url))
    assert versions(engine) == [SCHEMA_VERSION]
    assert {"locations", "children", "cellrouter_schema"} <= set(inspect(engine).get_table_names())
    assert location_columns(engine) == CURRENT_COLUMNS


def test_upgrade_to_stops_at_the_version_asked_for(url: str, engines: Keep) -> None:
    engine = make_v1(url, engines)
    assert "ix_locations_child" not in location_indexes(engine)
    upgrade_to(engine, 1)  # already there: nothing happens
    assert versions(engine) == [1]
    upgrade_to(engine, 2)
    assert versions(engine) == [2]
    assert location_columns(engine) == V2_LOCATION_COLUMNS
    upgrade_to(engine, SCHEMA_VERSION)
    assert versions(engine) == [SCHEMA_VERSION]
    assert location_columns(engine) == CURRENT_COLUMNS


def test_v1_database_is_upgraded_with_its_rows_intact(url: str, engines: Keep) -> None:
    old = make_v1(url, engines)
    active = str(uuidlib.uuid4())
    building = str(uuidlib.uuid4())
    insert_v1_location(old, uuid=active, request_id="req-1", child="eu",
                       cell_path="top!eu!eu-a", host="h1", project="p1", state="ACTIVE")
    insert_v1_location(old, uuid=building, child="us", pending=True)
    with old.begin() as conn:
        conn.execute(text(
            "INSERT INTO children (name, address, kind, capabilities, capacity, registered_at)"
            " VALUES ('eu', '127.0.0.1:7001', 'cell', '[]', '{}', 2.5)"
        ))
    old.dispose()

    index = LocationIndex(engines(open_database(url)))
    try:
        assert versions(index.engine) == [SCHEMA_VERSION]
        assert location_columns(index.engine) == CURRENT_COLUMNS
        assert index.count() == 2
        want_active = Location(active, "eu", "top!eu!eu-a", "h1", "p1", "ACTIVE", "req-1",
                               False, name="", created_at=0.0)
        want_building = Location(building, "us", pending=True, name="", created_at=0.0)
        assert index.lookup(active) == want_active
        assert index.lookup_uncached(building) == want_building
        assert index.by_request_id("req-1") == want_active
        assert index.in_child("us") == [want_building]
        with index.engine.connect() as conn:
            updated = conn.execute(text(
                "SELECT updated_at FROM locations WHERE uuid = :u"), {"u": active}).scalar()
            child = conn.execute(text(
                "SELECT address, registered_at FROM children WHERE name = 'eu'")).one()
        assert updated == 1.5
        assert tuple(child) == ("127.0.0.1:7001", 2.5)

        # New writes, with the new columns, work on the upgraded database.
        new = Location(str(uuidlib.uuid4()), "eu", request_id="req-2", name="web-2",
                       created_at=1712345678.5)
        index.record(new)
        index.set_state(building, "ACTIVE", cell_path="top!us!us-a", host="h2")
        index.clear_cache()
        assert index.lookup(new.uuid) == new
        moved = index.lookup(building)
        assert moved is not None
        assert (moved.state, moved.cell_path, moved.host, moved.name) == (
            "ACTIVE", "top!us!us-a", "h2", "",
        )
        assert index.count_by_child() == {"eu": 2, "us": 1}
    finally:
        index.close()


@pytest.mark.parametrize("start", ["empty", "v1"])
def test_opening_twice_is_a_no_op(url: str, engines: Keep, start: str) -> None:
    if start == "v1":
        insert_v1_location(make_v1(url, engines), uuid="u-old", child="eu")
    first = engines(open_database(url))
    columns = location_columns(first)
    indexes = location_indexes(first)
    second = engines(open_database(url))
    engines(open_database(url))
    with second.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema_version)).scalar() == 1
    assert versions(second) == [SCHEMA_VERSION]
    assert location_columns(second) == columns == CURRENT_COLUMNS
    assert location_indexes(second) == indexes
    with second.connect() as conn:
        uuids = list(conn.execute(text("SELECT uuid FROM locations")).scalars())
    assert uuids == (["u-old"] if start == "v1" else [])


@pytest.mark.parametrize("start", ["empty", "v1"])
def test_child_index_exists_after_upgrade(url: str, engines: Keep, start: str) -> None:
    if start == "v1":
        assert "ix_locations_child" not in location_indexes(make_v1(url, engines))
    engine = engines(open_database(url))
    assert location_indexes(engine).get("ix_locations_child") == ["child"]


OPENER = """
import sys
from celldb.engine import open_database
open_database(sys.argv[1]).dispose()
"""


@pytest.mark.parametrize("start", ["empty", "v1"])
def test_processes_upgrading_at_once_all_succeed(url: str, engines: Keep, start: str) -> None:
    import subprocess
    import sys

    if start == "v1":
        make_v1(url, engines)
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, url], stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    engine = engines(create_engine(url))
    assert versions(engine) == [SCHEMA_VERSION]
    assert {"name", "created_at"} <= location_columns(engine)


def test_an_upgrade_cut_short_can_run_again(url: str, engines: Keep,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from celldb import schema as db

    engine = engines(engine_for(url))
    upgrade_to(engine, 1)
    real = list(db.MIGRATIONS)

    def v2_then_crash(conn: Any) -> None:
        real[1](conn)
        raise RuntimeError("power cut")

    monkeypatch.setattr(db, "MIGRATIONS", [real[0], v2_then_crash, *real[2:]])
    with pytest.raises(RuntimeError):
        db.upgrade(engine)
    assert versions(engine) == [1]
    assert "name" not in location_columns(engine)  # the half-done step was rolled back
    monkeypatch.setattr(db, "MIGRATIONS", real)
    db.upgrade(engine)
    assert versions(engine) == [SCHEMA_VERSION]


def test_lookups_from_many_threads_leave_the_pool_free(url: str, engines: Keep) -> None:
    import threading

    index = LocationIndex(engines(open_database(url)))
    threads = [threading.Thread(target=index.lookup_uncached, args=(str(uuidlib.uuid4()),))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.record(Location(str(uuidlib.uuid4()), child="eu"))  # would wait 30 s for a connection
    assert index.count() == 1
    index.close()
