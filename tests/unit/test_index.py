"""Tests for routing.index.LocationIndex and routing.db, on SQLite and PostgreSQL.

The PostgreSQL cases use the server named by CELLROUTER_TEST_PG_URL, each in
a schema of its own. Without it they skip, or fail when
CELLROUTER_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from routing.db import SCHEMA_VERSION, open_database, schema_version
from routing.errors import Conflict, IndexUnavailable
from routing.index import Location, LocationIndex


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CELLROUTER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    base = os.environ.get("CELLROUTER_TEST_PG_URL", "")
    if not base:
        _unavailable("CELLROUTER_TEST_PG_URL is not set; PostgreSQL tests need a server")
    schema = f"t_{uuidlib.uuid4().hex[:12]}"
    try:
        admin = create_engine(base, connect_args={"connect_timeout": 5})
    except (SQLAlchemyError, ImportError) as exc:
        _unavailable(f"bad CELLROUTER_TEST_PG_URL: {exc}")
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except SQLAlchemyError as exc:
        admin.dispose()
        _unavailable(f"cannot reach PostgreSQL at CELLROUTER_TEST_PG_URL: {exc}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def opener(url: str) -> Iterator[Callable[[], LocationIndex]]:
    """Opens indexes on `url` and closes them all (before the schema is dropped)."""
    opened: list[LocationIndex] = []

    def open_index() -> LocationIndex:
        opened.append(LocationIndex.open(url))
        return opened[-1]

    yield open_index
    for index in opened:
        index.close()


@pytest.fixture
def index(opener: Callable[[], LocationIndex]) -> LocationIndex:
    return opener()


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
