"""The filter and weigher stages over a `HostTable`'s columns.

The standard filters (alive and enabled, RAM, vCPU, disk) and weighers (RAM,
vCPU, instances) become array operations over the rows examined; any other
filter or weigher (a plugin) still sees `HostState`s, but only those of the
hosts the stages before it passed. The results are the same as the stage by
stage pipeline's (`bestmatch.pipeline`): each rejection is charged to the
first filter that refuses the host, hosts are examined from `start` on,
wrapping around, and with `enough` examination stops once that many passed.
With `enough` (sampling), the rows are examined a run at a time, so that a
decision reads about as many rows as it keeps, not the whole table.
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
# The fewest rows read at once when sampling (and the margin added to a guess).
_FIRST_RUN = 16


def _masks(f: Filter, table: HostTable, spec: RequestSpec, rows: slice
           ) -> list[tuple[str, Flags]] | None:
    """The pass mask(s) of a standard filter over `rows`, by reason, in order;
    None for another."""
    kind = type(f)
    if kind is AliveFilter:
        return [(ALIVE, table.alive[rows]), (ENABLED, table.enabled[rows])]
    if kind in (RamFilter, VcpuFilter, DiskFilter):
        resource = f.resource  # type: ignore[attr-defined]
        want = getattr(spec.flavor, resource)
        return [(f.name, table.room[rows, _COLUMN[resource]] >= want)]
    return None


def filter_columns(filters: Sequence[Filter], table: HostTable, spec: RequestSpec, *,
                   enough: int | None = None, start: int = 0
                   ) -> tuple[Rows, Counter[str], int]:
    """The rows every filter passes (in the order examined), how many each
    filter removed, and how many rows were examined.

    With `enough`, rows are read a run at a time, and reading stops in the
    run where that many have passed: a decision reads about as many rows as
    it keeps, however large the table (every row only when few fit)."""
    count = len(table)
    reasons: list[str] = []
    kept: list[Rows] = [np.empty(0, dtype=np.intp)]
    charged: list[Rows] = [np.empty(0, dtype=np.intp)]
    found = examined = 0
    at, floor = start, _FIRST_RUN
    while examined < count and (enough is None or found < enough):
        size = count - examined if enough is None else _run_size(enough, found, examined, floor)
        rows = slice(at, at + min(size, count - examined, count - at))
        passing, failed = _examine(filters, table, spec, rows, reasons)
        if enough is not None:  # stop at the row that makes `enough`
            seen = np.cumsum(passing)
            if found + int(seen[-1]) >= enough:
                cut = int(np.searchsorted(seen, enough - found)) + 1
                passing, failed = passing[:cut], failed[:cut]
        kept.append(rows.start + np.flatnonzero(passing))
        charged.append(failed[failed >= 0])
        found += int(np.count_nonzero(passing))
        examined += len(passing)
        at, floor = rows.stop % count, 2 * floor
    numbers = np.bincount(np.concatenate(charged), minlength=len(reasons))
    rejected = Counter({reasons[n]: int(k) for n, k in enumerate(numbers) if k})
    return np.concatenate(kept), rejected, examined


def _run_size(enough: int, found: int, examined: int, floor: int) -> int:
    """How many rows to read next: enough to find the rows still wanted at
    the pass rate seen so far, with a margin, and at least `floor` (which
    doubles each run, so a table where few fit is read in a few runs)."""
    wanted = enough - found
    guess = wanted * examined // found if found else max(examined, wanted)
    return max(floor, guess + guess // 4 + _FIRST_RUN)


def _examine(filters: Sequence[Filter], table: HostTable, spec: RequestSpec, rows: slice,
             reasons: list[str]) -> tuple[Flags, Rows]:
    """Which of `rows` every filter passes, and the number (in `reasons`) of
    the reason each refused row was refused for (-1 where it passed)."""
    length = rows.stop - rows.start
    passing = np.ones(length, dtype=np.bool_)
    failed = np.full(length, -1, dtype=np.intp)
    for f in filters:
        masks = _masks(f, table, spec, rows)
        if masks is None:
            _check_rows(f, table, spec, rows.start, passing, failed, reasons)
            continue
        for reason, mask in masks:
            refused = passing & ~mask
            failed[refused] = _reason_number(reasons, reason)
            passing &= mask
    return passing, failed


def _check_rows(f: Filter, table: HostTable, spec: RequestSpec, first: int, passing: Flags,
                failed: Rows, reasons: list[str]) -> None:
    """A filter with no columns: asked about each row still passing (row
    `first + n` for position n of `passing`)."""
    for n in np.flatnonzero(passing):
        verdict = f.check(table[first + int(n)], spec)
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
    return np.asarray(weigher.scores(table.take(kept), spec), dtype=np.float64)
