"""A router's events (cell.down, cell.up: routing.children's liveness, told by
cells.router_notify) and a leaf's service object events (agents.objects'
binding changes, told by cells.object_notify), each read back from the
outbox as a consumer would get it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Connection

from agents.objects import BindingChange, ObjectStore
from celldb.errors import DatabaseUnavailable
from cells.backend import Identity
from cells.object_notify import ObjectNotices
from cells.router_notify import RouterNotices
from model.agents import ObjectState, PlaceSpec, ServiceObject
from model.cells import CellCapacity, CellKind, ChildReport, Registration
from notify.envelope import ROUTER_PUBLISHER, SCHEMA_FILE
from notify.outbox import Outbox
from routing.children import Child, Children
from routing.index import LocationIndex

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
DOWN_AFTER = 60.0


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocationIndex]:
    opened = LocationIndex.open(f"sqlite:///{tmp_path / 'cell.db'}")
    yield opened
    opened.close()


def told(outbox: Outbox) -> list[dict[str, Any]]:
    """The inner messages waiting, oldest first, each checked against the schema."""
    inner = [json.loads(row.message) for row in outbox.batch(100)]
    for message in inner:
        VALIDATOR.validate(message)
    return inner


def data(message: dict[str, Any]) -> dict[str, Any]:
    return dict(message["payload"]["nova_object.data"])


# ------------------------------------------------------------- routers


class Router:
    """Children of router top!r1 (z1, z2 registered and reporting), with an outbox."""

    def __init__(self, index: LocationIndex) -> None:
        identity = Identity("r1", "127.0.0.1:7000", "top!r1", CellKind.ROUTER)
        self.outbox = Outbox(index, lambda: "top!r1", role=ROUTER_PUBLISHER)
        self.children = Children(index.engine, identity, DOWN_AFTER,
                                 listener=RouterNotices(self.outbox, lambda: "top!r1"))
        for name in ("z1", "z2"):
            asyncio.run(self.children.register(Registration(name, "127.0.0.1:1", CellKind.LEAF)))
            self.reports(name)

    def child(self, name: str) -> Child:
        found = self.children.get(name)
        assert found is not None
        return found

    def silent(self, name: str) -> None:
        """As if `name` had not reported for longer than the down period."""
        self.child(name).last_seen = time.monotonic() - DOWN_AFTER - 1

    def reports(self, name: str) -> None:
        self.children.report(ChildReport(name, CellCapacity()))


def test_a_child_found_down_then_back_is_told_once_each(index: LocationIndex) -> None:
    router = Router(index)
    router.silent("z2")
    router.children.look()  # the first look after start only remembers
    assert told(router.outbox) == []
    router.reports("z2")  # back: told at once
    router.children.look()
    router.silent("z2")
    router.children.look()
    router.children.look()  # still down: nothing new
    got = told(router.outbox)
    assert [m["event_type"] for m in got] == ["cell.up", "cell.down"]
    assert [data(m) for m in got] == [
        {"cell_path": "top!r1!z2", "up": True, "router_path": "top!r1"},
        {"cell_path": "top!r1!z2", "up": False, "router_path": "top!r1"}]
    assert {m["publisher_id"] for m in got} == {"cellrouter-router:top!r1"}
    assert {m["payload"]["nova_object.name"] for m in got} == {"CellStatusPayload"}


def test_a_down_child_that_reports_is_up_without_waiting_for_a_look(
        index: LocationIndex) -> None:
    router = Router(index)
    router.children.look()
    router.silent("z1")
    router.children.look()
    router.reports("z1")
    router.reports("z1")  # a second report is no second change
    assert [(m["event_type"], data(m)["cell_path"]) for m in told(router.outbox)] == [
        ("cell.down", "top!r1!z1"), ("cell.up", "top!r1!z1")]


def test_a_child_registered_after_the_first_look_is_only_remembered(
        index: LocationIndex) -> None:
    router = Router(index)
    router.children.look()
    asyncio.run(router.children.register(Registration("z3", "127.0.0.1:3", CellKind.LEAF)))
    router.reports("z3")
    router.children.look()
    assert told(router.outbox) == []
    router.silent("z3")
    router.children.look()
    assert [m["event_type"] for m in told(router.outbox)] == ["cell.down"]


def test_without_a_listener_liveness_tells_nothing(index: LocationIndex) -> None:
    identity = Identity("r1", "127.0.0.1:7000", "top!r1", CellKind.ROUTER)
    children = Children(index.engine, identity, DOWN_AFTER)
    asyncio.run(children.register(Registration("z1", "127.0.0.1:1", CellKind.LEAF)))
    children.look()
    found = children.get("z1")
    assert found is not None
    found.last_seen -= DOWN_AFTER + 1
    children.look()  # no listener: nothing to call, nothing fails
    assert Outbox(index, lambda: "top!r1").count() == 0


# ------------------------------------------------------- service objects

LB = PlaceSpec("req-vip-1", "vip-1", "loadbalancer", ("haproxy",), project="shop")


def objects(index: LocationIndex, bound: int = 100_000) -> tuple[ObjectStore, Outbox]:
    outbox = Outbox(index, lambda: "top!r1!z1", bound)
    return ObjectStore(index.engine, notices=ObjectNotices(outbox, lambda: "top!r1!z1")), outbox


def test_bound_moved_and_deleted_are_told_with_their_change(index: LocationIndex) -> None:
    store, outbox = objects(index)
    made = store.bind(LB, "lb-1")
    store.move(made.uuid, "lb-2")
    store.move(made.uuid, "lb-2")  # already there: no change, nothing told
    store.set_state("lb-2", made.uuid, ObjectState.ACTIVE, "")  # a state is no binding
    store.delete(made.uuid)
    store.delete(made.uuid)  # deleted already
    got = told(outbox)
    assert [m["event_type"] for m in got] == [
        "service_object.bound", "service_object.moved", "service_object.delete"]
    assert {m["payload"]["nova_object.name"] for m in got} == {"ServiceObjectPayload"}
    assert {m["publisher_id"] for m in got} == {"cellrouter-leaf:top!r1!z1"}
    assert data(got[0]) == {
        "uuid": made.uuid, "name": "vip-1", "kind": "loadbalancer", "tenant_id": "shop",
        "agent": "lb-1", "previous_agent": None, "state": "pending",
        "cell_path": "top!r1!z1", "request_id": "req-vip-1"}
    assert (data(got[1])["agent"], data(got[1])["previous_agent"]) == ("lb-2", "lb-1")
    assert (data(got[2])["agent"], data(got[2])["state"]) == ("lb-2", "deleted")


class FailingAfter(ObjectNotices):
    """Writes the event, then fails: as a change whose transaction fails after it."""

    def binding_changed(self, conn: Connection, change: BindingChange, obj: ServiceObject,
                        previous_agent: str = "") -> None:
        super().binding_changed(conn, change, obj, previous_agent)
        raise DatabaseUnavailable("service objects unavailable: the disk is full")


def test_a_binding_change_rolled_back_leaves_no_event(index: LocationIndex) -> None:
    outbox = Outbox(index, lambda: "top!r1!z1")
    store = ObjectStore(index.engine, notices=FailingAfter(outbox, lambda: "top!r1!z1"))
    with pytest.raises(DatabaseUnavailable):
        store.bind(LB, "lb-1")
    assert store.objects() == [] and outbox.batch(10) == []
    assert outbox.count() == 0


def test_an_event_that_fails_fails_its_change(index: LocationIndex) -> None:
    store, _ = objects(index)
    made = store.bind(LB, "lb-1")
    with index.engine.begin() as conn:  # the outbox is gone: its insert fails
        conn.exec_driver_sql("ALTER TABLE notify_outbox RENAME TO notify_outbox_away")
    with pytest.raises(DatabaseUnavailable):
        store.move(made.uuid, "lb-2")
    with index.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE notify_outbox_away RENAME TO notify_outbox")
    assert store.get(made.uuid).agent == "lb-1"  # the move rolled back with its event


def test_beyond_the_bound_the_change_commits_and_the_event_is_refused(
        index: LocationIndex) -> None:
    store, outbox = objects(index, bound=1)
    first = store.bind(LB, "lb-1")
    second = store.move(first.uuid, "lb-2")
    assert store.get(first.uuid).agent == second.agent == "lb-2"
    assert [m["event_type"] for m in told(outbox)] == ["service_object.bound"]
    assert outbox.stats().refused == 1


def test_without_notices_the_store_tells_nothing(index: LocationIndex) -> None:
    store = ObjectStore(index.engine)
    made = store.bind(LB, "lb-1")
    store.delete(made.uuid)
    assert Outbox(index, lambda: "p").count() == 0
