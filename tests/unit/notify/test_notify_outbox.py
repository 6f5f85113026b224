"""The outbox: an event commits with its change or not at all, rows leave in
order, and beyond its bound new events are refused and counted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from celldb.errors import DatabaseUnavailable
from notify.events import Event
from notify.outbox import Outbox
from routing.errors import Conflict
from routing.index import Location, LocationIndex


def event(n: int) -> Event:
    return Event("host.up", {"n": n}, uuid=f"u{n}")


def test_an_event_commits_with_its_change(opener: Callable[..., LocationIndex]) -> None:
    index = opener()
    outbox = Outbox(index, lambda: "top!z")
    with index.unit():
        index.record(Location("u1", "", "top!z", "h1", "p"))
        outbox.add(event(1))
    assert index.lookup_uncached("u1") is not None
    [row] = outbox.batch(10)
    inner = json.loads(row.message)
    assert inner["event_type"] == "host.up" and inner["message_id"] == row.message_id


def test_a_change_rolled_back_leaves_no_event(opener: Callable[..., LocationIndex]) -> None:
    index = opener()
    outbox = Outbox(index, lambda: "top!z")
    index.claim(Location("u1", "", "top!z", "h1", "p", request_id="r1", pending=True))
    with pytest.raises(Conflict), index.unit():
        outbox.add(event(1))  # written first, then the change fails
        index.claim(Location("u2", "", "top!z", "h1", "p", request_id="r1", pending=True))
    assert outbox.batch(10) == [] and outbox.count() == 0
    assert index.lookup_uncached("u2") is None
    with pytest.raises(RuntimeError), index.unit():
        index.set_state("u1", "ACTIVE")
        outbox.add(event(2))
        raise RuntimeError("the leaf failed before the commit")
    assert outbox.count() == 0
    assert index.lookup("u1").state == "BUILDING"  # type: ignore[union-attr]


def test_units_nest_and_batches_join_them(opener: Callable[..., LocationIndex]) -> None:
    index = opener()
    outbox = Outbox(index, lambda: "top!z")
    index.record(Location("u1", "", "top!z", "h1", "p"))
    with pytest.raises(RuntimeError), index.unit():
        with index.unit():
            index.apply([("u1", "PAUSED", "", "")])
            outbox.add(event(1))
        raise RuntimeError
    assert index.lookup_uncached("u1").state == "BUILDING"  # type: ignore[union-attr]
    assert outbox.count() == 0


def test_rows_leave_in_order_once_removed(opener: Callable[..., LocationIndex]) -> None:
    index = opener()
    outbox = Outbox(index, lambda: "top!z")
    for n in range(5):
        outbox.add(event(n))
    first = outbox.batch(3)
    assert [json.loads(r.message)["payload"]["n"] for r in first] == [0, 1, 2]
    outbox.remove([r.id for r in first])
    assert [json.loads(r.message)["payload"]["n"] for r in outbox.batch(10)] == [3, 4]
    assert outbox.stats().rows == 2 and outbox.stats().written == 5


def test_beyond_the_bound_new_events_are_refused_and_counted(
        opener: Callable[..., LocationIndex], caplog: pytest.LogCaptureFixture) -> None:
    index = opener()
    outbox = Outbox(index, lambda: "top!z", bound=3)
    assert outbox.add(*(event(n) for n in range(5))) == 3
    stats = outbox.stats()
    assert (stats.rows, stats.refused) == (3, 2)
    # The oldest are kept, in order: what is lost is the newest, and counted.
    assert [json.loads(r.message)["payload"]["n"] for r in outbox.batch(10)] == [0, 1, 2]
    assert "outbox full" in caplog.text and "u4" in caplog.text
    outbox.remove([r.id for r in outbox.batch(1)])
    assert outbox.add(event(9)) == 1


def test_a_lost_connection_inside_a_unit_fails_it(tmp_path: object) -> None:
    index = LocationIndex.open(f"sqlite:///{tmp_path}/i.db")
    try:
        with pytest.raises(DatabaseUnavailable), index.unit():
            index.statement("SELECT nothing FROM nowhere", ())
        with index.unit():  # the index works on afterwards
            index.record(Location("u1", "", "top!z", "h1", "p"))
        assert index.lookup_uncached("u1") is not None
    finally:
        index.close()
