"""The network agent's driver contract: how one host's links are made for a
port. The agent applies what it is bound through it and decides nothing.

Every method is idempotent and raises only WiringFailed (network.agent.errors).
"""

from __future__ import annotations

from typing import Protocol

from network.agent.objects import PortWiring


class WiringDriver(Protocol):
    """Wires ports of networks on this host."""

    @property
    def name(self) -> str:
        """The driver's name: the capability the agent offers ("linux_bridge")."""
        ...

    def plug(self, wiring: PortWiring) -> None:
        """Make the port's network reachable on this host (its bridge, and the
        segment's uplink), everything up. Plugging a plugged port again changes
        nothing. Raises WiringFailed with the reason."""
        ...

    def unplug(self, wiring: PortWiring) -> None:
        """Let the port go; with the last port of its network on this host, the
        network's links go too. Unplugging an unknown port changes nothing.
        Raises WiringFailed with the reason."""
        ...

    def wired(self) -> set[str]:
        """The ids of the ports plugged here whose links are in place."""
        ...
