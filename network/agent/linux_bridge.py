"""A WiringDriver with Linux bridges, made by iproute2's `ip` as Neutron's
linuxbridge agent makes them:

    a bridge per network            brq + the network id's first 11 characters
    a vlan network's uplink         PHYS.VLAN, a VLAN sub-interface of the physical
                                    interface, enslaved to the bridge
    a flat network's uplink         the physical interface itself, enslaved

The physical interface of a segment is the one `physical_interface_mappings`
gives its physical network ("physnet1:eth1"). Everything is brought up; the
VM's tap device is libvirt's, put on the bridge when the domain starts. When
the last port of a network on this host goes, the bridge goes, and the VLAN
interface with it. Given a network namespace, every command runs in it
(`ip -n NS ...`): that is how the tests run it.

A failed command is WiringFailed naming the command and what `ip` said: the
one place this driver translates what is below it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from model.config import ConfigError
from network.agent.errors import WiringFailed
from network.agent.objects import PortWiring
from network.naming import MAX_NAME, vlan_interface_name
from network.resources import NetworkType

IP_TIMEOUT = 30.0  # seconds one `ip` command may take
Runner = Callable[[Sequence[str]], str]  # runs an argv, answers its output; WiringFailed


def physical_interface_mappings(entries: Iterable[str]) -> dict[str, str]:
    """"physnet1:eth1,physnet2:eth2" entries (each may hold several, comma
    separated) as {physical network: interface}; ConfigError for a bad one."""
    found: dict[str, str] = {}
    for entry in entries:
        for item in filter(None, (part.strip() for part in entry.split(","))):
            physnet, sep, interface = item.partition(":")
            if not sep or not physnet or not interface or len(interface) > MAX_NAME:
                raise ConfigError(f"a physical interface mapping is PHYSNET:INTERFACE (at most"
                                  f" {MAX_NAME} characters), not {item!r}")
            if physnet in found:
                raise ConfigError(f"physical network {physnet} is mapped twice")
            found[physnet] = interface
    return found


def run_ip(argv: Sequence[str]) -> str:
    """Run one `ip` command; its standard output, or WiringFailed."""
    shown = " ".join(argv)
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=IP_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WiringFailed(f"`{shown}`: {exc}") from exc
    if done.returncode != 0:
        raise WiringFailed(f"`{shown}`: {done.stderr.strip() or f'status {done.returncode}'}")
    return done.stdout


@dataclass(frozen=True, slots=True)
class _Link:
    up: bool
    master: str


class LinuxBridgeDriver:
    def __init__(self, mappings: Mapping[str, str], netns: str = "",
                 run: Runner = run_ip) -> None:
        self._mappings = dict(mappings)
        self._prefix = ["ip", "-n", netns] if netns else ["ip"]
        self._run = run
        self._ports: dict[str, PortWiring] = {}  # plugged here, by port id

    @property
    def name(self) -> str:
        return "linux_bridge"

    def plug(self, wiring: PortWiring) -> None:
        physical, uplink = self._interfaces(wiring)
        links = self._links()
        if physical not in links:
            raise WiringFailed(f"physical interface {physical} of {wiring.physical_network}"
                               " does not exist")
        bridge = wiring.bridge
        if bridge not in links:
            self._ip("link", "add", "name", bridge, "type", "bridge")
        if uplink not in links:
            self._ip("link", "add", "link", physical, "name", uplink, "type", "vlan", "id",
                     str(wiring.segmentation_id))
        if uplink not in links or links[uplink].master != bridge:
            self._ip("link", "set", "dev", uplink, "master", bridge)
        for name in dict.fromkeys((physical, uplink, bridge)):
            if name not in links or not links[name].up:
                self._ip("link", "set", "dev", name, "up")
        self._ports[wiring.port_id] = wiring

    def unplug(self, wiring: PortWiring) -> None:
        self._ports.pop(wiring.port_id, None)
        if any(p.network_id == wiring.network_id for p in self._ports.values()):
            return  # another port of the network still needs its links
        physical, uplink = self._interfaces(wiring)
        links = self._links()
        if wiring.bridge in links:
            self._ip("link", "del", "dev", wiring.bridge)  # which releases the uplink
        if uplink != physical and uplink in links:
            self._ip("link", "del", "dev", uplink)

    def wired(self) -> set[str]:
        links = self._links()

        def up(name: str) -> bool:
            return name in links and links[name].up

        return {port_id for port_id, wiring in self._ports.items()
                if up(wiring.bridge) and up(self._interfaces(wiring)[1])}

    def _interfaces(self, wiring: PortWiring) -> tuple[str, str]:
        """The physical interface of the port's segment, and its uplink to the bridge."""
        physical = self._mappings.get(wiring.physical_network)
        if physical is None:
            raise WiringFailed(f"no physical interface is mapped for physical network"
                               f" {wiring.physical_network}")
        if wiring.network_type is NetworkType.FLAT or wiring.segmentation_id is None:
            return physical, physical
        return physical, vlan_interface_name(physical, wiring.segmentation_id)

    def _links(self) -> dict[str, _Link]:
        """The interfaces there are, by name."""
        text = self._ip("-j", "link", "show")
        try:
            found = json.loads(text or "[]")
            return {link["ifname"]: _Link("UP" in link.get("flags", ()), link.get("master", ""))
                    for link in found}
        except (ValueError, TypeError, KeyError) as exc:
            raise WiringFailed(f"`ip -j link show` answered what is not its JSON: {exc}") from exc

    def _ip(self, *args: str) -> str:
        return self._run([*self._prefix, *args])
