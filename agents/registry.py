"""The agents a leaf cell knows: who reported, what they are, whether they are up.

Agents are never created by an operator, only by their first report (as
Neutron's agents are); an agent whose reports stop is marked down after
`down_after` seconds, and kept: only an operator removes one. Reports are
checked (`agents.validate`); an agent id already held by an agent on another
host is refused, so two agents cannot share an identity by mistake.

What an agent says is kept in the cell's database (the `agents` table), so a
restarted leaf knows its agents at once; it counts them up for one down period
after it starts, giving them time to report. Heartbeat times stay in memory:
a report that changes nothing writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select

from agents.tables import agents as agents_table
from agents.validate import check_report
from celldb.store import transaction, upsert
from model.agents import Agent, AgentReport, Heard
from model.errors import AlreadyExists, NotFound

_STORE = "agent registry"  # what a database failure names


@dataclass(slots=True)
class _Known:
    report: AgentReport
    enabled: bool
    first_heard: float  # wall clock
    last_seen: float  # monotonic


class AgentRegistry:
    def __init__(self, engine: Engine, down_after: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self.down_after = down_after
        self._clock = clock
        self._known: dict[str, _Known] = {}
        self._load()

    def __len__(self) -> int:
        return len(self._known)

    def report(self, report: AgentReport) -> Heard:
        """Record an agent's report; InvalidArgument for a malformed one,
        AlreadyExists when another host holds its id."""
        check_report(report)
        now = self._clock()
        known = self._known.get(report.id)
        if known is None:
            self._known[report.id] = _Known(report, True, time.time(), now)
            self._save(report.id)
            return Heard.NEW
        if known.report.host != report.host:
            raise AlreadyExists(
                f"agent id {report.id} is held by the agent on host {known.report.host};"
                f" an agent on {report.host[:255]} cannot report under it (give it another"
                f" id, or remove the old agent first: `cellrouter agents remove {report.id}`)")
        revived = now - known.last_seen > self.down_after
        known.last_seen = now
        if known.report != report:
            known.report = report
            self._save(report.id)
        return Heard.REVIVED if revived else Heard.ALIVE

    def agents(self) -> list[Agent]:
        """Every agent, by id."""
        return [self._view(k) for _, k in sorted(self._known.items())]

    def offers(self) -> tuple[tuple[str, int], ...]:
        """The agents that take new objects, counted by "KIND/" and by
        "KIND/CAPABILITY" (what a leaf reports up, for routers to choose by)."""
        counts: dict[str, int] = {}
        for agent in self.agents():
            if agent.takes_objects:
                r = agent.report
                for key in (f"{r.kind}/", *(f"{r.kind}/{c}" for c in r.capabilities)):
                    counts[key] = counts.get(key, 0) + 1
        return tuple(sorted(counts.items()))

    def get(self, agent_id: str) -> Agent:
        return self._view(self._require(agent_id))

    def set_enabled(self, agent_id: str, enabled: bool) -> Agent:
        """An operator's switch: a disabled agent keeps its objects and takes no new ones."""
        known = self._require(agent_id)
        if known.enabled != enabled:
            known.enabled = enabled
            self._save(agent_id)
        return self._view(known)

    def remove(self, agent_id: str) -> None:
        self._require(agent_id)
        del self._known[agent_id]
        with transaction(self._engine, _STORE) as conn:
            conn.execute(delete(agents_table).where(agents_table.c.id == agent_id))

    def _require(self, agent_id: str) -> _Known:
        known = self._known.get(agent_id)
        if known is None:
            raise NotFound(f"no agent {agent_id[:255]!r} has reported to this cell")
        return known

    def _view(self, known: _Known) -> Agent:
        silent = self._clock() - known.last_seen
        return Agent(known.report, silent <= self.down_after, known.enabled, silent,
                     known.first_heard)

    # --- persistence

    def _save(self, agent_id: str) -> None:
        known = self._known[agent_id]
        r = known.report
        values = {"id": r.id, "host": r.host, "kind": r.kind,
                  "capabilities": json.dumps(list(r.capabilities)),
                  "availability_zone": r.availability_zone, "admin_up": r.admin_up,
                  "load": r.load, "enabled": known.enabled, "first_heard": known.first_heard}
        with transaction(self._engine, _STORE) as conn:
            upsert(conn, agents_table, "id", values)

    def _load(self) -> None:
        with transaction(self._engine, _STORE) as conn:
            rows = conn.execute(select(agents_table)).all()
        now = self._clock()
        for row in rows:
            report = AgentReport(row.id, row.host, row.kind,
                                 tuple(json.loads(row.capabilities)), row.availability_zone,
                                 bool(row.admin_up), int(row.load))
            self._known[row.id] = _Known(report, bool(row.enabled), float(row.first_heard), now)
