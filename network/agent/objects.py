"""The object contract between the network service and its agents: a port to
wire on a host is a service object of kind "network" whose hints say

    port_id, network_id, mac      the port
    network_type                  flat | vlan
    segmentation_id               the VLAN id (1-4094), "" for flat
    physical_network              the provider network it is on ("physnet1")
    host                          the host to wire it on (the placement's
                                  `host` hint: only that host's agent takes it)

`port_object` makes the placement from the network room's resources;
`wiring_of` reads an object back, answering MalformedPort (a value) for hints
that do not describe a port.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from model.agents import PlaceSpec, ServiceObject
from network.agent.errors import MalformedPort
from network.naming import bridge_name
from network.resources import Network, NetworkType, Port

KIND = "network"
HINTS = ("port_id", "network_id", "mac", "network_type", "segmentation_id",
         "physical_network", "host")
MAX_VLAN = 4094
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,254}")  # safe inside an interface name
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
_VLAN = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True, slots=True)
class PortWiring:
    """What a driver needs to wire one port on its host."""

    port_id: str
    network_id: str
    mac: str
    network_type: NetworkType
    segmentation_id: int | None  # the VLAN; None for flat
    physical_network: str
    host: str

    @property
    def bridge(self) -> str:
        return bridge_name(self.network_id)


def port_object(port: Port, network: Network, host: str, request_id: str) -> PlaceSpec:
    """The placement that has `port` wired on `host` by that host's network agent."""
    segment = "" if network.segmentation_id is None else str(network.segmentation_id)
    hints = {"port_id": port.id, "network_id": network.id, "mac": port.mac_address,
             "network_type": network.type.value, "segmentation_id": segment,
             "physical_network": network.physical_network, "host": host}
    return PlaceSpec(request_id, f"port-{port.id}", KIND, (), tuple(sorted(hints.items())),
                     port.project)


def wiring_of(obj: ServiceObject) -> PortWiring | MalformedPort:
    """The port an object asks to wire, or why it does not describe one."""
    if obj.spec.kind != KIND:
        return MalformedPort(f"object {obj.uuid} is of kind {obj.spec.kind!r}, not {KIND!r}")
    hints = dict(obj.spec.hints)
    missing = [key for key in HINTS if key not in hints]
    if missing:
        return MalformedPort(f"object {obj.uuid}: hints missing: {', '.join(missing)}")
    return _checked(obj.uuid, hints)


def _checked(uuid: str, hints: Mapping[str, str]) -> PortWiring | MalformedPort:
    for key in ("port_id", "network_id"):
        if not _ID.fullmatch(hints[key]):
            return MalformedPort(f"object {uuid}: bad {key} {hints[key][:40]!r}")
    if not _MAC.fullmatch(hints["mac"]):
        return MalformedPort(f"object {uuid}: bad mac {hints['mac'][:40]!r}")
    if not hints["physical_network"] or not hints["host"]:
        return MalformedPort(f"object {uuid}: physical_network and host must be given")
    try:
        network_type = NetworkType(hints["network_type"])
    except ValueError:
        return MalformedPort(f"object {uuid}: network_type must be flat or vlan,"
                             f" not {hints['network_type'][:40]!r}")
    segment = _segment(network_type, hints["segmentation_id"])
    if isinstance(segment, MalformedPort):
        return MalformedPort(f"object {uuid}: {segment.reason}")
    return PortWiring(hints["port_id"], hints["network_id"], hints["mac"].lower(), network_type,
                      segment, hints["physical_network"], hints["host"])


def _segment(network_type: NetworkType, text: str) -> int | MalformedPort | None:
    """The VLAN id of a segment, None for flat; or why `text` is none."""
    if network_type is NetworkType.FLAT:
        if text:
            return MalformedPort(f"a flat network has no segmentation_id, got {text[:40]!r}")
        return None
    if not _VLAN.fullmatch(text) or not 1 <= int(text) <= MAX_VLAN:
        return MalformedPort(f"a vlan network's segmentation_id is 1 to {MAX_VLAN},"
                             f" not {text[:40]!r}")
    return int(text)
