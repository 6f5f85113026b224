"""A router's and a leaf's own events on a real RabbitMQ, read by a plain AMQP
consumer (tests.integration.amqp_consumer), from a tree run under
`cellrouter up` with notifications on: a leaf SIGKILLed is told down by its
router (cell.down), and up again once `up` has started it again (cell.up); a service object placed,
moved and deleted at a leaf is told so (service_object.bound, .moved,
.delete), each event valid against the schema."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import Iterator

import pytest

from cellwire.agents import AgentsClient
from cellwire.client import CellClient
from model.agents import AgentReport, PlaceSpec, ServiceObject
from tests.integration.amqp_consumer import VALIDATOR, Consumer, Received, require_amqp
from tests.integration.conftest import HEAD, eventually, seen_down
from tests.integration.up_tree import Up, run_up, wait_until


def tree_text(exchange: str) -> str:
    return HEAD + f"""
[notifications]
enabled = true
url = "amqp://guest:guest@127.0.0.1:5672/"
exchange = "{exchange}"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h2", vcpus = 8, memory_mb = 16384, disk_gb = 100 }}]
"""


class Bus:
    """The tree under `cellrouter up`, and a consumer of its exchange (one of
    the test's own)."""

    def __init__(self, up: Up, consumer: Consumer) -> None:
        self.up, self.consumer = up, consumer

    def cell_events(self, path: str) -> list[Received]:
        return [r for r in self.consumer.all()
                if r.event_type.startswith("cell.") and r.data["cell_path"] == path]


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bus]:
    require_amqp()
    exchange = f"nova-own-{uuidlib.uuid4().hex[:12]}"
    consumer = Consumer(exchange)
    try:
        with run_up(tmp_path_factory.mktemp("own-events"), tree_text(exchange)) as up:
            yield Bus(up, consumer)
    finally:
        consumer.close(delete_exchange=True)


def test_a_leaf_killed_is_told_down_by_its_router_and_up_once_restarted(bus: Bus) -> None:
    """z2 SIGKILLed under `cellrouter up`: r1 counts it down (it cannot tell of
    itself), `up` starts it again, and r1 counts it up. So that the down is
    seen however fast `up` restarts it, z2's config is held aside until then
    (its restarts fail, and `up` tries again): paced by progress, not time."""
    up = bus.up
    config = up.state / "z2" / "cell.toml"
    held = config.with_suffix(".held")
    with CellClient(up.top, timeout=10) as top:
        config.rename(held)
        try:
            old = up.kill("cell z2")
            wait_until(lambda: seen_down(top, "top!r1!z2"), "r1 to count z2 down", up)
            wait_until(lambda: len(bus.cell_events("top!r1!z2")) >= 1, "cell.down", up)
        finally:
            held.rename(config)
        wait_until(lambda: up.back("cell z2", old), "up to start z2 again", up)
        wait_until(lambda: not seen_down(top, "top!r1!z2"), "r1 to count z2 up", up)
        wait_until(lambda: len(bus.cell_events("top!r1!z2")) >= 2, "cell.up", up)
    eventually(lambda: False, timeout=0.5)  # a moment for anything extra
    got = bus.cell_events("top!r1!z2")
    assert [r.event_type for r in got] == ["cell.down", "cell.up"]
    assert [r.data for r in got] == [
        {"cell_path": "top!r1!z2", "up": False, "router_path": "top!r1"},
        {"cell_path": "top!r1!z2", "up": True, "router_path": "top!r1"}]
    for received in got:
        VALIDATOR.validate(received.inner)
        assert received.inner["publisher_id"] == "cellrouter-router:top!r1"
        assert received.message_id == received.inner["message_id"]
    assert bus.cell_events("top!r1!z1") == []  # the other leaf stayed up: nothing told


def test_a_service_object_placed_moved_and_deleted_is_told_so(bus: Bus) -> None:
    async def lifecycle() -> ServiceObject:
        client = AgentsClient(bus.up.listen("z1"))
        try:
            for agent in ("lb-1", "lb-2"):
                await client.report(AgentReport(agent, f"host-{agent}", "loadbalancer",
                                                ("haproxy",)))
            placed = await client.place(PlaceSpec(f"req-{uuidlib.uuid4().hex[:8]}", "vip-1",
                                                  "loadbalancer", ("haproxy",), project="shop"))
            other = "lb-2" if placed.agent == "lb-1" else "lb-1"
            await client.bind(placed.uuid, other)
            await client.delete_object(placed.uuid)
            return placed
        finally:
            await client.close()

    placed = asyncio.run(lifecycle())
    assert eventually(lambda: len(bus.consumer.of(placed.uuid)) >= 3)
    got = bus.consumer.of(placed.uuid)
    assert [r.event_type for r in got] == [
        "service_object.bound", "service_object.moved", "service_object.delete"]
    for received in got:
        VALIDATOR.validate(received.inner)
        assert received.inner["publisher_id"] == "cellrouter-leaf:top!r1!z1"
    bound, moved, _ = (r.data for r in got)
    assert (bound["agent"], bound["previous_agent"], bound["tenant_id"], bound["name"],
            bound["cell_path"], bound["state"]) == (
        placed.agent, None, "shop", "vip-1", "top!r1!z1", "pending")
    assert moved["previous_agent"] == placed.agent and moved["agent"] != placed.agent
