"""Server group membership per host, kept in memory by a leaf.

Affinity filters need, for every host, how many members of each server group
it holds. A leaf loads this once from its index at start and then keeps it
current as it places and deletes instances, so placement never reads the
database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class GroupLedger:
    def __init__(self) -> None:
        self._where: dict[str, tuple[str, str]] = {}  # uuid -> (host, group)
        self._counts: dict[str, Counter[str]] = {}  # host -> group -> members

    @classmethod
    def load(cls, rows: Iterable[tuple[str, str, str]]) -> GroupLedger:
        """From (uuid, host, group) rows."""
        ledger = cls()
        for uuid, host, group in rows:
            ledger.place(uuid, host, group)
        return ledger

    def place(self, uuid: str, host: str, group: str) -> None:
        """Record `uuid` (a member of `group`) on `host`, moving it if it was elsewhere."""
        if not group:
            return
        self.remove(uuid)
        self._where[uuid] = (host, group)
        self._counts.setdefault(host, Counter())[group] += 1

    def remove(self, uuid: str) -> None:
        found = self._where.pop(uuid, None)
        if found is None:
            return
        host, group = found
        counts = self._counts[host]
        counts[group] -= 1
        if counts[group] <= 0:
            del counts[group]

    def group_of(self, uuid: str) -> str:
        found = self._where.get(uuid)
        return found[1] if found else ""

    def on(self, host: str) -> Mapping[str, int]:
        """Group -> members on `host`."""
        return dict(self._counts.get(host, {}))
