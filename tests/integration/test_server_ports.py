"""Servers on ports of the network service, through a tree of cell processes
with its API, as users drive them: the `openstack` CLI and openstacksdk.

A network, a subnet and a port made with the CLI; a server booted on the port
(`--nic port-id=`) and one on the network by name (`--network NAME`, a port
made for it); the ports bound to their servers and hosts; a bound port
refused to a second server; deleting the servers deletes the port made for
one and unbinds the user's; another project's network is not there for a
member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cellops.tree import TreeRunner
from cellwire.agents import AgentsClient
from model.agents import ObjectState
from tests.integration.conftest import eventually
from tests.integration.openstack_tree import (
    API_TREE,
    IMAGE_ID,
    cli,
    cli_json,
    sdk,
    start_api_tree,
)

# A network agent per host, each wiring the ports of its host (recording driver).
AGENTS = "".join(f"""
[[agents]]
cell = "{cell}"
id = "net-{host}"
kind = "network"
host = "{host}"
""" for cell, host in (("z1", "h1"), ("z1", "h2"), ("z2", "h3"), ("z3", "h4")))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    # "huge" fits no host: its boots are refused by the tree, after the ports are bound.
    text = API_TREE.replace("[flavors]\n", "[flavors]\nhuge = { vcpus = 64, memory_mb = 2048,"
                            " disk_gb = 10 }\n") + AGENTS
    runner = start_api_tree(tmp_path_factory.mktemp("ports"), text)
    try:
        yield runner
    finally:
        runner.stop()


def wired(tree: TreeRunner) -> set[str]:
    """The ports the tree's network agents hold, as service objects."""
    async def ask() -> set[str]:
        client = AgentsClient(tree.top_address)
        try:
            return {dict(o.spec.hints)["port_id"] for o in await client.objects(kind="network")
                    if o.state is not ObjectState.DELETED}
        finally:
            await client.close()
    return asyncio.run(ask())


def _server(tree: TreeRunner, name: str, *nic: str, user: str = "alice") -> dict[str, Any]:
    made: dict[str, Any] = cli_json(tree, "server", "create", "--flavor", "small", "--image",
                                    IMAGE_ID, *nic, "--wait", name, user=user)
    return made


def test_servers_on_a_port_and_on_a_network_by_name(tree: TreeRunner) -> None:
    network = cli_json(tree, "network", "create", "web", user="alice")
    cli_json(tree, "subnet", "create", "--network", "web", "--subnet-range", "192.168.7.0/24",
             "web-v4", user="alice")
    port = cli_json(tree, "port", "create", "--network", "web", "front", user="alice")
    on_port = _server(tree, "on-port", "--nic", f"port-id={port['id']}")
    on_network = _server(tree, "on-network", "--network", "web")

    bound = cli_json(tree, "port", "show", port["id"], user="alice")
    assert bound["device_id"] == on_port["id"] and bound["device_owner"] == "compute:nova"
    # The agent of the server's host wires it and says so: the port turns ACTIVE.
    assert eventually(lambda: cli_json(tree, "port", "show", port["id"],
                                       user="alice")["status"] == "ACTIVE")
    address = port["fixed_ips"][0]["ip_address"]
    shown = sdk(tree, "alice").compute.get_server(on_port["id"])
    assert [a["addr"] for a in shown.addresses["web"]] == [address]
    made = [p for p in cli_json(tree, "port", "list", "--network", "web", "--long",
                                user="alice") if p["ID"] != port["id"]]
    assert len(made) == 1
    admin_view = cli_json(tree, "port", "show", made[0]["ID"])
    assert admin_view["device_id"] == on_network["id"]
    assert admin_view["binding_host_id"] == sdk(tree).compute.get_server(
        on_network["id"]).hypervisor_hostname

    taken = cli(tree, "server", "create", "--flavor", "small", "--image", IMAGE_ID, "--nic",
                f"port-id={port['id']}", "thief", user="alice", check=False)
    assert taken.returncode != 0 and "in use" in taken.stderr

    assert eventually(lambda: {port["id"], made[0]["ID"]} <= wired(tree))
    cli(tree, "server", "delete", "--wait", on_port["id"], on_network["id"], user="alice")
    assert not {port["id"], made[0]["ID"]} & wired(tree)  # taken from their agents
    free = cli_json(tree, "port", "show", port["id"], user="alice")
    assert (free["device_id"], free["status"]) == ("", "DOWN")
    assert eventually(lambda: [p["ID"] for p in cli_json(
        tree, "port", "list", "--network", "web", user="alice")] == [port["id"]])
    cli(tree, "port", "delete", port["id"], user="alice")
    cli(tree, "network", "delete", network["id"], user="alice")


def test_a_member_cannot_boot_on_another_projects_network(tree: TreeRunner) -> None:
    theirs = cli_json(tree, "network", "create", "lab-only", user="bob")
    cli_json(tree, "subnet", "create", "--network", "lab-only", "--subnet-range",
             "192.168.9.0/24", "lab-v4", user="bob")
    refused = cli(tree, "server", "create", "--flavor", "small", "--image", IMAGE_ID, "--nic",
                  f"net-id={theirs['id']}", "sneaky", user="alice", check=False)
    assert refused.returncode != 0
    assert [p for p in cli_json(tree, "port", "list", user="bob")] == []
    cli(tree, "network", "delete", theirs["id"], user="bob")


def test_a_boot_refused_by_the_tree_lets_its_ports_go(tree: TreeRunner) -> None:
    cli_json(tree, "network", "create", "big", user="alice")
    cli_json(tree, "subnet", "create", "--network", "big", "--subnet-range", "192.168.8.0/24",
             "big-v4", user="alice")
    too_big = cli(tree, "server", "create", "--flavor", "huge", "--image", IMAGE_ID,
                  "--network", "big", "giant", user="alice", check=False)
    assert too_big.returncode != 0
    assert cli_json(tree, "port", "list", "--network", "big", user="alice") == []
