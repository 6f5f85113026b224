"""Service objects through a router: place one below, find, delete and list them.

A child is a candidate for an object when it is up and its last report says
that agents below it take objects of the object's kind and offer each
capability the object needs: bestmatch's capability filter over the children
as candidates (`routing.candidates`), in random order. They are tried in turn
as for boots: one that answers RESOURCE_EXHAUSTED (no single agent there
offers all, or they filled meanwhile) gives way to the next.

Where each object went is kept in `object_locations`, apart from the instance
index, so that instance lists, healing and reconciliation never see objects.
The row is written before the call goes down (request id → child), so a retry
of a placement whose answer was lost goes where the first went, and the
leaf's de-duplication by request id makes one object. An object the rows do
not name is looked for in every child, and its row written then.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine, delete, select

from bestmatch.api import RequestSpec
from bestmatch.filters.capability import CapabilityFilter
from bestmatch.selectors import RandomSelector
from celldb.store import transaction, upsert
from model.agents import PlaceSpec, ServiceObject
from model.call import Call
from model.compute import Resources
from model.errors import CellError, NotFound, ResourceExhausted
from routing.candidates import as_candidate, in_turn
from routing.children import Child, Children, Here, fanout
from routing.path import next_hop_to
from routing.tables import object_locations as table
from routing.validate import check_place

_STORE = "object locations"  # what a database failure names
# Hint: place the object in this cell's subtree (a full path), as a boot's
# target cell; the leaf there may narrow it to a host's agents (agents.choose).
TARGET_CELL = "target_cell"
MAX_CHILDREN = 10_000  # more than a router ever has: the selector returns them all


class ObjectRouter:
    def __init__(self, engine: Engine, children: Children, here: Here, child_timeout: float,
                 seed: int | None = None) -> None:
        self._engine = engine
        self._children = children
        self._here = here
        self._timeout = child_timeout
        # Every child that offers what is needed, in random order.
        self._selector = RandomSelector([CapabilityFilter()], seed=seed, alternates=MAX_CHILDREN)

    async def place(self, spec: PlaceSpec, call: Call) -> ServiceObject:
        check_place(spec)
        earlier = self._child_of_request(spec.request_id)
        if earlier is not None:  # a retry: where the first went
            return await self._place_in(earlier, spec, call)
        up = {c.name: c for c in self._children if self._children.is_up(c)}
        target = dict(spec.hints).get(TARGET_CELL, "")
        if target:  # only the child on the way to that cell
            hop = next_hop_to(self._here.path, target)
            up = {name: c for name, c in up.items() if hop is None or name == hop}
        wanted = RequestSpec(Resources(), spec.project, hints=dict(spec.hints), needs=frozenset(
            (f"{spec.kind}/", *(f"{spec.kind}/{need}" for need in spec.needs))))
        chosen = self._selector.select([as_candidate(c) for c in up.values()], wanted)
        if not chosen.ordered:
            needs = f" offering {', '.join(spec.needs)}" if spec.needs else ""
            raise ResourceExhausted(
                f"no cell under {self._here.path} has agents of kind {spec.kind}{needs}"
                f" ({len(up)} of {len(self._children)} cells up, none with such agents)")

        async def place_in(child: Child) -> ServiceObject:
            self._record(spec.request_id, "", child.name)
            try:
                return await self._place_in(child, spec, call)
            except ResourceExhausted:
                self._forget(spec.request_id)
                raise

        return await in_turn([up[c.name] for c in chosen.ordered], place_in,
                             f"no cell under {self._here.path} could place {spec.kind}"
                             f" object {spec.name}")

    async def _place_in(self, child: Child, spec: PlaceSpec, call: Call) -> ServiceObject:
        placed = await child.link().place_object(
            spec, timeout=call.remaining(self._timeout), metadata=call.downstream())
        self._record(spec.request_id, placed.uuid, child.name)
        return placed

    async def get(self, uuid: str, call: Call) -> ServiceObject:
        child = await self._find(uuid, call)
        return await child.link().get_object(uuid, timeout=call.remaining(self._timeout),
                                             metadata=call.downstream())

    async def delete(self, uuid: str, call: Call) -> ServiceObject:
        child = await self._find(uuid, call)
        return await child.link().delete_object(uuid, timeout=call.remaining(self._timeout),
                                                metadata=call.downstream())

    async def bind(self, uuid: str, agent: str, call: Call) -> ServiceObject:
        child = await self._find(uuid, call)
        return await child.link().bind_object(uuid, agent, timeout=call.remaining(self._timeout),
                                              metadata=call.downstream())

    async def unbind(self, uuid: str, call: Call) -> ServiceObject:
        child = await self._find(uuid, call)
        return await child.link().unbind_object(uuid, timeout=call.remaining(self._timeout),
                                                metadata=call.downstream())

    async def objects(self, kind: str, agent: str, project: str,
                      call: Call) -> list[ServiceObject]:
        """Every child's objects (those of the children that answered), by name."""
        timeout = call.remaining(self._timeout)
        up = [c for c in self._children if self._children.is_up(c)]
        answers = await fanout(up, lambda c: c.link().list_objects(
            kind, agent, project, timeout=timeout, metadata=call.downstream()))
        found = [o for _, answer in answers if isinstance(answer, list) for o in answer]
        return sorted(found, key=lambda o: (o.spec.name, o.uuid))

    async def _find(self, uuid: str, call: Call) -> Child:
        """The child holding object `uuid`: from the rows, else by asking each."""
        with transaction(self._engine, _STORE) as conn:
            name = conn.execute(select(table.c.child).where(table.c.uuid == uuid)).scalar()
        child = self._children.get(name) if name else None
        if child is not None:
            return child
        timeout = call.remaining(self._timeout)
        up = [c for c in self._children if self._children.is_up(c)]
        answers = await asyncio.gather(*(c.link().get_object(
            uuid, timeout=timeout, metadata=call.downstream()) for c in up),
            return_exceptions=True)
        for c, answer in zip(up, answers, strict=True):
            if isinstance(answer, ServiceObject):
                self._record(answer.spec.request_id, uuid, c.name)
                return c
            if isinstance(answer, CellError) and not isinstance(answer, NotFound):
                raise answer  # a child that could not say: the object may be there
        raise NotFound(f"no object {uuid[:64]} under {self._here.path}")

    # --- rows

    def _child_of_request(self, request_id: str) -> Child | None:
        with transaction(self._engine, _STORE) as conn:
            name = conn.execute(select(table.c.child)
                                .where(table.c.request_id == request_id)).scalar()
        return self._children.get(name) if name else None

    def _record(self, request_id: str, uuid: str, child: str) -> None:
        with transaction(self._engine, _STORE) as conn:
            upsert(conn, table, "request_id", {"request_id": request_id, "uuid": uuid or None,
                                               "child": child, "updated_at": time.time()})

    def _forget(self, request_id: str) -> None:
        with transaction(self._engine, _STORE) as conn:
            conn.execute(delete(table).where(table.c.request_id == request_id))
