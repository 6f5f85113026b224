"""A WiringDriver in memory, for tests: it records every call and can be told
to fail for a port (a reason per port id), like Kubernetes' fake plugins."""

from __future__ import annotations

from dataclasses import dataclass, field

from network.agent.errors import WiringFailed
from network.agent.objects import PortWiring


@dataclass
class RecordingDriver:
    """`calls` lists ("plug" | "unplug", port id) in order, failed ones too;
    `fail` maps a port id to the reason its plug and unplug fail with."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    ports: dict[str, PortWiring] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "recording"

    def plug(self, wiring: PortWiring) -> None:
        self._call("plug", wiring.port_id)
        self.ports[wiring.port_id] = wiring

    def unplug(self, wiring: PortWiring) -> None:
        self._call("unplug", wiring.port_id)
        self.ports.pop(wiring.port_id, None)

    def wired(self) -> set[str]:
        return set(self.ports)

    def bridges(self) -> set[str]:
        """The bridges the real driver would keep: one per network with ports."""
        return {wiring.bridge for wiring in self.ports.values()}

    def _call(self, what: str, port_id: str) -> None:
        self.calls.append((what, port_id))
        if port_id in self.fail:
            raise WiringFailed(self.fail[port_id])
