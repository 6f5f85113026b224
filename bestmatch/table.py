"""Host state as columns, kept by a leaf between decisions.

A `HostTable` is a `Sequence[HostState]`: every selector, filter and weigher
reads it row by row as before (row i is the HostState it was built with, or
the one its last claim made). It also holds numpy columns of the figures the
standard filters and weighers read, so that `bestmatch.columns` examines
10,000 hosts in a few array operations:

    total, used, room    int64, one row per host: vcpus, memory_mb, disk_gb
    alive, enabled       bool
    instances            int64
    grouped              bool: the host holds members of some server group

A claim updates one row (`place`), so a leaf builds the table when it reads
its hosts and keeps it between boots; it reads them again at its next report.

The rows themselves are kept in a numpy array of objects too, so that a
decision turns the rows it keeps into `HostState`s in one array operation
(`take`), whatever the size of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import cast, overload

import numpy as np
import numpy.typing as npt

from bestmatch.api import HostState
from model.compute import Resources

Matrix = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.intp]


def _triples(values: Iterable[Resources]) -> Matrix:
    return np.array([(r.vcpus, r.memory_mb, r.disk_gb) for r in values],
                    dtype=np.int64).reshape(-1, 3)


class HostTable(Sequence[HostState]):
    def __init__(self, hosts: Iterable[HostState]) -> None:
        rows = list(hosts)
        self._rows = np.fromiter(rows, dtype=np.object_, count=len(rows))
        self._at = {h.name: n for n, h in enumerate(rows)}
        self.total = _triples(h.total for h in rows)
        self.used = _triples(h.used for h in rows)
        self.room = _triples(h.room for h in rows)
        self.alive: Flags = np.array([h.alive for h in rows], dtype=np.bool_)
        self.enabled: Flags = np.array([h.enabled for h in rows], dtype=np.bool_)
        self.instances = np.array([h.instances for h in rows], dtype=np.int64)
        self.grouped: Flags = np.array([bool(h.groups) for h in rows], dtype=np.bool_)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> HostState: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[HostState]: ...

    def __getitem__(self, index: int | slice) -> HostState | Sequence[HostState]:
        if isinstance(index, slice):
            return cast(list[HostState], self._rows[index].tolist())
        return cast(HostState, self._rows[index])

    def __iter__(self) -> Iterator[HostState]:
        return iter(cast(list[HostState], self._rows.tolist()))

    def take(self, rows: Rows, rank: Rows | None = None) -> list[HostState]:
        """The rows numbered `rows`, in that order; with `rank`, in the order
        `rows[rank]`. They are read in the order of `rows` first: when `rows`
        ascend, that is the order the rows were made in, and mostly lie in
        memory, which over a large table is faster than reading them out of
        order."""
        picked = self._rows[rows]
        if rank is not None:
            picked = picked[rank]
        return cast(list[HostState], picked.tolist())

    def place(self, name: str, flavor: Resources, groups: Mapping[str, int] | None = None,
              instance_uuids: frozenset[str] | None = None) -> None:
        """A claim of `flavor` on host `name` succeeded: its row takes it (and
        the server groups and instances now on it, when given)."""
        n = self._at.get(name)
        if n is None:
            return
        old = cast(HostState, self._rows[n])
        changes: dict[str, object] = {"used": old.used + flavor, "instances": old.instances + 1}
        if old.largest_free is not None:  # a host that is many: its largest request shrinks
            changes["largest_free"] = (old.largest_free - flavor).max(Resources())
        if groups is not None:
            changes["groups"] = groups
        if instance_uuids is not None:
            changes["instance_uuids"] = instance_uuids
        new = replace(old, **changes)  # type: ignore[arg-type]
        self._rows[n] = new
        self.used[n] = (new.used.vcpus, new.used.memory_mb, new.used.disk_gb)
        self.room[n] = (new.room.vcpus, new.room.memory_mb, new.room.disk_gb)
        self.instances[n] = new.instances
        self.grouped[n] = bool(new.groups)

