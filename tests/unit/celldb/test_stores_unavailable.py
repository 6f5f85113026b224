"""Every store in a cell's database fails alike when the database does: with
DatabaseUnavailable naming the store (celldb.errors), which a cell answers as
UNAVAILABLE, never INTERNAL (cells.edge.status). The databases are real: a
SQLite file garbled under a store that has opened it, and a PostgreSQL
server nobody listens for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine

from agents.objects import ObjectStore
from agents.registry import AgentRegistry
from celldb.engine import engine_for, open_database
from celldb.errors import DatabaseUnavailable
from cells.edge.status import to_status
from cells.outcomes import ActionOutcomes
from model.agents import AgentReport
from model.call import Call
from model.cells import CellKind, Registration
from model.errors import Unavailable
from routing.children import Children
from routing.index import LocationIndex
from routing.objects import ObjectRouter

# Builds a store on a cell's database; returns a call of it that reads or writes.
Store = Callable[[Engine, LocationIndex | None], Callable[[], object]]


class Top:
    path = "top"


def child_registry(engine: Engine, _: LocationIndex | None) -> Callable[[], object]:
    children = Children(engine, Top(), down_after=30.0)
    eu = Registration("eu", "127.0.0.1:7001", CellKind.LEAF)
    return lambda: asyncio.run(children.register(eu))


def object_locations(engine: Engine, _: LocationIndex | None) -> Callable[[], object]:
    no_children = Children(open_database("sqlite://"), Top(), down_after=30.0)
    router = ObjectRouter(engine, no_children, Top(), 5.0)
    return lambda: asyncio.run(router.get("0b5c4f8e-3c1a-4d2e-9f60-7a8b9c0d1e2f", Call()))


def agent_registry(engine: Engine, _: LocationIndex | None) -> Callable[[], object]:
    agents = AgentRegistry(engine, down_after=30.0)
    return lambda: agents.report(AgentReport("lb-1", "host-a", "loadbalancer"))


def service_objects(engine: Engine, _: LocationIndex | None) -> Callable[[], object]:
    store = ObjectStore(engine)
    return lambda: store.objects()


def action_outcomes(_: Engine, index: LocationIndex | None) -> Callable[[], object]:
    assert index is not None
    outcomes = ActionOutcomes(index)
    return lambda: outcomes.get("req-1")


def location_index(_: Engine, index: LocationIndex | None) -> Callable[[], object]:
    assert index is not None
    return lambda: index.in_child("eu")


STORES = [
    pytest.param(child_registry, "child registry", id="routing.children"),
    pytest.param(object_locations, "object locations", id="routing.objects"),
    pytest.param(agent_registry, "agent registry", id="agents.registry"),
    pytest.param(service_objects, "service objects", id="agents.objects"),
    pytest.param(action_outcomes, "action outcomes", id="cells.outcomes"),
    pytest.param(location_index, "location index", id="routing.index"),
]


def assert_unavailable(failed: BaseException, store: str) -> str:
    """`failed` is the database's failure, as a cell would answer it."""
    assert isinstance(failed, DatabaseUnavailable)
    assert isinstance(failed, Unavailable)
    assert str(failed).startswith(f"{store} unavailable: ")
    code, message = to_status(failed, "top!eu")
    assert code is grpc.StatusCode.UNAVAILABLE
    assert message == f"{failed} (at top!eu)"
    return message


def garble(engine: Engine, path: Path) -> None:
    """Close the pool's connections and overwrite the file with junk: every
    connection made from now on finds no database there."""
    engine.dispose()
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)
    path.write_bytes(b"this is not a database\n" * 512)


@pytest.mark.parametrize(("store", "name"), STORES)
def test_a_store_whose_database_breaks_answers_unavailable(
        tmp_path: Path, store: Store, name: str) -> None:
    path = tmp_path / "cell.db"
    index = LocationIndex.open(f"sqlite:///{path}")
    try:
        touch = store(index.engine, index)
        garble(index.engine, path)
        with pytest.raises(DatabaseUnavailable) as failed:
            touch()
        message = assert_unavailable(failed.value, name)
        assert "file is not a database" in message  # what SQLite said, for the operator
    finally:
        index.close()


@pytest.mark.parametrize(("store", "name"), STORES[:4])
def test_a_store_whose_server_does_not_answer_is_unavailable(store: Store, name: str) -> None:
    engine = engine_for("postgresql+psycopg://cells:s3cret@127.0.0.1:1/cells",
                        connect_timeout=2)
    try:
        with pytest.raises(DatabaseUnavailable) as failed:
            store(engine, None)()  # a store that loads at start fails there
        message = assert_unavailable(failed.value, name)
        assert "127.0.0.1" in message and "s3cret" not in message
    finally:
        engine.dispose()
