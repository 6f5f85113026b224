"""A reference agent, and the class to write agents in Python with.

`Agent` is the library part: give it the leaf's address and a function that
says what the agent is now (`AgentReport`), and `run()` reports every
interval, forever: a report refused for bad input stops it with the reason
(nothing would change by trying again); an unreachable cell is tried again
each interval, as a parent is by a child.

The reference agent (`cellrouter agent`) owns a state directory and holds its
objects as one JSON file each under `objects/`; its load is their number.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path

from agents.client import AgentsClient
from model.agents import AgentReport, Heard
from model.errors import AlreadyExists, CellError, InvalidArgument

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, cell: str, describe: Callable[[], AgentReport], interval: float,
                 client: AgentsClient | None = None) -> None:
        self.cell = cell
        self._describe = describe
        self.interval = interval
        self._client = client or AgentsClient(cell, timeout=max(interval, 1.0))
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
        """Report every interval until cancelled; raises on a refused report."""
        try:
            while True:
                try:
                    await self.report_once()
                except (InvalidArgument, AlreadyExists):
                    raise
                except CellError as exc:
                    log.warning("agent: cell %s: %s", self.cell, exc)
                await asyncio.sleep(self.interval)
        finally:
            await self._client.close()


class FileAgent:
    """The reference agent's state: its objects, one JSON file each."""

    def __init__(self, state_dir: Path, agent_id: str, kind: str,
                 capabilities: tuple[str, ...], availability_zone: str = "",
                 host: str = "") -> None:
        self.objects = state_dir / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._fixed = AgentReport(agent_id, host or socket.gethostname(), kind, capabilities,
                                  availability_zone)

    def describe(self) -> AgentReport:
        """What it is now: its load is the objects it holds."""
        held = sum(1 for _ in self.objects.glob("*.json"))
        r = self._fixed
        return AgentReport(r.id, r.host, r.kind, r.capabilities, r.availability_zone,
                           r.admin_up, held)
