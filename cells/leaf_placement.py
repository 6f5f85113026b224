"""Where a leaf places an instance: its hosts as the selector sees them
(size, use, the operator's policy, the host ledger's claims), one decision
at a time, each seeing the last one's claim.

The table of hosts is read from the driver at the first decision after each
report (or taken from the hosts that report has just read), then kept
current by the leaf's own claims; the driver's claim stays the judge. A
boot (cells.leaf_boot) and an unshelve (cells.leaf_shelve) decide here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from bestmatch.api import HostState, RequestSpec, Selection, Selector
from bestmatch.table import HostTable
from cells.hosts import HostPolicy, host_state
from cells.leaf_driver import DriverRunner
from cells.ledger import HostLedger
from model.compute import BootSpec, HostInfo, Resources
from model.errors import InvalidArgument, ResourceExhausted
from routing.path import CellPath
from virt.driver import VirtDriver


class LeafPlacement:
    def __init__(self, path: Callable[[], str], driver: VirtDriver, run: DriverRunner,
                 selector: Selector, policies: Mapping[str, HostPolicy] | None,
                 ledger: HostLedger) -> None:
        self._path = path  # the leaf's, as it is now
        self._driver = driver
        self._run = run
        self._selector = selector
        self._policies = dict(policies or {})
        self._ledger = ledger
        self.placing = asyncio.Lock()  # one decision at a time: each sees the last one's claim
        self._table: HostTable | None = None  # the hosts as the last decision left them
        # Hosts a report has just read, for the next decision, so it need not
        # ask the driver again; None once a decision has used them.
        self._unread_hosts: list[HostInfo] | None = None

    async def select(self, spec: BootSpec) -> Selection:
        """The hosts that can take `spec`, best first; ResourceExhausted if none,
        InvalidArgument when the spec targets a cell this leaf is not in."""
        path = self._path()
        if spec.target_cell and not CellPath.parse(spec.target_cell).contains(
            CellPath.parse(path)
        ):
            raise InvalidArgument(f"target cell {spec.target_cell} is not inside leaf {path}")
        request = RequestSpec.of(spec)
        selection = self._selector.select(await self._candidates(), request)
        if not selection.ordered:
            raise ResourceExhausted(
                f"no host in {self._path()} can take {spec.flavor}:"
                f" {selection.explain('hosts')}"
            )
        return selection

    def hosts_changed(self) -> None:
        """What is known of the hosts is out of date: the next decision asks the driver."""
        self._table = self._unread_hosts = None

    def claimed(self, host: str, flavor: Resources) -> None:
        """The leaf claimed `flavor` on `host`: the next decision sees it."""
        if self._table is not None:
            self._table.place(host, flavor, self._ledger.on(host), self._ledger.uuids_on(host))

    def read(self, hosts: list[HostInfo]) -> None:
        """A report has just read `hosts`: the next decision starts from them."""
        self._table = None
        self._unread_hosts = hosts

    async def _candidates(self) -> HostTable:
        """Every host as the selector sees it: size, use, and the operator's policy.
        Read from the driver at the first decision after each report, then kept
        current by this leaf's own claims (the driver's claim stays the judge)."""
        if self._table is None:
            hosts = self._unread_hosts
            if hosts is None:
                hosts = await self._run(self._driver.hosts)
            self._unread_hosts = None
            self._table = HostTable(self._state_of(h) for h in hosts)
        return self._table

    def _state_of(self, h: HostInfo) -> HostState:
        policy = self._policies.get(h.name) or HostPolicy()
        return host_state(h, self._path(), policy, self._ledger)
