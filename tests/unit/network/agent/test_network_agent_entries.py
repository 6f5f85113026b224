"""A tree file's `[[agents]]` entry of kind "network" becomes a
`cellrouter network-agent` process with its driver's options; the command
line parses as the runner writes it."""

from __future__ import annotations

from typing import Any

import pytest

from cellops.agent_processes import agents_of
from cellops.cli import _parser
from model.config import ConfigError

NETWORK = {"cell": "z1", "id": "net-1", "kind": "network", "host": "h1",
           "driver": "linux_bridge", "physical_interface_mappings": ["physnet1:eth1"],
           "netns": "ns1"}


def test_a_network_entry_carries_its_agents_options() -> None:
    (spec,) = agents_of([NETWORK], {"z1"}, "tree.toml")
    assert spec.network == ("--host", "h1", "--driver", "linux_bridge", "--netns", "ns1",
                            "--physical-interface-mappings", "physnet1:eth1")
    args = _parser().parse_args(["network-agent", "--cell", "127.0.0.1:1", "--state-dir", "d",
                                 "--id", "net-1", *spec.network])
    assert (args.host, args.driver, args.mappings, args.netns) == (
        "h1", "linux_bridge", ["physnet1:eth1"], "ns1")


def test_the_defaults_are_the_recording_driver_on_a_host_named_as_the_agent() -> None:
    (spec,) = agents_of([{"cell": "z1", "id": "net-1", "kind": "network"}], {"z1"}, "t")
    assert spec.network == ("--host", "net-1", "--driver", "recording", "--netns", "")


@pytest.mark.parametrize(("entry", "says"), [
    ({"cell": "z1", "id": "lb-1", "kind": "loadbalancer", "driver": "x"}, "unknown keys"),
    ({**NETWORK, "physical_interface_mappings": "physnet1:eth1"}, "must be strings"),
    ({**NETWORK, "capabilities": ["linux_bridge"]}, "offers its driver"),
], ids=["network-key-elsewhere", "mappings-not-a-list", "capabilities"])
def test_bad_entries_are_configuration_errors(entry: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        agents_of([entry], {"z1"}, "tree.toml")


def test_other_agents_are_unchanged() -> None:
    (spec,) = agents_of([{"cell": "z1", "id": "lb-1", "kind": "loadbalancer",
                          "capabilities": ["haproxy"]}], {"z1"}, "t")
    assert (spec.capabilities, spec.network) == (("haproxy",), ())
