"""Every WiringDriver keeps the contract (one test class over each driver);
the linux_bridge driver's commands, against a fake `ip` that keeps links the
way the kernel does."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from model.config import ConfigError
from network.agent.driver import WiringDriver
from network.agent.errors import WiringFailed
from network.agent.linux_bridge import (
    LinuxBridgeDriver,
    physical_interface_mappings,
    run_ip,
)
from network.agent.objects import PortWiring
from network.agent.recording import RecordingDriver
from network.resources import NetworkType

NET_A, NET_B = "aaaaaaaa-1111-4000-8000-000000000001", "bbbbbbbb-2222-4000-8000-000000000002"
VLAN_1 = PortWiring("port-1", NET_A, "fa:16:3e:00:00:01", NetworkType.VLAN, 100, "physnet1",
                    "h1")
VLAN_2 = PortWiring("port-2", NET_A, "fa:16:3e:00:00:02", NetworkType.VLAN, 100, "physnet1",
                    "h1")
FLAT = PortWiring("port-3", NET_B, "fa:16:3e:00:00:03", NetworkType.FLAT, None, "physnet2",
                  "h1")
MAPPINGS = {"physnet1": "eth1", "physnet2": "eth2"}


@dataclass
class Link:
    kind: str
    up: bool = False
    master: str = ""


@dataclass
class FakeIp:
    """`ip` over links in memory, as the kernel keeps them: a bridge deleted
    frees its members; adding a link that is there fails. `refuse` names link
    types the kernel lacks."""

    links: dict[str, Link] = field(default_factory=lambda: {"eth1": Link("veth"),
                                                            "eth2": Link("veth")})
    commands: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def __call__(self, argv: Sequence[str]) -> str:
        args = list(argv[3:] if argv[1] == "-n" else argv[1:])
        if args == ["-j", "link", "show"]:
            return json.dumps([{"ifname": name, "flags": ["UP"] if link.up else [],
                                **({"master": link.master} if link.master else {})}
                               for name, link in self.links.items()])
        self.commands.append(" ".join(args))
        match args:
            case ["link", "add", "name", name, "type", kind]:
                self._add(name, kind)
            case ["link", "add", "link", parent, "name", name, "type", "vlan", "id", _]:
                self._need(parent)
                self._add(name, "vlan")
            case ["link", "set", "dev", name, "master", bridge]:
                assert self._need(bridge).kind == "bridge"
                self._need(name).master = bridge
            case ["link", "set", "dev", name, "up"]:
                self._need(name).up = True
            case ["link", "del", "dev", name]:
                self._need(name)
                del self.links[name]
                for link in self.links.values():
                    link.master = "" if link.master == name else link.master
            case _:
                raise AssertionError(f"unexpected ip command {args}")
        return ""

    def _add(self, name: str, kind: str) -> None:
        if kind in self.refuse:
            raise WiringFailed("Error: Unknown device type.")
        if name in self.links:
            raise WiringFailed("RTNETLINK answers: File exists")
        self.links[name] = Link(kind)

    def _need(self, name: str) -> Link:
        if name not in self.links:
            raise WiringFailed(f'Cannot find device "{name}"')
        return self.links[name]


DRIVERS: dict[str, Callable[[], WiringDriver]] = {
    "recording": RecordingDriver,
    "linux_bridge": lambda: LinuxBridgeDriver(MAPPINGS, "ns1", run=FakeIp()),
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> WiringDriver:
    return DRIVERS[request.param]()


class TestEveryDriver:
    def test_a_plugged_port_is_wired_and_plugging_again_changes_nothing(
            self, driver: WiringDriver) -> None:
        driver.plug(VLAN_1)
        driver.plug(VLAN_1)
        driver.plug(FLAT)
        assert driver.wired() == {"port-1", "port-3"}

    def test_an_unplugged_port_is_not_wired_and_others_stay(self, driver: WiringDriver) -> None:
        for wiring in (VLAN_1, VLAN_2, FLAT):
            driver.plug(wiring)
        driver.unplug(VLAN_1)
        driver.unplug(VLAN_1)
        assert driver.wired() == {"port-2", "port-3"}

    def test_unplugging_what_was_never_plugged_is_no_failure(self, driver: WiringDriver) -> None:
        driver.unplug(FLAT)
        assert driver.wired() == set()

    def test_it_has_a_name_to_offer(self, driver: WiringDriver) -> None:
        assert driver.name in DRIVERS


def test_a_vlan_port_gets_a_bridge_and_an_enslaved_vlan_interface() -> None:
    ip = FakeIp()
    driver = LinuxBridgeDriver(MAPPINGS, run=ip)
    driver.plug(VLAN_1)
    assert ip.commands == ["link add name brqaaaaaaaa-11 type bridge",
                           "link add link eth1 name eth1.100 type vlan id 100",
                           "link set dev eth1.100 master brqaaaaaaaa-11",
                           "link set dev eth1 up", "link set dev eth1.100 up",
                           "link set dev brqaaaaaaaa-11 up"]
    driver.plug(VLAN_2)  # the same network: nothing to do
    assert len(ip.commands) == 6


def test_a_flat_port_enslaves_the_physical_interface() -> None:
    ip = FakeIp()
    LinuxBridgeDriver(MAPPINGS, run=ip).plug(FLAT)
    assert ip.links["eth2"] == Link("veth", up=True, master="brqbbbbbbbb-22")
    assert ip.links["brqbbbbbbbb-22"].up


def test_the_last_port_of_a_network_takes_its_bridge_and_vlan_interface() -> None:
    ip = FakeIp()
    driver = LinuxBridgeDriver(MAPPINGS, run=ip)
    for wiring in (VLAN_1, VLAN_2, FLAT):
        driver.plug(wiring)
    driver.unplug(VLAN_1)
    assert {"brqaaaaaaaa-11", "eth1.100"} <= set(ip.links)
    driver.unplug(VLAN_2)
    driver.unplug(FLAT)
    assert set(ip.links) == {"eth1", "eth2"}  # the physical interfaces stay
    assert ip.links["eth2"].master == ""


def test_a_lost_bridge_is_made_again_by_plugging_again() -> None:
    ip = FakeIp()
    driver = LinuxBridgeDriver(MAPPINGS, run=ip)
    driver.plug(VLAN_1)
    del ip.links["brqaaaaaaaa-11"]  # an operator, or a reboot
    ip.links["eth1.100"].master = ""
    assert driver.wired() == set()
    driver.plug(VLAN_1)
    assert driver.wired() == {"port-1"}
    assert ip.links["eth1.100"].master == "brqaaaaaaaa-11"


@pytest.mark.parametrize(("mappings", "ip", "says"), [
    ({}, FakeIp(), "no physical interface is mapped for physical network physnet1"),
    ({"physnet1": "eth9"}, FakeIp(), "physical interface eth9 of physnet1 does not exist"),
    (MAPPINGS, FakeIp(refuse={"vlan"}), "Unknown device type"),
], ids=["unmapped", "no-interface", "no-vlan-support"])
def test_what_cannot_be_wired_fails_with_the_reason(
        mappings: dict[str, str], ip: FakeIp, says: str) -> None:
    with pytest.raises(WiringFailed, match=says):
        LinuxBridgeDriver(mappings, run=ip).plug(VLAN_1)


def test_a_failing_command_names_itself() -> None:
    with pytest.raises(WiringFailed, match="`ip link show dev nosuchlink0`"):
        run_ip(["ip", "link", "show", "dev", "nosuchlink0"])
    with pytest.raises(WiringFailed, match="no-such-ip-binary"):
        run_ip(["no-such-ip-binary"])


@pytest.mark.parametrize(("entries", "found"), [
    (["physnet1:eth1"], {"physnet1": "eth1"}),
    (["physnet1:eth1,physnet2:bond0", "physnet3:eth3"],
     {"physnet1": "eth1", "physnet2": "bond0", "physnet3": "eth3"}),
    ([], {}),
], ids=["one", "several", "none"])
def test_physical_interface_mappings_read_as_neutron_writes_them(
        entries: list[str], found: dict[str, str]) -> None:
    assert physical_interface_mappings(entries) == found


@pytest.mark.parametrize("entries", [["physnet1"], ["physnet1:eth1,physnet1:eth2"],
                                     [":eth1"], ["physnet1:" + "x" * 16]],
                         ids=["no-colon", "twice", "no-physnet", "too-long"])
def test_bad_mappings_are_a_configuration_error(entries: list[str]) -> None:
    with pytest.raises(ConfigError):
        physical_interface_mappings(entries)
