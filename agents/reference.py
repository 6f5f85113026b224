"""A reference agent, and the class to write agents in Python with.

`Agent` is the library part: give it the leaf's address, a function that
says what the agent is now (`AgentReport`) and a `Holder` of its objects, and
`run()` reports every interval and watches the agent's bindings, forever:

- a report refused for bad input stops it with the reason (nothing would
  change by trying again); an unreachable cell is tried again each interval,
  as a parent is by a child;
- the watch resumes from the last revision the holder applied, so a cut
  stream misses no binding and applies none twice; a holder with no revision
  yet gets every object it holds, then `caught_up`, and drops what it holds
  beyond those. Each object bound is applied, then reported ACTIVE (or ERROR
  with the holder's reason).

The reference agent (`cellrouter agent`) owns a state directory and holds its
objects as one JSON file each under `objects/`; its load is their number.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable, Set
from pathlib import Path
from typing import Protocol

from cellwire.agents import AgentsClient
from model.agents import AgentReport, BindingEvent, Heard, ObjectState
from model.errors import (
    AlreadyExists,
    CellError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)

log = logging.getLogger(__name__)


class Holder(Protocol):
    """What an agent does with its objects."""

    @property
    def revision(self) -> int:
        """The last binding revision applied (0: none yet)."""
        ...

    def apply(self, event: BindingEvent) -> tuple[ObjectState, str] | None:
        """Make the event so (hold the object, or let it go), remember its
        revision, and say the object's state to report: (ACTIVE, "") or
        (ERROR, why); None for nothing to report."""
        ...

    def keep_only(self, uuids: Set[str]) -> None:
        """After a full resync: let go of every object but these."""
        ...

    def reached(self, revision: int) -> None:
        """Every change up to `revision` is applied: resume from there."""
        ...


class Agent:
    def __init__(self, cell: str, describe: Callable[[], AgentReport], interval: float,
                 client: AgentsClient | None = None, holder: Holder | None = None) -> None:
        self.cell = cell
        self._describe = describe
        self.interval = interval
        self._client = client or AgentsClient(cell, timeout=max(interval, 10.0))
        self._holder = holder
        self.heard: Heard | None = None  # what the cell made of the last report
        self.reported = asyncio.Event()  # set once a report was taken

    async def report_once(self) -> Heard:
        heard, down_after = await self._client.report(self._describe())
        if heard is not Heard.ALIVE:
            log.info("agent %s: %s by %s", self._describe().id, heard.value.lower(), self.cell)
        if self.interval * 2 > down_after:
            log.warning("reporting every %g s, but the cell marks an agent down after %g s"
                        " of silence", self.interval, down_after)
        self.heard = heard
        self.reported.set()
        return heard

    async def run(self) -> None:
        """Report every interval and watch the bindings until cancelled; raises
        on a refused report."""
        try:
            if self._holder is None:
                await self._reports()
            else:
                await asyncio.gather(self._reports(), self._watch(self._holder))
        finally:
            await self._client.close()

    async def _reports(self) -> None:
        while True:
            try:
                await self.report_once()
            except (InvalidArgument, AlreadyExists):
                raise
            except CellError as exc:
                log.warning("agent: cell %s: %s", self.cell, exc)
            await asyncio.sleep(self.interval)

    async def _watch(self, holder: Holder) -> None:
        agent_id = self._describe().id
        while True:
            resync, held = holder.revision == 0, set[str]()
            try:
                async for event in self._client.watch(agent_id, holder.revision):
                    if event.caught_up:
                        if resync:
                            holder.keep_only(held)
                        holder.reached(event.revision)
                        continue
                    if event.object is None:
                        continue
                    if event.bound:
                        held.add(event.object.uuid)
                    said = holder.apply(event)
                    if said is not None:
                        await self._say(agent_id, event.object.uuid, *said)
            except CellError as exc:
                if not isinstance(exc, NotFound):  # not known yet: its first report comes
                    log.warning("agent: watching %s: %s", self.cell, exc)
            await asyncio.sleep(self.interval)

    async def _say(self, agent_id: str, uuid: str, state: ObjectState, fault: str) -> None:
        """Report an object's state, trying again until the cell has it: the
        binding is applied and its revision passed, so no later event would
        bring this word back."""
        while True:
            try:
                await self._client.set_object_state(agent_id, uuid, state, fault)
                return
            except (NotFound, FailedPrecondition):
                return  # deleted or moved meanwhile: the next event says so
            except CellError as exc:
                log.warning("agent: reporting object %s %s: %s", uuid, state.value, exc)
                await asyncio.sleep(self.interval)


class FileAgent:
    """The reference agent's state: its objects, one JSON file each under
    `objects/`, the last revision applied in `revision`, and a line per event
    applied in `applied.log` (revision, uuid, bind or unbind)."""

    def __init__(self, state_dir: Path, agent_id: str, kind: str,
                 capabilities: tuple[str, ...], availability_zone: str = "",
                 host: str = "") -> None:
        self.state_dir = state_dir
        self.objects = state_dir / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        saved = state_dir / "revision"
        self._revision = int(saved.read_text()) if saved.exists() else 0
        self._fixed = AgentReport(agent_id, host or socket.gethostname(), kind, capabilities,
                                  availability_zone)

    def describe(self) -> AgentReport:
        """What it is now: its load is the objects it holds."""
        held = sum(1 for _ in self.objects.glob("*.json"))
        r = self._fixed
        return AgentReport(r.id, r.host, r.kind, r.capabilities, r.availability_zone,
                           r.admin_up, held)

    @property
    def revision(self) -> int:
        return self._revision

    def apply(self, event: BindingEvent) -> tuple[ObjectState, str] | None:
        obj = event.object
        assert obj is not None
        path = self.objects / f"{obj.uuid}.json"
        if event.bound:
            spec = obj.spec
            _write(path, json.dumps({
                "uuid": obj.uuid, "name": spec.name, "kind": spec.kind, "needs": list(spec.needs),
                "hints": dict(spec.hints), "project": spec.project, "revision": obj.revision,
            }, indent=2) + "\n")
        else:
            path.unlink(missing_ok=True)
        with (self.state_dir / "applied.log").open("a") as log_file:
            log_file.write(f"{event.revision} {obj.uuid} {'bind' if event.bound else 'unbind'}\n")
        self._revision = event.revision
        _write(self.state_dir / "revision", f"{event.revision}\n")
        if event.bound and obj.state is not ObjectState.ACTIVE:
            return ObjectState.ACTIVE, ""
        return None

    def keep_only(self, uuids: Set[str]) -> None:
        for path in self.objects.glob("*.json"):
            if path.stem not in uuids:
                path.unlink(missing_ok=True)

    def reached(self, revision: int) -> None:
        if revision > self._revision:
            self._revision = revision
            _write(self.state_dir / "revision", f"{revision}\n")


def _write(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a crash leaves the old file)."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
