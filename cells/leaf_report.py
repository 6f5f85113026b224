"""What a leaf reports of itself to its parent: its hosts as the last report
read them, its capacity (counted in the flavours it knows, with the states
of its instances and the agents that report here), its capabilities and its
own LeafInfo (what its driver can do and why it refuses the rest)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace

from cells.backend import Identity
from cells.leaf_driver import DriverRunner
from model.cells import CellCapacity, HostSummary, LeafInfo
from model.compute import HostInfo, InstanceState, Resources
from virt.driver import VirtDriver


class LeafReports:
    def __init__(self, identity: Identity, driver: VirtDriver, run: DriverRunner,
                 flavors: Mapping[str, Resources] | None) -> None:
        self._identity = identity
        self._driver = driver
        self._run = run
        self._flavors = dict(flavors or {})  # counted in capacity reports
        self._hosts: list[HostInfo] = []  # as the last report read them

    async def read_hosts(self) -> list[HostInfo]:
        """Read the hosts from the driver, for this report and what follows it."""
        self._hosts = await self._run(self._driver.hosts)
        return self._hosts

    def hosts(self) -> tuple[HostSummary, ...]:
        """Each host as the topology shows it, with its capacity."""
        return tuple(HostSummary(h.name, CellCapacity.of_host(h, self._flavors))
                     for h in self._hosts)

    def capacity(self, reported: Mapping[str, InstanceState],
                 agents: Callable[[], tuple[tuple[str, int], ...]]) -> CellCapacity:
        """The hosts' capacity, the count of instances in each state last
        `reported` up, and the `agents` offered here."""
        hosts = CellCapacity.combine(CellCapacity.of_host(h, self._flavors) for h in self._hosts)
        states = Counter(state.value for state in reported.values())
        return replace(hosts, states=tuple(sorted(states.items())), agents=agents())

    def capabilities(self) -> tuple[str, ...]:
        return tuple(self._driver.capabilities.names())

    def leaves(self) -> tuple[LeafInfo, ...]:
        return (replace(leaf_info(self._identity, self._driver), path=""),)  # this cell itself


def leaf_info(identity: Identity, driver: VirtDriver) -> LeafInfo:
    """The leaf as its driver makes it: what it can do, and why it refuses the rest."""
    caps = driver.capabilities
    return LeafInfo(identity.path, identity.address, tuple(caps.names()), caps.refusals(),
                    identity.driver)

