"""The network agent as a process of a real tree (`[[agents]]` kind "network",
started by the runner as `cellrouter network-agent` with the recording driver):
a port placed through the top as an object of kind "network" reaches the
agent of its host, which wires it and reports it ACTIVE; a port it cannot
wire is reported ERROR with the reason; a restarted agent keeps its ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from cellops.tree import TreeRunner
from cellwire.agents import AgentsClient
from cellwire.client import CellClient
from model.agents import ObjectState, PlaceSpec, ServiceObject
from network.agent.objects import KIND, port_object
from network.resources import FixedIp, Network, NetworkType, Port, PortStatus
from tests.integration.conftest import HEAD, eventually, start_tree

TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]

[[agents]]
cell = "z1"
id = "net-h1"
kind = "network"
host = "h1"
driver = "recording"
physical_interface_mappings = ["physnet1:eth1"]
"""
T = TypeVar("T")
NETWORK = Network("6d3f1a2b-9c8e-4f00-a1b2-c3d4e5f60718", "n1", "p1", False, True,
                  NetworkType.VLAN, 100, "physnet1", "ACTIVE", 0.0, 0.0)


def a_port(n: int) -> Port:
    return Port(f"f00dfeed-1111-4222-8333-{n:012d}", NETWORK.id, "", "p1",
                f"fa:16:3e:00:00:{n:02x}", (FixedIp("s1", f"10.0.0.{n}"),), "vm-1",
                "compute:nova", "h1", PortStatus.DOWN, True, 0.0, 0.0)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("network-agent"), TREE)
    yield runner
    runner.stop()


def through_top(tree: TreeRunner, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
    return ask(tree.top_address, what)


def ask(address: str, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
    async def run() -> T:
        client = AgentsClient(address)
        try:
            return await what(client)
        finally:
            await client.close()
    return asyncio.run(run())


def state_of(tree: TreeRunner, uuid: str) -> ServiceObject:
    return through_top(tree, lambda c: c.get_object(uuid))


def held_ports(tree: TreeRunner) -> set[str]:
    ports = tree.state_dir / "agents" / "net-h1" / "ports"
    return {json.loads(p.read_text())["port_id"] for p in ports.glob("*.json")}


def test_a_port_placed_through_the_top_is_wired_and_active(tree: TreeRunner) -> None:
    def offered() -> int:
        with CellClient(tree.top_address, timeout=10) as client:
            return dict(client.topology().capacity.agents).get("network/recording", 0)

    assert eventually(lambda: offered() == 1, timeout=30)
    placed = through_top(tree, lambda c: c.place(port_object(a_port(1), NETWORK, "h1", "r-1")))
    assert (placed.agent, placed.cell_path, placed.spec.kind) == ("net-h1", "top!r1!z1", KIND)
    assert eventually(lambda: state_of(tree, placed.uuid).state is ObjectState.ACTIVE,
                      timeout=30)
    assert held_ports(tree) == {a_port(1).id}

    through_top(tree, lambda c: c.delete_object(placed.uuid))
    assert eventually(lambda: held_ports(tree) == set(), timeout=30)


def test_a_port_it_cannot_wire_is_error_with_the_reason(tree: TreeRunner) -> None:
    hints = {**dict(port_object(a_port(2), NETWORK, "h1", "r-2").hints), "network_type": "gre"}
    spec = PlaceSpec("r-2", "port-bad", KIND, (), tuple(sorted(hints.items())), "p1")
    placed = through_top(tree, lambda c: c.place(spec))
    assert eventually(lambda: state_of(tree, placed.uuid).state is ObjectState.ERROR,
                      timeout=30)
    assert "network_type must be flat or vlan" in state_of(tree, placed.uuid).fault
    through_top(tree, lambda c: c.delete_object(placed.uuid))


def test_a_restarted_agent_keeps_its_ports(tree: TreeRunner) -> None:
    placed = through_top(tree, lambda c: c.place(port_object(a_port(3), NETWORK, "h1", "r-3")))
    assert eventually(lambda: state_of(tree, placed.uuid).state is ObjectState.ACTIVE,
                      timeout=30)
    proc = tree.agent_procs["net-h1"]
    proc.kill()
    proc.wait()
    (agent,) = (a for a in tree.spec.agents if a.id == "net-h1")
    tree.start_agent(agent)
    revision = tree.state_dir / "agents" / "net-h1" / "revision"
    before = revision.read_text()
    more = through_top(tree, lambda c: c.place(port_object(a_port(4), NETWORK, "h1", "r-4")))
    assert eventually(lambda: state_of(tree, more.uuid).state is ObjectState.ACTIVE, timeout=30)
    assert held_ports(tree) == {a_port(3).id, a_port(4).id}
    assert int(revision.read_text()) > int(before)
    assert state_of(tree, placed.uuid).state is ObjectState.ACTIVE

    async def loads(client: AgentsClient) -> dict[str, int]:
        return {a.id: a.report.load for a, _ in await client.agents("network")}

    # Both ports, as the leaf hears the restarted agent say.
    assert eventually(lambda: ask(tree.addresses["z1"], loads) == {"net-h1": 2}, timeout=30)
