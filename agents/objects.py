"""The service objects a leaf has bound to its agents, in its database.

Every binding change (an object bound, moved, deleted) takes the leaf's next
revision and is logged (`binding_log`: at a revision, an object bound to an
agent, or let go by it), so an agent's watch resumes exactly: it is sent the
log's entries for it after the last revision it saw, in order, however many
moves happened meanwhile. A state an agent reports (ACTIVE, ERROR) is not a
binding change and takes no revision: the agent knows it already.

A deleted object keeps its row, in state DELETED, so that an agent that was
away learns of the deletion when it comes back.

Whoever must hear of binding changes (cells.object_notify: the leaf's
notifications) is given as `BindingNotices`: told of each change on the
connection of its transaction, so what it writes commits with the change.
"""

from __future__ import annotations

import asyncio
import json
import uuid as uuidlib
from collections import Counter
from dataclasses import replace
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, Row, func, select, update

from agents.tables import binding_log as log
from agents.tables import service_objects as table
from celldb.store import transaction
from model.agents import BindingEvent, ObjectState, PlaceSpec, ServiceObject
from model.errors import FailedPrecondition, NotFound

_STORE = "service objects"  # what a database failure names


class BindingChange(Enum):
    BOUND = "bound"  # a new object, on its first agent
    MOVED = "moved"  # to another agent than before
    DELETED = "deleted"


class BindingNotices(Protocol):
    """Hears of every binding change, inside its transaction."""

    def binding_changed(self, conn: Connection, change: BindingChange, obj: ServiceObject,
                        previous_agent: str = "") -> None:
        """`obj` as `change` left it (`previous_agent`: the agent it was bound to
        before a move; "" otherwise). Runs on `conn`, in the change's transaction,
        before its commit: whatever it writes there commits or rolls back with
        the change. Must not await or block on anything but `conn`; may raise
        DatabaseUnavailable, and the change then fails."""
        ...


class ObjectStore:
    def __init__(self, engine: Engine, cell_path: str = "",
                 notices: BindingNotices | None = None) -> None:
        self._engine = engine
        self.cell_path = cell_path  # written into each object given out
        self._notices = notices
        with transaction(engine, _STORE) as conn:
            self.revision = int(conn.execute(select(func.max(table.c.revision))).scalar() or 0)
            rows = conn.execute(select(table.c.agent, func.count())
                                .where(table.c.state != ObjectState.DELETED.value)
                                .group_by(table.c.agent)).all()
        self._held: Counter[str] = Counter({agent: int(n) for agent, n in rows})
        self._changed = asyncio.Event()

    # --- reads

    def get(self, uuid: str) -> ServiceObject:
        found = self._select(table.c.uuid == uuid)
        if not found:
            raise NotFound(f"no object {uuid[:64]} in this cell")
        return found[0]

    def by_request_id(self, request_id: str) -> ServiceObject | None:
        found = self._select(table.c.request_id == request_id)
        return found[0] if found else None

    def objects(self, kind: str = "", agent: str = "", project: str = "") -> list[ServiceObject]:
        """The live objects (not DELETED), by name."""
        where = [table.c.state != ObjectState.DELETED.value]
        for column, value in ((table.c.kind, kind), (table.c.agent, agent),
                              (table.c.project, project)):
            if value:
                where.append(column == value)
        return sorted(self._select(*where), key=lambda o: (o.spec.name, o.uuid))

    def held(self) -> Counter[str]:
        """How many live objects each agent holds (counted once at start, then
        kept: this process is the only one writing the table)."""
        return Counter(self._held)

    def events(self, agent: str, after: int) -> list[BindingEvent]:
        """What `agent` must hear: with `after` 0, every object it holds now; else
        each object whose binding changed after revision `after` and that is or
        was the agent's, in revision order."""
        if after <= 0:
            live = self._select(table.c.agent == agent,
                                table.c.state != ObjectState.DELETED.value)
            return [BindingEvent(o.revision, o, True) for o in sorted(live, key=_revision)]
        with transaction(self._engine, _STORE) as conn:
            entries = conn.execute(
                select(log.c.revision, log.c.uuid, log.c.bound)
                .where(log.c.agent == agent, log.c.revision > after)
                .order_by(log.c.revision)).all()
        objects = {o.uuid: o for o in self._select(
            table.c.uuid.in_({uuid for _, uuid, _ in entries}))} if entries else {}
        return [BindingEvent(int(revision), objects[uuid], bool(bound))
                for revision, uuid, bound in entries]

    async def changed_after(self, revision: int) -> None:
        """Return once a binding change past `revision` has happened."""
        while self.revision <= revision:
            await self._changed.wait()

    # --- writes

    def bind(self, spec: PlaceSpec, agent: str) -> ServiceObject:
        """A new object on `agent` (the caller chose it and checked the request
        id is new: the database refuses a second one anyway)."""
        made = ServiceObject(str(uuidlib.uuid4()), spec, agent, self.cell_path,
                             revision=self.revision + 1)
        with transaction(self._engine, _STORE) as conn:
            conn.execute(table.insert().values(_row(made)))
            _log(conn, made.revision, made.uuid, (agent, True))
            self._tell(conn, BindingChange.BOUND, made)
        self._held[agent] += 1
        self._bumped(made.revision)
        return made

    def move(self, uuid: str, agent: str) -> ServiceObject:
        obj = self._live(uuid)
        if obj.agent == agent:
            return obj
        moved = replace(obj, agent=agent, state=ObjectState.PENDING, fault="",
                        revision=self.revision + 1)
        self._write(moved, (BindingChange.MOVED, obj.agent), (obj.agent, False), (agent, True))
        self._held[obj.agent] -= 1
        self._held[agent] += 1
        return moved

    def delete(self, uuid: str) -> ServiceObject:
        obj = self.get(uuid)
        if obj.state is ObjectState.DELETED:
            return obj
        gone = replace(obj, state=ObjectState.DELETED, revision=self.revision + 1)
        self._write(gone, (BindingChange.DELETED, ""), (obj.agent, False))
        self._held[obj.agent] -= 1
        return gone

    def set_state(self, agent: str, uuid: str, state: ObjectState, fault: str) -> ServiceObject:
        """An agent's word on an object it holds; FailedPrecondition when it does not."""
        obj = self._live(uuid)
        if obj.agent != agent:
            raise FailedPrecondition(f"object {uuid} is bound to agent {obj.agent}, not to"
                                     f" {agent[:255]}: only its agent reports its state")
        if state not in (ObjectState.ACTIVE, ObjectState.ERROR):
            raise FailedPrecondition(f"an agent reports an object ACTIVE or ERROR, not"
                                     f" {state.value}")
        done = replace(obj, state=state, fault=fault if state is ObjectState.ERROR else "")
        with transaction(self._engine, _STORE) as conn:
            conn.execute(update(table).where(table.c.uuid == uuid)
                         .values(state=done.state.value, fault=done.fault))
        return done

    def _live(self, uuid: str) -> ServiceObject:
        obj = self.get(uuid)
        if obj.state is ObjectState.DELETED:
            raise NotFound(f"object {uuid[:64]} was deleted")
        return obj

    def _write(self, obj: ServiceObject, told: tuple[BindingChange, str],
               *changes: tuple[str, bool]) -> None:
        """Save `obj`, a binding change (`told`: which, and the agent before it),
        with its log entries: (agent, bound)."""
        with transaction(self._engine, _STORE) as conn:
            conn.execute(update(table).where(table.c.uuid == obj.uuid).values(_row(obj)))
            _log(conn, obj.revision, obj.uuid, *changes)
            self._tell(conn, told[0], obj, told[1])
        self._bumped(obj.revision)

    def _tell(self, conn: Connection, change: BindingChange, obj: ServiceObject,
              previous: str = "") -> None:
        if self._notices is not None:
            self._notices.binding_changed(conn, change, obj, previous)

    def _bumped(self, revision: int) -> None:
        self.revision = revision
        event, self._changed = self._changed, asyncio.Event()
        event.set()  # every watcher waiting wakes, and waits on the new event

    def _select(self, *where: ColumnElement[bool]) -> list[ServiceObject]:
        with transaction(self._engine, _STORE) as conn:
            rows = conn.execute(select(table).where(*where)).all()
        return [self._object(row) for row in rows]

    def _object(self, r: Row[Any]) -> ServiceObject:
        spec = PlaceSpec(r.request_id, r.name, r.kind, tuple(json.loads(r.needs)),
                         tuple(sorted(json.loads(r.hints).items())), r.project)
        return ServiceObject(r.uuid, spec, r.agent, self.cell_path, ObjectState(r.state),
                             r.fault, int(r.revision))


def _revision(obj: ServiceObject) -> int:
    return obj.revision


def _row(obj: ServiceObject) -> dict[str, object]:
    s = obj.spec
    return {"uuid": obj.uuid, "request_id": s.request_id, "name": s.name, "kind": s.kind,
            "needs": json.dumps(list(s.needs)), "hints": json.dumps(dict(s.hints)),
            "project": s.project, "agent": obj.agent, "state": obj.state.value,
            "fault": obj.fault, "revision": obj.revision}



def _log(conn: Connection, revision: int, uuid: str, *changes: tuple[str, bool]) -> None:
    conn.execute(log.insert(), [{"revision": revision, "uuid": uuid, "agent": agent,
                                 "bound": bound} for agent, bound in changes])
