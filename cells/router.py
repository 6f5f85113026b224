"""A router cell: it has child cells and sends each call to the right one.

Boot picks a child with the selector, from the capacity each child reports,
records uuid -> child before forwarding (so a racing call finds it), and
tries the next child when one answers RESOURCE_EXHAUSTED. Every other call
looks the uuid up in the location index and forwards it to that child, with
the caller's remaining deadline and the hop count.
"""

from __future__ import annotations

import asyncio
import logging
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from bestmatch.api import HostState, RequestSpec, Selector
from cells.backend import ChangeLog, Identity
from cells.call import Call
from cells.errors import (
    AlreadyExists,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from cells.membership import Child, Children
from cells.model import ChildReport, InstanceChange, InstancePage, ListQuery, Located
from cells.topology import CellCapacity, CellNode
from cells.validate import check_boot, check_uuid
from routing.errors import NotInSubtree, UnknownInstance
from routing.index import Location, LocationIndex
from routing.path import CellPath
from virt.model import Action, BootSpec, Instance, InstanceState

log = logging.getLogger(__name__)
T = TypeVar("T")

# Topology and List ask every child; one that has not answered by then is
# shown as unreachable instead of holding up the answer.
FANOUT_TIMEOUT = 1.0


class RouterCell:
    def __init__(
        self,
        identity: Identity,
        children: Children,
        index: LocationIndex,
        selector: Selector,
        child_timeout: float,
    ) -> None:
        self.identity = identity
        self.children = children
        self._index = index
        self._selector = selector
        self._child_timeout = child_timeout
        self._changes = ChangeLog()

    # ------------------------------------------------------------ boot

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        check_boot(spec)
        earlier = self._index.by_request_id(spec.request_id)
        if earlier is not None:
            # A retried boot: the child that had it answers with the same instance.
            spec = replace(spec, uuid=earlier.uuid)
            return await self._boot_in(self.children.require_up(earlier.child), spec, call)
        if not spec.uuid:
            spec = replace(spec, uuid=str(uuidlib.uuid4()))
        elif self._index.lookup(spec.uuid) is not None:
            raise AlreadyExists(f"instance uuid {spec.uuid} is already in use")
        failures: list[str] = []
        for child in self._candidates(spec):
            try:
                return await self._boot_in(child, spec, call)
            except ResourceExhausted as exc:
                failures.append(f"{child.name}: {exc.message}")
        raise ResourceExhausted(
            f"no cell under {self.identity.path} could take {spec.flavor}: "
            + "; ".join(failures)
        )

    def _candidates(self, spec: BootSpec) -> list[Child]:
        """Children to try, in order: the target's next hop, or the selector's choice."""
        if spec.target_cell:
            hop = self._next_hop(spec.target_cell)
            if hop is not None:
                return [self._known_child(hop)]
        up = [c for c in self.children if self.children.is_up(c)]
        candidates = [
            HostState(c.name, c.path, c.capacity.total, c.capacity.used,
                      c.capacity.largest_free, True, c.capacity.instances)
            for c in up
        ]
        request = RequestSpec(spec.flavor, spec.project, spec.image, dict(spec.hints))
        selection = self._selector.select(candidates, request)
        if not selection.ordered:
            down = len(self.children) - len(up)
            note = f" ({down} child cells down)" if down else ""
            raise ResourceExhausted(
                f"no cell under {self.identity.path} can take {spec.flavor}:"
                f" {selection.explain('cells')}{note}"
            )
        by_name = {c.name: c for c in up}
        return [by_name[s.name] for s in selection.ordered]

    def _next_hop(self, target: str) -> str | None:
        """The child on the way to `target`; None when target is here or above."""
        me, goal = CellPath.parse(self.identity.path), CellPath.parse(target)
        if goal.contains(me):
            return None
        try:
            return me.next_hop(goal)
        except NotInSubtree:
            raise InvalidArgument(
                f"target cell {target} is not inside {self.identity.path}"
            ) from None

    def _known_child(self, name: str) -> Child:
        if self.children.get(name) is None:
            raise NotFound(f"no cell {self.identity.path}!{name}")
        return self.children.require_up(name)

    async def _boot_in(self, child: Child, spec: BootSpec, call: Call) -> Instance:
        self._index.record(
            Location(spec.uuid, child.name, "", "", spec.project,
                     InstanceState.BUILDING.value, spec.request_id, pending=True)
        )
        try:
            instance = await child.link().boot(
                spec, timeout=call.remaining(self._child_timeout), metadata=call.downstream()
            )
        except (Unavailable, DeadlineExceeded):
            # The outcome is unknown: keep the pending row so that a retry
            # with the same request id goes to the same child.
            raise
        except BaseException:
            self._index.forget(spec.uuid)
            raise
        self._index.set_state(instance.uuid, instance.state.value, instance.cell_path,
                              instance.host)
        self._note(instance)
        return instance

    # ---------------------------------------------------------- actions

    async def act(self, uuid: str, action: Action, wait: bool, call: Call) -> Instance:
        child = self._route(uuid)
        try:
            instance = await child.link().act(
                uuid, action, wait,
                timeout=call.remaining(self._child_timeout), metadata=call.downstream(),
            )
        except NotFound:
            self._index.forget(uuid)  # the child no longer has it: drop the stale row
            raise
        if action is Action.DELETE and instance.state is InstanceState.DELETED:
            self._index.forget(uuid)  # at once, so the uuid is NOT_FOUND from here on
        # Other state changes reach the index with the child's next report,
        # in one transaction per report instead of one write per call.
        return instance

    def _route(self, uuid: str) -> Child:
        check_uuid(uuid)
        loc = self._index.lookup(uuid)
        if loc is None:
            raise UnknownInstance(uuid)
        return self.children.require_up(loc.child)

    # ------------------------------------------------------------ reads

    async def get(self, uuid: str, call: Call) -> Instance:
        child = self._route(uuid)
        timeout = call.remaining(self._child_timeout)
        return await child.link().get(uuid, timeout=timeout, metadata=call.downstream())

    async def locate(self, uuid: str, call: Call) -> Located:
        child = self._route(uuid)
        loc = self._index.lookup(uuid)
        if loc is not None and loc.cell_path and not loc.pending:
            return Located(uuid, loc.cell_path, loc.host)
        timeout = call.remaining(self._child_timeout)
        return await child.link().locate(uuid, timeout=timeout, metadata=call.downstream())

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        answers = await self._fanout(
            lambda c: c.link().list(query, timeout=timeout, metadata=call.downstream()))
        instances: list[Instance] = []
        unreachable: list[str] = []
        for child, answer in answers:
            if isinstance(answer, InstancePage):
                instances.extend(answer.instances)
                unreachable.extend(answer.unreachable_cells)
            else:
                unreachable.append(child.path)
        instances.sort(key=lambda i: (i.name, i.uuid))
        if query.limit:
            instances = instances[: query.limit]
        return InstancePage(tuple(instances), "", tuple(unreachable))

    async def topology(self, call: Call) -> CellNode:
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        answers = await self._fanout(
            lambda c: c.link().topology(timeout=timeout, metadata=call.downstream()))
        nodes = []
        for child, answer in answers:
            if isinstance(answer, CellNode):
                nodes.append(replace(answer, up=self.children.is_up(child)))
            else:
                nodes.append(CellNode(child.name, child.path, child.kind, child.address,
                                      False, child.capacity, child.capabilities))
        return CellNode(
            name=self.identity.name,
            path=self.identity.path,
            kind=self.identity.kind,
            address=self.identity.address,
            up=True,
            capacity=self.capacity(),
            capabilities=self.capabilities(),
            children=tuple(nodes),
        )

    async def _fanout(
        self, ask: Callable[[Child], Awaitable[T]]
    ) -> Sequence[tuple[Child, T | BaseException]]:
        """Ask every child concurrently; failures come back as exceptions."""
        children = list(self.children)
        calls = [ask(c) for c in children]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        return list(zip(children, answers, strict=True))

    # ------------------------------------------------- parent service

    def on_report(self, report: ChildReport) -> Child:
        """A child's heartbeat: record it and apply its instance changes."""
        child = self.children.report(report)
        if report.changes:
            self._index.apply(
                (c.uuid, c.state.value, c.cell_path, c.host) for c in report.changes
            )
            for change in report.changes:
                self._changes.add(change)
        return child

    # ------------------------------------------------------- reporting

    def capacity(self) -> CellCapacity:
        return CellCapacity.combine(c.capacity for c in self.children if self.children.is_up(c))

    def capabilities(self) -> tuple[str, ...]:
        """Actions that every child subtree supports."""
        sets = [set(c.capabilities) for c in self.children]
        return tuple(sorted(set.intersection(*sets))) if sets else ()

    def changes(self) -> ChangeLog:
        return self._changes

    async def refresh(self) -> None:
        pass  # children push their capacity; nothing to fetch

    async def close(self) -> None:
        await self.children.close()

    def _note(self, instance: Instance) -> None:
        self._changes.add(
            InstanceChange(instance.uuid, instance.state, instance.cell_path, instance.host)
        )

