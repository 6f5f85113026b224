"""The uplink: reports coalesce into at most one per window, and carry every
change exactly once (against a fake parent that records what it receives)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from cells.backend import ChangeLog, Identity
from cells.uplink import Uplink
from model.cells import CellCapacity, CellKind, ChildReport, InstanceChange, LeafInfo
from model.compute import InstanceState
from model.errors import Unavailable


@dataclass
class FakeParent:
    address: str = "fake-parent"
    reports: list[tuple[float, ChildReport]] = field(default_factory=list)
    fail_reports: int = 0  # the next N reports fail as if the parent were away
    fail_registers: int = 0  # the next N registers fail as if the parent were starting
    registers: int = 0

    async def register(self, reg: object, timeout: float | None = None) -> tuple[str, float]:
        self.registers += 1
        if self.fail_registers:
            self.fail_registers -= 1
            raise Unavailable("parent starting")
        return "top!leaf", 0.5

    async def report(self, report: ChildReport,
                     timeout: float | None = None) -> tuple[bool, str]:
        if self.fail_reports:
            self.fail_reports -= 1
            raise Unavailable("parent away")
        self.reports.append((time.monotonic(), report))
        return False, "top!leaf"

    async def close(self) -> None:
        pass


class FakeCell:
    def __init__(self) -> None:
        self.identity = Identity("leaf", "fake", "leaf", CellKind.LEAF)
        self._changes = ChangeLog()

    def capacity(self) -> CellCapacity:
        return CellCapacity()

    def capabilities(self) -> tuple[str, ...]:
        return ()

    def changes(self) -> ChangeLog:
        return self._changes

    def leaves(self) -> tuple[LeafInfo, ...]:
        return ()

    async def refresh(self) -> None:
        pass


def change(n: int) -> InstanceChange:
    return InstanceChange(f"00000000-0000-4000-8000-{n:012d}", InstanceState.PAUSED)


def test_a_burst_of_changes_goes_up_in_few_reports_each_change_once() -> None:
    window = 0.2

    async def main() -> tuple[FakeParent, float]:
        cell, parent = FakeCell(), FakeParent()
        uplink = Uplink(cell, parent, interval=5.0, window=window)  # type: ignore[arg-type]
        task = asyncio.create_task(uplink.run())
        await uplink.registered.wait()
        started = time.monotonic()
        for n in range(300):  # a change every ~2 ms, for about 0.6 s
            cell.changes().add(change(n))
            await asyncio.sleep(0.002)
        while cell.changes()._pending:
            await asyncio.sleep(0.01)
        await asyncio.sleep(window * 1.5)
        elapsed = time.monotonic() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return parent, elapsed

    parent, elapsed = asyncio.run(main())
    carried = [c.uuid for _, r in parent.reports for c in r.changes]
    assert sorted(carried) == sorted(change(n).uuid for n in range(300))  # each exactly once
    # Reports begin at least a window apart, so a slow machine makes fewer, not more.
    with_changes = [t for t, r in parent.reports if r.changes]
    assert 1 < len(with_changes) <= math.ceil(elapsed / window) + 1


def test_changes_a_failed_report_did_not_deliver_go_with_the_next() -> None:
    async def main() -> FakeParent:
        cell, parent = FakeCell(), FakeParent()
        uplink = Uplink(cell, parent, interval=0.05, window=0.05)  # type: ignore[arg-type]
        task = asyncio.create_task(uplink.run())
        await uplink.registered.wait()
        parent.fail_reports = 2
        for n in range(5):
            cell.changes().add(change(n))
        while len({c.uuid for _, r in parent.reports for c in r.changes}) < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return parent

    parent = asyncio.run(main())
    carried = [c.uuid for _, r in parent.reports for c in r.changes]
    assert sorted(carried) == sorted(change(n).uuid for n in range(5))


def test_a_parent_still_starting_is_retried_long_before_the_report_interval() -> None:
    """A cell started with its parent finds it not serving yet: the register is
    retried after a short backoff that doubles, not after the (here hour-long)
    report interval."""
    async def main() -> FakeParent:
        cell, parent = FakeCell(), FakeParent(fail_registers=4)
        uplink = Uplink(cell, parent, interval=3600.0)  # type: ignore[arg-type]
        task = asyncio.create_task(uplink.run())
        try:  # 0.05 + 0.1 + 0.2 + 0.4 s of backoff; an interval's would be hours
            await asyncio.wait_for(uplink.registered.wait(), timeout=120)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return parent

    parent = asyncio.run(main())
    assert parent.registers == 5 and parent.fail_registers == 0


def test_a_change_put_back_never_undoes_a_newer_one_sent_meanwhile() -> None:
    # Two uplinks (to two replicas of the parent) share one log: the first takes a
    # change and fails; meanwhile a newer change of the same instance went up.
    log = ChangeLog()
    log.add(InstanceChange("u1", InstanceState.PAUSED))
    taken_at = log.added
    failed = log.take()
    log.add(InstanceChange("u1", InstanceState.ACTIVE))
    assert [c.state for c in log.take()] == [InstanceState.ACTIVE]  # the other uplink's
    log.put_back(failed, taken_at)
    assert log.take() == []
    log.add(InstanceChange("u2", InstanceState.STOPPED))
    taken_at = log.added
    log.put_back(log.take(), taken_at)  # nothing newer: it goes with the next report
    assert [c.uuid for c in log.take()] == ["u2"]
