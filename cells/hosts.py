"""A leaf's hosts as its selector sees them: what the operator says about each
host (`HostPolicy`), and a host's state built from its driver's figures, that
policy and the leaf's ledger (`host_state`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bestmatch.api import HostState, Ratios
from cells.ledger import HostLedger
from model.compute import HostInfo, allocation_ratios
from model.config import ConfigError


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """What the operator says about a host, beyond its size: where it is,
    which aggregates it belongs to, whether it takes new instances."""

    availability_zone: str = ""
    aggregates: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    ratios: Ratios = field(default_factory=Ratios)

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> HostPolicy:
        """From a [[leaf.hosts]] table: availability_zone, aggregates (a table
        of metadata), enabled, and the *_allocation_ratio keys."""
        aggregates = entry.get("aggregates", {})
        if not isinstance(aggregates, Mapping):
            raise ConfigError(f"host {entry.get('name')}: aggregates must be a table")
        try:
            ratios = Ratios(*allocation_ratios(entry))
        except (TypeError, ValueError):
            raise ConfigError(f"host {entry.get('name')}: allocation ratios must be numbers"
                              ) from None
        return cls(
            availability_zone=str(entry.get("availability_zone", "")),
            aggregates={str(k): str(v) for k, v in aggregates.items()},
            enabled=bool(entry.get("enabled", True)),
            ratios=ratios,
        )


def host_state(h: HostInfo, path: str, policy: HostPolicy, ledger: HostLedger) -> HostState:
    """Host `h` of the leaf at `path` as a candidate: its size and use, the
    operator's policy, and the instances and server groups on it."""
    return HostState(
        name=h.name, cell_path=path, total=h.total, used=h.used,
        largest_free=h.largest_free, alive=h.alive, instances=h.instances,
        enabled=policy.enabled, ratios=policy.ratios,
        availability_zone=policy.availability_zone, aggregates=policy.aggregates,
        instance_uuids=ledger.uuids_on(h.name), groups=ledger.on(h.name))
