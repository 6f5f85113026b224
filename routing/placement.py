"""Placing a new instance one level down: choose a child, then forward the boot.

Each router picks a child with its selector (`bestmatch`), from the capacity
each child reports; a target cell in the request picks the next hop on the
way to it instead. The router writes `uuid -> child` to its index as pending
before it forwards the boot, so a call racing the boot finds it. A child that
answers RESOURCE_EXHAUSTED makes it try the next candidate. Boots are
idempotent on their request id: a retried boot goes to the child that had it.
"""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from dataclasses import replace

from bestmatch.api import RequestSpec, Selector
from bestmatch.filters.affinity import GROUP
from model.call import Call
from model.cells import Placement, PlacementOption
from model.compute import BootSpec, Instance, InstanceState
from model.errors import (
    AlreadyExists,
    CellError,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from routing.candidates import as_candidate, in_turn
from routing.children import Child, Children, Here
from routing.errors import Conflict, NotInSubtree
from routing.index import Location, LocationIndex, location_of
from routing.near import narrowed, soft_members
from routing.path import CellPath
from routing.retry import with_retries
from routing.validate import check_boot


class Placer:
    def __init__(self, here: Here, children: Children, index: LocationIndex,
                 selector: Selector, child_timeout: float) -> None:
        self._here = here
        self._children = children
        self._index = index
        self._selector = selector
        self._child_timeout = child_timeout

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        check_boot(spec)
        earlier = self._index.by_request_id(spec.request_id)
        if earlier is not None:
            return await self._follow(earlier, spec, call)
        if not spec.uuid:
            spec = replace(spec, uuid=str(uuidlib.uuid4()))
        elif (taken := self._index.lookup(spec.uuid)) is not None:
            if taken.request_id == spec.request_id:  # recorded since the look-up above
                return await self._follow(taken, spec, call)
            raise AlreadyExists(f"instance uuid {spec.uuid} is already in use")
        return await in_turn(self._candidates(spec)[0],
                             lambda child: self._boot_in(child, spec, call),
                             f"no cell under {self._here.path} could take {spec.flavor}")

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        """Where `spec` would go: the first child that can plan it, looked into;
        the other candidate children after it, as alternates."""
        check_boot(spec)
        children, why = self._candidates(spec)

        async def plan_in(child: Child) -> Placement:
            below = await with_retries(
                lambda: child.link().plan(spec, timeout=call.remaining(self._child_timeout),
                                          metadata=call.downstream()),
                call, idempotent=True,
            )
            rest = tuple(PlacementOption(c.path) for c in children[children.index(child) + 1:])
            return Placement(below.ranked + rest, (why, *below.explanations))

        return await in_turn(children, plan_in,
                             f"no cell under {self._here.path} could take {spec.flavor}")

    def _candidates(self, spec: BootSpec) -> tuple[list[Child], str]:
        """Children to try, in order (the target's next hop, or the selector's
        choice), and what the filters said."""
        if spec.target_cell:
            hop = self._next_hop(spec.target_cell)
            if hop is not None:
                return [self._known_child(hop)], f"{self._here.path}: target {hop}"
        hints = dict(spec.hints)
        up = narrowed([c for c in self._children if self._children.is_up(c)], hints,
                      self._index)
        members = soft_members(hints, self._index)
        selection = self._selector.select([as_candidate(c, members.get(c.name)) for c in up],
                                          RequestSpec.of(spec))
        if not selection.ordered:
            down = len(self._children) - len(up)
            note = f" ({down} child cells down)" if down else ""
            raise ResourceExhausted(
                f"no cell under {self._here.path} can take {spec.flavor}:"
                f" {selection.explain('cells')}{note}"
            )
        by_name = {c.name: c for c in up}
        explained = f"{self._here.path}: {selection.explain('cells')}"
        return [by_name[s.name] for s in selection.ordered], explained

    def _next_hop(self, target: str) -> str | None:
        """The child on the way to `target`; None when target is here or above."""
        me, goal = CellPath.parse(self._here.path), CellPath.parse(target)
        if goal.contains(me):
            return None
        try:
            return me.next_hop(goal)
        except NotInSubtree:
            raise InvalidArgument(
                f"target cell {target} is not inside {self._here.path}") from None

    def _known_child(self, name: str) -> Child:
        if self._children.get(name) is None:
            raise NotFound(f"no cell {self._here.path}!{name}")
        return self._children.require_up(name)

    async def _follow(self, earlier: Location, spec: BootSpec, call: Call) -> Instance:
        """A boot whose request id the index has: the child that had it answers
        with the same instance (a retry, or the same boot at another replica)."""
        spec = replace(spec, uuid=earlier.uuid)
        child = self._children.require_up(earlier.child)
        return await self._boot_in(child, spec, call, following=True)

    async def _boot_in(self, child: Child, spec: BootSpec, call: Call,
                       following: bool = False) -> Instance:
        pending = Location(spec.uuid, child.name, "", "", spec.project,
                           InstanceState.BUILDING.value, spec.request_id, pending=True,
                           name=spec.name, created_at=time.time(),
                           server_group=dict(spec.hints).get(GROUP, ""))
        try:
            if following:
                self._index.record(pending)  # the row is there: the same boot, again
            else:
                self._index.claim(pending)
        except Conflict:
            # The same boot recorded a moment ago, by a retry or by another replica
            # of this cell over the same database: the row's insert is where they
            # meet, and the one that lost follows the one that won (once).
            winner = self._index.by_request_id(spec.request_id)
            if winner is None or following:
                raise
            return await self._follow(winner, spec, call)
        try:
            instance = await with_retries(
                lambda: child.link().boot(
                    spec, timeout=call.remaining(self._child_timeout), metadata=call.downstream()
                ),
                call,
                idempotent=True,  # every cell de-duplicates boots by request id
            )
        except (Unavailable, DeadlineExceeded, asyncio.CancelledError):
            # The outcome is unknown (the child may be building it; or our caller
            # went away, cancelling this call, while the child carries on): keep
            # the pending row so that a retry with the same request id goes to
            # the same child.
            raise
        except CellError:
            self._index.forget(spec.uuid)  # the child said no: nothing was built
            raise
        self._index.record(replace(location_of(instance, child.name),
                                   server_group=pending.server_group))
        return instance
