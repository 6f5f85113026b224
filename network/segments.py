"""Type drivers: each network type owns what a segment of it may be (Neutron
ML2's seam). A segment is (type, physical network, segmentation id); the
networks table's unique (physical network, segmentation id) keeps two networks
off one segment, a flat one counting as id 0."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Protocol

from network.errors import SegmentInUse, invalid
from network.resources import NetworkType
from network.settings import NetworkSettings

FLAT_ID = 0


@dataclass(frozen=True, slots=True)
class Segment:
    type: NetworkType
    physical_network: str
    segmentation_id: int  # FLAT_ID for flat


class TypeDriver(Protocol):
    type: NetworkType

    def provider(self, physical_network: str, segmentation_id: int | None) -> Segment:
        """The segment an admin asked for; InvalidInput when it cannot be one of
        this type. Whether it is free is the table's to say."""

    def tenant(self, physical_network: str, taken: Set[int]) -> Segment | None:
        """A free segment on `physical_network` (`taken`: its ids in use), or None."""


class FlatTypeDriver:
    type = NetworkType.FLAT

    def provider(self, physical_network: str, segmentation_id: int | None) -> Segment:
        if segmentation_id is not None:
            raise invalid("segmentation_id specified for flat provider network")
        return Segment(self.type, physical_network, FLAT_ID)

    def tenant(self, physical_network: str, taken: Set[int]) -> Segment | None:
        return None if FLAT_ID in taken else Segment(self.type, physical_network, FLAT_ID)


class VlanTypeDriver:
    type = NetworkType.VLAN

    def __init__(self, lowest: int = 1, highest: int = 4094) -> None:
        self.lowest, self.highest = lowest, highest

    def provider(self, physical_network: str, segmentation_id: int | None) -> Segment:
        if segmentation_id is None:
            raise invalid("segmentation_id required for VLAN provider network")
        if not 1 <= segmentation_id <= 4094:
            raise invalid(f"segmentation_id out of range (1 through 4094): {segmentation_id}")
        return Segment(self.type, physical_network, segmentation_id)

    def tenant(self, physical_network: str, taken: Set[int]) -> Segment | None:
        for vlan in range(self.lowest, self.highest + 1):
            if vlan not in taken:
                return Segment(self.type, physical_network, vlan)
        return None


def type_drivers(settings: NetworkSettings) -> dict[NetworkType, TypeDriver]:
    return {NetworkType.FLAT: FlatTypeDriver(),
            NetworkType.VLAN: VlanTypeDriver(settings.vlan_min, settings.vlan_max)}


def segment_in_use(segment: Segment) -> SegmentInUse:
    """Neutron's words for a taken segment."""
    if segment.type is NetworkType.FLAT:
        return SegmentInUse(f"Unable to create the flat network. Physical network"
                            f" {segment.physical_network} is in use.", "FlatNetworkInUse")
    return SegmentInUse(f"Unable to create the network. The VLAN {segment.segmentation_id} on"
                        f" physical network {segment.physical_network} is in use.",
                        "VlanIdInUse")
