"""How the network service is set up: the MAC base, and where tenant networks
(those made without provider attributes) go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from network.macs import DEFAULT_BASE, check_base
from network.resources import NetworkType

_KEYS = {"mac_base", "tenant_network_type", "physical_network", "vlan_min", "vlan_max"}


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    mac_base: str = DEFAULT_BASE
    tenant_network_type: NetworkType = NetworkType.VLAN
    physical_network: str = "physnet1"  # of tenant networks, and the default of providers'
    vlan_min: int = 1  # the VLANs tenant networks get, lowest free first
    vlan_max: int = 4094


def settings_of(table: Mapping[str, Any]) -> NetworkSettings:
    """Settings from a `[network]` table; ValueError naming what is wrong."""
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ValueError(f"unknown keys in [network]: {', '.join(unknown)}")
    made = NetworkSettings(
        mac_base=check_base(str(table.get("mac_base", DEFAULT_BASE))),
        tenant_network_type=NetworkType(str(table.get("tenant_network_type", "vlan"))),
        physical_network=str(table.get("physical_network", "physnet1")),
        vlan_min=int(table.get("vlan_min", 1)), vlan_max=int(table.get("vlan_max", 4094)))
    if not 1 <= made.vlan_min <= made.vlan_max <= 4094:
        raise ValueError("[network] vlan_min..vlan_max must lie within 1..4094")
    return made
