"""Which instances are on which host, kept in memory by a leaf.

Placement needs, for every host, the instances it holds (same_host,
different_host) and how many members of each server group (affinity,
anti-affinity). A leaf loads this once from its index at start and then
keeps it current as it places and deletes instances, so placement never
reads the database or asks the hypervisor for its whole inventory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class HostLedger:
    def __init__(self) -> None:
        self._where: dict[str, tuple[str, str]] = {}  # uuid -> (host, group)
        self._uuids: dict[str, set[str]] = {}  # host -> uuids
        self._counts: dict[str, Counter[str]] = {}  # host -> group -> members

    @classmethod
    def load(cls, rows: Iterable[tuple[str, str, str]]) -> HostLedger:
        """From (uuid, host, group) rows; a row with no host (a shelved
        offloaded instance) is on no host."""
        ledger = cls()
        for uuid, host, group in rows:
            if host:
                ledger.place(uuid, host, group)
        return ledger

    def place(self, uuid: str, host: str, group: str = "") -> None:
        """Record `uuid` (a member of `group`, if any) on `host`, moving it if it
        was elsewhere."""
        self.remove(uuid)
        self._where[uuid] = (host, group)
        self._uuids.setdefault(host, set()).add(uuid)
        if group:
            self._counts.setdefault(host, Counter())[group] += 1

    def remove(self, uuid: str) -> None:
        found = self._where.pop(uuid, None)
        if found is None:
            return
        host, group = found
        self._uuids[host].discard(uuid)
        if group:
            counts = self._counts[host]
            counts[group] -= 1
            if counts[group] <= 0:
                del counts[group]

    def uuids_on(self, host: str) -> frozenset[str]:
        return frozenset(self._uuids.get(host, ()))

    def group_of(self, uuid: str) -> str:
        found = self._where.get(uuid)
        return found[1] if found else ""

    def on(self, host: str) -> Mapping[str, int]:
        """Group -> members on `host`."""
        return dict(self._counts.get(host, {}))
