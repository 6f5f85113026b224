"""CPU time of processes, read from /proc: steadier than latency on a shared machine.

`cpu_seconds(pid)` sums the time on CPU of every thread of a process from
/proc/PID/task/*/schedstat (nanoseconds; the first field). `Meter` holds
named groups of processes (the cells of one level of a tree, or one bare
chain process) and gives, for a stretch of calls, each group's CPU time per
call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence


def cpu_seconds(pid: int) -> float:
    """The CPU time all threads of `pid` have had, in seconds (0 when it is gone)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # the thread ended meanwhile
    return total / 1e9


class Meter:
    """CPU per call of named groups of processes, over stretches of calls."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self.groups = {name: list(pids) for name, pids in groups.items()}
        self.spent = dict.fromkeys(self.groups, 0.0)
        self.calls = 0
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}

    def begin(self) -> None:
        self._start = self._now()

    def end(self, calls: int) -> None:
        """Close the stretch begun last, which made `calls` calls."""
        now = self._now()
        for name in self.groups:
            self.spent[name] += now[name] - self._start[name]
        self.calls += calls

    def per_call_ms(self) -> dict[str, float]:
        return {name: 1000.0 * spent / max(1, self.calls) for name, spent in self.spent.items()}

    def total_ms(self) -> float:
        return sum(self.per_call_ms().values())
