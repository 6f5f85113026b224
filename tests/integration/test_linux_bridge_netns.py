"""The linux_bridge driver for real, as root, inside a network namespace of
its own: a dummy `eth1` is the physical interface (physnet1:eth1); a VLAN port
gets a bridge and `eth1.100` enslaved to it, a flat port of another network a
bridge with `eth1` itself; unplugging takes them away. The namespace is
deleted afterwards.

The last test runs the agent as a process of a tree, with this driver in its
namespace: a flat port placed through the top is wired there and ACTIVE.

Skipped when not root, when `ip` is missing, or when the kernel cannot make
what is needed (network namespaces, bridges), unless CELLROUTER_REQUIRE_NETNS=1
(as in CI), where that is a failure. A kernel without 802.1Q skips the VLAN
test everywhere, with that reason (no package can add it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cellwire.agents import AgentsClient
from cellwire.client import CellClient
from model.agents import ObjectState, ServiceObject
from network.agent.linux_bridge import LinuxBridgeDriver
from network.agent.objects import PortWiring, port_object
from network.resources import FixedIp, Network, NetworkType, Port, PortStatus
from tests.integration.conftest import HEAD, eventually, start_tree

NET_VLAN, NET_FLAT = "aaaaaaaa-1111-4000-8000-000000000001", "bbbbbbbb-2222-4000-8000-000000000002"
BR_VLAN, BR_FLAT = "brqaaaaaaaa-11", "brqbbbbbbbb-22"
VLAN_PORT = PortWiring("port-v", NET_VLAN, "fa:16:3e:00:00:01", NetworkType.VLAN, 100,
                       "physnet1", "h1")
FLAT_PORT = PortWiring("port-f", NET_FLAT, "fa:16:3e:00:00:02", NetworkType.FLAT, None,
                       "physnet1", "h1")


def _unavailable(reason: str) -> None:
    if os.environ.get("CELLROUTER_REQUIRE_NETNS") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_NETNS=1)")
    pytest.skip(reason)


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                          check=False)


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace with `eth1` in it, deleted afterwards."""
    if os.geteuid() != 0:
        _unavailable("the linux_bridge driver test makes links: it runs as root only")
    if shutil.which("ip") is None:
        _unavailable("iproute2's `ip` is missing (Debian: apt-get install iproute2)")
    name = f"crtest-{uuid.uuid4().hex[:8]}"
    made = ip("netns", "add", name)
    if made.returncode != 0:
        _unavailable(f"cannot make a network namespace: {made.stderr.strip()}")
    try:
        _physical_interface(name)
        yield name
    finally:
        ip("netns", "delete", name)


def _physical_interface(ns: str) -> None:
    """`eth1`: a dummy interface; a veth pair's end where the kernel has no dummy
    driver (CONFIG_DUMMY), which serves as well."""
    if ip("-n", ns, "link", "add", "eth1", "type", "dummy").returncode != 0:
        made = ip("-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-peer")
        if made.returncode != 0:
            _unavailable(f"the kernel makes neither dummy nor veth links: {made.stderr.strip()}")


def _need_vlans(ns: str) -> None:
    """A kernel built without 802.1Q (CONFIG_VLAN_8021Q; the CI machines' is
    one) cannot make VLAN links at all, whatever is installed: the VLAN half is
    skipped there, saying so, even where namespaces are required; the flat half
    and the agent process in a namespace still run."""
    made = ip("-n", ns, "link", "add", "link", "eth1", "name", "probe.7", "type", "vlan",
              "id", "7")
    if made.returncode != 0:
        pytest.skip("the kernel has no 802.1Q VLAN links (CONFIG_VLAN_8021Q), and no"
                    f" package brings them: {made.stderr.strip()}")
    ip("-n", ns, "link", "del", "dev", "probe.7")


def links(ns: str) -> dict[str, dict[str, Any]]:
    shown = ip("-n", ns, "-j", "-d", "link", "show")
    assert shown.returncode == 0, shown.stderr
    return {link["ifname"]: link for link in json.loads(shown.stdout)}


def kind(link: dict[str, Any]) -> str:
    return str(link.get("linkinfo", {}).get("info_kind", ""))


def test_a_vlan_port_and_a_flat_port_get_their_bridges_and_lose_them(netns: str) -> None:
    _need_vlans(netns)
    driver = LinuxBridgeDriver({"physnet1": "eth1"}, netns)
    driver.plug(VLAN_PORT)
    driver.plug(FLAT_PORT)
    driver.plug(VLAN_PORT)  # again: nothing changes
    found = links(netns)
    assert kind(found[BR_VLAN]) == kind(found[BR_FLAT]) == "bridge"
    assert (kind(found["eth1.100"]), found["eth1.100"]["linkinfo"]["info_data"]["id"],
            found["eth1.100"].get("master")) == ("vlan", 100, BR_VLAN)
    assert found["eth1"].get("master") == BR_FLAT
    for name in (BR_VLAN, BR_FLAT, "eth1.100", "eth1"):
        assert "UP" in found[name]["flags"], name
    assert driver.wired() == {"port-v", "port-f"}
    assert BR_VLAN in ip("-n", netns, "link", "show").stdout  # as an operator sees it

    driver.unplug(VLAN_PORT)
    driver.unplug(FLAT_PORT)
    found = links(netns)
    assert not {BR_VLAN, BR_FLAT, "eth1.100"} & set(found)
    assert "eth1" in found and "master" not in found["eth1"]
    assert driver.wired() == set()


def test_a_flat_port_enslaves_the_physical_interface_until_its_last_port_goes(
        netns: str) -> None:
    driver = LinuxBridgeDriver({"physnet1": "eth1"}, netns)
    second = PortWiring("port-f2", NET_FLAT, "fa:16:3e:00:00:03", NetworkType.FLAT, None,
                        "physnet1", "h1")
    driver.plug(FLAT_PORT)
    driver.plug(second)
    found = links(netns)
    assert kind(found[BR_FLAT]) == "bridge" and "UP" in found[BR_FLAT]["flags"]
    assert found["eth1"].get("master") == BR_FLAT
    driver.unplug(FLAT_PORT)
    assert BR_FLAT in links(netns)  # port-f2 still needs it
    driver.unplug(second)
    assert BR_FLAT not in links(netns)
    assert "master" not in links(netns)["eth1"]


def test_the_agent_process_wires_a_flat_port_in_its_namespace(
        netns: str, tmp_path: Path) -> None:
    tree = start_tree(tmp_path, HEAD + f"""
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }}]

[[agents]]
cell = "z1"
id = "net-h1"
kind = "network"
host = "h1"
driver = "linux_bridge"
physical_interface_mappings = ["physnet1:eth1"]
netns = "{netns}"
""")
    network = Network(NET_FLAT, "flat", "p1", True, True, NetworkType.FLAT, None, "physnet1",
                      "ACTIVE", 0.0, 0.0)
    port = Port("f00dfeed-1111-4222-8333-000000000001", NET_FLAT, "", "p1",
                "fa:16:3e:00:00:09", (FixedIp("s1", "10.0.0.9"),), "vm-1", "compute:nova",
                "h1", PortStatus.DOWN, True, 0.0, 0.0)

    def call(what: Callable[[AgentsClient], Awaitable[ServiceObject]]) -> ServiceObject:
        async def run() -> ServiceObject:
            client = AgentsClient(tree.top_address)
            try:
                return await what(client)
            finally:
                await client.close()
        return asyncio.run(run())

    def offered() -> int:
        with CellClient(tree.top_address, timeout=10) as client:
            return dict(client.topology().capacity.agents).get("network/linux_bridge", 0)

    try:
        assert eventually(lambda: offered() == 1, timeout=30)
        placed = call(lambda c: c.place(port_object(port, network, "h1", "req-flat")))
        assert eventually(lambda: call(lambda c: c.get_object(placed.uuid)).state
                          is ObjectState.ACTIVE, timeout=30)
        assert links(netns)["eth1"].get("master") == BR_FLAT
        call(lambda c: c.delete_object(placed.uuid))
        assert eventually(lambda: BR_FLAT not in links(netns), timeout=30)
    finally:
        tree.stop()
