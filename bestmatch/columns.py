"""The filter and weigher stages over a `HostTable`'s columns.

The standard filters (alive and enabled, RAM, vCPU, disk) and weighers (RAM,
vCPU, instances) become array operations over every host at once; any other
filter or weigher (a plugin) still sees `HostState`s, but only those of the
hosts the stages before it passed. The results are the same as the stage by
stage pipeline's (`bestmatch.pipeline`): each rejection is charged to the
first filter that refuses the host, hosts are examined from `start` on,
wrapping around, and with `enough` examination stops once that many passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bestmatch.api import ALIVE, ENABLED, Filter, RequestSpec, Weigher
from bestmatch.filters.alive import AliveFilter
from bestmatch.filters.disk import DiskFilter
from bestmatch.filters.ram import RamFilter
from bestmatch.filters.vcpu import VcpuFilter
from bestmatch.table import Flags, HostTable
from bestmatch.weighers.instances import InstanceCountWeigher
from bestmatch.weighers.ram import RamWeigher
from bestmatch.weighers.vcpu import VcpuWeigher

Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]
_COLUMN = {"vcpus": 0, "memory_mb": 1, "disk_gb": 2}


def _masks(f: Filter, table: HostTable, spec: RequestSpec) -> list[tuple[str, Flags]] | None:
    """The pass mask(s) of a standard filter, by reason, in order; None for another."""
    kind = type(f)
    if kind is AliveFilter:
        return [(ALIVE, table.alive), (ENABLED, table.enabled)]
    if kind in (RamFilter, VcpuFilter, DiskFilter):
        resource = f.resource  # type: ignore[attr-defined]
        want = getattr(spec.flavor, resource)
        return [(f.name, table.room[:, _COLUMN[resource]] >= want)]
    return None


def filter_columns(filters: Sequence[Filter], table: HostTable, spec: RequestSpec, *,
                   enough: int | None = None, start: int = 0
                   ) -> tuple[Rows, Counter[str], int]:
    """The rows every filter passes (in the order examined), how many each
    filter removed, and how many rows were examined."""
    count = len(table)
    passing = np.ones(count, dtype=np.bool_)
    reasons: list[str] = []
    failed = np.full(count, -1, dtype=np.intp)  # the reason a row was refused for
    for f in filters:
        masks = _masks(f, table, spec)
        if masks is None:
            _check_rows(f, table, spec, passing, failed, reasons)
            continue
        for reason, mask in masks:
            refused = passing & ~mask
            failed[refused] = _reason_number(reasons, reason)
            passing &= mask
    order = np.roll(np.arange(count, dtype=np.intp), -start) if start else np.arange(count)
    examined = count
    if enough is not None:
        seen = np.cumsum(passing[order])
        examined = min(count, int(np.searchsorted(seen, enough)) + 1)
    looked_at = order[:examined]
    kept = looked_at[passing[looked_at]]
    charged = failed[looked_at]
    numbers = np.bincount(charged[charged >= 0], minlength=len(reasons))
    rejected = Counter({reasons[n]: int(k) for n, k in enumerate(numbers) if k})
    return kept, rejected, examined


def _check_rows(f: Filter, table: HostTable, spec: RequestSpec, passing: Flags,
                failed: npt.NDArray[np.intp], reasons: list[str]) -> None:
    """A filter with no columns: asked about each row still passing."""
    for n in np.flatnonzero(passing):
        verdict = f.check(table[int(n)], spec)
        if not verdict.passed:
            passing[n] = False
            failed[n] = _reason_number(reasons, verdict.reason)


def _reason_number(reasons: list[str], reason: str) -> int:
    if reason not in reasons:
        reasons.append(reason)
    return reasons.index(reason)


def weigh_columns(weighers: Sequence[tuple[Weigher, float]], table: HostTable, kept: Rows,
                  spec: RequestSpec) -> Floats:
    """Each kept row's total weight: scores normalised to [0, 1], times multipliers."""
    totals = np.zeros(len(kept), dtype=np.float64)
    for weigher, multiplier in weighers:
        scores = _scores(weigher, table, kept, spec)
        low, high = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 0.0)
        if high > low:
            totals += multiplier * (scores - low) / (high - low)
    return totals


def _scores(weigher: Weigher, table: HostTable, kept: Rows, spec: RequestSpec) -> Floats:
    kind = type(weigher)
    if kind in (RamWeigher, VcpuWeigher):
        column = 1 if kind is RamWeigher else 0
        free: Floats = (table.total[kept, column] - table.used[kept, column]).astype(np.float64)
        return free
    if kind is InstanceCountWeigher:
        return table.instances[kept].astype(np.float64)
    rows = [table[int(n)] for n in kept]
    return np.asarray(weigher.scores(rows, spec), dtype=np.float64)
