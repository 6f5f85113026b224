"""A router cell: it has child cells and sends each call to the right one.

Boot picks a child with the selector, from the capacity each child reports,
records uuid -> child before forwarding (so a racing call finds it), and
tries the next child when one answers RESOURCE_EXHAUSTED. Every other call
looks the uuid up in the location index and forwards it to that child, with
the caller's remaining deadline and the hop count.

The index heals itself: a uuid it does not know is looked for in every child
at once (Locate) before the answer is NOT_FOUND, and a child that answers
NOT_FOUND for a uuid the index sent it has its row evicted and the uuid is
located again, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableSequence, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from bestmatch.api import HostState, RequestSpec, Selector
from cells.backend import ChangeLog, Identity, own_node
from cells.call import Call
from cells.client import AsyncCellClient
from cells.errors import (
    AlreadyExists,
    CellError,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from cells.membership import Child, Children
from cells.model import (
    ChildReport,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
    PlacementOption,
)
from cells.paging import batch_size, merge_pages, ordered_after, page_size, sort_key
from cells.retry import with_retries
from cells.topology import CellCapacity, CellNode
from cells.validate import check_boot, check_uuid
from routing.errors import NotInSubtree, UnknownInstance
from routing.index import Location, LocationIndex
from routing.path import CellPath
from virt.model import Action, BootSpec, Instance, InstanceState, Resources

log = logging.getLogger(__name__)
T = TypeVar("T")

_PAUSE_AS_SUSPEND = {Action.PAUSE: Action.SUSPEND, Action.UNPAUSE: Action.RESUME}

# Locate and Topology ask every child; one that has not answered by then is
# treated as unreachable instead of holding up the answer.
FANOUT_TIMEOUT = 2.0
# Each level of a list gives its children this share of its own time.
LIST_BUDGET_SHARE = 0.8


class RouterCell:
    def __init__(
        self,
        identity: Identity,
        children: Children,
        index: LocationIndex,
        selector: Selector,
        child_timeout: float,
        list_timeout: float = 1.0,
        direct_to_leaf: bool = False,
        pause_as_suspend: bool = False,
    ) -> None:
        self.identity = identity
        self.children = children
        self._index = index
        self._selector = selector
        self._child_timeout = child_timeout
        self._list_timeout = list_timeout
        self._direct = direct_to_leaf
        # For leaves that cannot pause (oVirt): what to do instead, if the
        # operator allows it. Without it such a pause is refused.
        self._stand_ins = _PAUSE_AS_SUSPEND if pause_as_suspend else {}
        self._leaf_links: dict[str, AsyncCellClient] = {}
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
        for child in self._candidates(spec)[0]:
            try:
                return await self._boot_in(child, spec, call)
            except ResourceExhausted as exc:
                failures.append(f"{child.name}: {exc.message}")
        raise ResourceExhausted(
            f"no cell under {self.identity.path} could take {spec.flavor}: "
            + "; ".join(failures)
        )

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        """Where `spec` would go: the first child that can plan it, looked into;
        the other candidate children after it, as alternates."""
        check_boot(spec)
        children, why = self._candidates(spec)
        failures: list[str] = []
        for n, child in enumerate(children):
            try:
                below = await with_retries(
                    lambda c=child: c.link().plan(  # type: ignore[misc]
                        spec, timeout=call.remaining(self._child_timeout),
                        metadata=call.downstream()),
                    call, idempotent=True,
                )
            except ResourceExhausted as exc:
                failures.append(f"{child.name}: {exc.message}")
                continue
            rest = tuple(PlacementOption(c.path) for c in children[n + 1:])
            return Placement(below.ranked + rest, (why, *below.explanations))
        raise ResourceExhausted(
            f"no cell under {self.identity.path} could take {spec.flavor}: "
            + "; ".join(failures)
        )

    def _candidates(self, spec: BootSpec) -> tuple[list[Child], str]:
        """Children to try, in order (the target's next hop, or the selector's
        choice), and what the filters said."""
        if spec.target_cell:
            hop = self._next_hop(spec.target_cell)
            if hop is not None:
                return [self._known_child(hop)], f"{self.identity.path}: target {hop}"
        up = [c for c in self.children if self.children.is_up(c)]
        candidates = [
            HostState(name=c.name, cell_path=c.path, total=c.capacity.total,
                      used=c.capacity.used, largest_free=c.capacity.largest_free,
                      instances=c.capacity.instances, capabilities=frozenset(c.capabilities))
            for c in up
        ]
        request = RequestSpec.of(spec)
        selection = self._selector.select(candidates, request)
        if not selection.ordered:
            down = len(self.children) - len(up)
            note = f" ({down} child cells down)" if down else ""
            raise ResourceExhausted(
                f"no cell under {self.identity.path} can take {spec.flavor}:"
                f" {selection.explain('cells')}{note}"
            )
        by_name = {c.name: c for c in up}
        explained = f"{self.identity.path}: {selection.explain('cells')}"
        return [by_name[s.name] for s in selection.ordered], explained

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
            Location(spec.uuid, child.name, "", "", spec.project, InstanceState.BUILDING.value,
                     spec.request_id, pending=True, name=spec.name, created_at=time.time())
        )
        try:
            instance = await with_retries(
                lambda: child.link().boot(
                    spec, timeout=call.remaining(self._child_timeout), metadata=call.downstream()
                ),
                call,
                idempotent=True,  # every cell de-duplicates boots by request id
            )
        except (Unavailable, DeadlineExceeded):
            # The outcome is unknown: keep the pending row so that a retry
            # with the same request id goes to the same child.
            raise
        except BaseException:
            self._index.forget(spec.uuid)
            raise
        self._index.record(_location_of(instance, child.name))
        self._changes.note(instance)
        return instance

    # ---------------------------------------------------------- actions

    async def act(self, uuid: str, action: Action, wait: bool, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        loc = await self._location(uuid, call)
        action = self._supported(loc, action)
        instance = await self._routed(
            uuid, call,
            lambda link, timeout: link.act(uuid, action, wait, timeout=timeout,
                                           metadata=call.downstream()),
            idempotent=False,
            direct=True,
            loc=loc,
        )
        if action is Action.DELETE and instance.state is InstanceState.DELETED:
            self._index.forget(uuid)  # at once, so the uuid is NOT_FOUND from here on
        # Other state changes reach the index with the child's next report,
        # in one transaction per report instead of one write per call.
        return instance

    async def get(self, uuid: str, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        return await self._routed(
            uuid, call,
            lambda link, timeout: link.get(uuid, timeout=timeout, metadata=call.downstream()),
            idempotent=True,
            direct=True,
        )

    async def locate(self, uuid: str, call: Call) -> Located:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        loc = self._index.lookup(uuid)
        if loc is not None and loc.cell_path and not loc.pending:
            return Located(uuid, loc.cell_path, loc.host)
        return await self._routed(
            uuid, call,
            lambda link, timeout: link.locate(uuid, timeout=timeout, metadata=call.downstream()),
            idempotent=True,
        )

    async def _routed(
        self,
        uuid: str,
        call: Call,
        send: Callable[[AsyncCellClient, float], Awaitable[T]],
        *,
        idempotent: bool,
        direct: bool = False,
        loc: Location | None = None,
    ) -> T:
        """Send a call about `uuid` to the child that has it (at `loc`, when the
        caller has looked it up already), healing the index."""
        loc = loc or await self._location(uuid, call)
        if direct and self._direct:
            answer = await self._try_direct(loc, call, send)
            if answer is not None:
                return answer[0]

        async def attempt(child: Child) -> T:
            return await with_retries(
                lambda: send(child.link(), call.remaining(self._child_timeout)),
                call, idempotent=idempotent,
            )

        try:
            return await attempt(self.children.require_up(loc.child))
        except NotFound:
            if loc.pending:
                raise  # a boot is under way there: the row is not stale
            # Stale: the child no longer has it. Evict, look once more.
            self._index.forget(uuid)
            moved = await self._relocate(uuid, call)
            return await attempt(self.children.require_up(moved.child))

    def _supported(self, loc: Location, action: Action) -> Action:
        """`action`, or its stand-in when the instance's leaf cannot do it and
        the operator allows one; FailedPrecondition naming the leaf otherwise.
        A leaf not reported yet decides for itself."""
        leaf = self.children.leaf(loc.cell_path) if loc.cell_path else None
        if leaf is None or leaf.supports(action):
            return action
        stand_in = self._stand_ins.get(action)
        if stand_in is not None and leaf.supports(stand_in):
            return stand_in
        raise leaf.refuse(action)

    async def _location(self, uuid: str, call: Call) -> Location:
        return self._index.lookup(uuid) or await self._relocate(uuid, call)

    async def _relocate(self, uuid: str, call: Call) -> Location:
        """Ask every child at once where `uuid` is; record and return the answer.

        UnknownInstance when every child answered that it has no such
        instance; Unavailable when some did not answer (it may be there).
        """
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        up = [c for c in self.children if self.children.is_up(c)]
        answers = await self._fanout(
            up, lambda c: c.link().locate(uuid, timeout=timeout, metadata=call.downstream())
        )
        silent = []
        for child, answer in answers:
            if isinstance(answer, Located):
                found = Location(uuid, child.name, answer.cell_path, answer.host,
                                 state=InstanceState.UNKNOWN.value)
                self._index.record(found)
                log.info("index healed: %s is in %s", uuid, answer.cell_path)
                return found
            if not isinstance(answer, NotFound):
                silent.append(child.path)
        silent += [c.path for c in self.children if c not in up]
        if silent:
            raise Unavailable(
                f"instance {uuid} is not in the index of {self.identity.path}, and"
                f" {', '.join(sorted(silent))} did not answer to say whether they have it"
            )
        raise UnknownInstance(uuid)

    async def _try_direct(
        self, loc: Location, call: Call, send: Callable[[AsyncCellClient, float], Awaitable[T]]
    ) -> tuple[T] | None:
        """Send straight to the leaf when its address is known; None to go hop by hop."""
        leaf = self.children.leaf(loc.cell_path) if loc.cell_path else None
        if leaf is None:
            return None
        address = leaf.address
        link = self._leaf_links.get(address)
        if link is None:
            link = self._leaf_links[address] = AsyncCellClient(
                address, tls=self.identity.tls, peer_name=CellPath.parse(loc.cell_path).name)
            link.label = f"cell {loc.cell_path} ({address})"
        try:
            return (await send(link, call.remaining(self._child_timeout)),)
        except (Unavailable, NotFound) as exc:
            log.info("direct call to %s failed (%s); routing hop by hop", loc.cell_path, exc)
            return None

    # ------------------------------------------------------------ lists

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        sort_key(query.sort)  # refuse an unknown sort before asking anyone
        limit = page_size(query)
        children = list(self.children)
        batch = batch_size(limit, len(children))
        # Children get part of the time left, so that this cell can still
        # answer its own caller (with UNKNOWN entries) before its deadline.
        budget = min(call.remaining(self._child_timeout), self._list_timeout)
        deadline = time.monotonic() + budget * LIST_BUDGET_SHARE
        unreachable: list[str] = []
        streams = [self._child_stream(c, query, batch, deadline, call, unreachable)
                   for c in children]
        page, token = await merge_pages(streams, query)
        return InstancePage(tuple(page), token, tuple(sorted(set(unreachable))))

    async def _child_stream(
        self, child: Child, query: ListQuery, batch: int, deadline: float, call: Call,
        unreachable: MutableSequence[str],
    ) -> AsyncIterator[Instance]:
        """One child's entries in order, fetched `batch` at a time.

        A child that is down or does not answer by `deadline` is replaced by
        the entries the index knows for it, with state UNKNOWN.
        """
        token = query.page_token
        while True:
            asked = replace(query, limit=batch, page_token=token)
            try:
                if not self.children.is_up(child):
                    raise Unavailable(f"cell {child.path} is down")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(f"cell {child.path} did not answer in time")
                page = await child.link().list(asked, timeout=left,
                                               metadata=call.downstream())
            except CellError as exc:
                if isinstance(exc, InvalidArgument):
                    raise
                unreachable.append(child.path)
                for stub in self._stubs(child, asked):
                    yield stub
                return
            unreachable.extend(page.unreachable_cells)
            for instance in page.instances:
                yield instance
            if not page.next_page_token:
                return
            token = page.next_page_token

    def _stubs(self, child: Child, query: ListQuery) -> Sequence[Instance]:
        """What the index knows of `child`'s instances, as UNKNOWN entries."""
        if query.state not in (None, InstanceState.UNKNOWN):
            return []
        known = (
            Instance(uuid=loc.uuid, name=loc.name, state=InstanceState.UNKNOWN,
                     flavor=Resources(), host=loc.host, cell_path=loc.cell_path or child.path,
                     project=loc.project, request_id=loc.request_id or "",
                     created_at=datetime.fromtimestamp(loc.created_at, UTC)
                     if loc.created_at else None)
            for loc in self._index.in_child(child.name)
        )
        return ordered_after(known, replace(query, state=None))

    # --------------------------------------------------------- topology

    async def topology(self, call: Call) -> CellNode:
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        children = list(self.children)
        answers = await self._fanout(
            children, lambda c: c.link().topology(timeout=timeout, metadata=call.downstream()))
        nodes = []
        for child, answer in answers:
            if isinstance(answer, CellNode):
                nodes.append(replace(answer, up=self.children.is_up(child)))
            else:
                nodes.append(CellNode(child.name, child.path, child.kind, child.address,
                                      False, child.capacity, child.capabilities))
        return own_node(self, children=tuple(nodes))

    async def _fanout(
        self, children: Sequence[Child], ask: Callable[[Child], Awaitable[T]]
    ) -> Sequence[tuple[Child, T | BaseException]]:
        """Ask `children` concurrently; failures come back as exceptions."""
        answers = await asyncio.gather(*(ask(c) for c in children), return_exceptions=True)
        return list(zip(children, answers, strict=True))

    # -------------------------------------------------- reconciliation

    async def reconcile(self, child: Child) -> int:
        """Bring the index's rows for `child` in line with what the child holds
        (after it registered: it may have restarted, or this cell lost rows).

        Rows the child has are recorded or corrected; finished rows it does not
        have are dropped. A pending row is left to its boot; when part of the
        subtree does not answer, nothing is dropped (it may be there). Returns
        how many rows changed.
        """
        held: dict[str, Instance] = {}
        token, partial = "", False
        while True:
            page = await child.link().list(ListQuery(limit=1000, page_token=token),
                                           timeout=self._child_timeout)
            partial = partial or bool(page.unreachable_cells)
            held.update((i.uuid, i) for i in page.instances
                        if i.state is not InstanceState.UNKNOWN)
            if not page.next_page_token:
                break
            token = page.next_page_token
        changed = 0
        known = {loc.uuid: loc for loc in self._index.in_child(child.name, limit=1_000_000)}
        for uuid, instance in held.items():
            loc = known.get(uuid)
            if loc is None or loc.pending or (loc.cell_path, loc.host) != (
                    instance.cell_path, instance.host):
                self._index.record(_location_of(instance, child.name))
                changed += 1
        if not partial:
            for uuid, loc in known.items():
                if uuid not in held and not loc.pending:
                    self._index.forget(uuid)
                    changed += 1
        if changed:
            log.info("reconciled %d index rows with %s", changed, child.path)
        return changed

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
        """Actions that every leaf below supports, as the reports last said
        (a child's registration is too early: its own children come later)."""
        sets = [set(leaf.actions) for leaf in self.children.leaves()]
        return tuple(sorted(set.intersection(*sets))) if sets else ()

    def leaves(self) -> tuple[LeafInfo, ...]:
        return self.children.leaves()

    def changes(self) -> ChangeLog:
        return self._changes

    async def refresh(self) -> None:
        pass  # children push their capacity; nothing to fetch

    async def close(self) -> None:
        for link in self._leaf_links.values():
            await link.close()
        await self.children.close()


def _location_of(instance: Instance, child: str) -> Location:
    created = instance.created_at.timestamp() if instance.created_at else time.time()
    return Location(instance.uuid, child, instance.cell_path, instance.host, instance.project,
                    instance.state.value, instance.request_id or None, pending=False,
                    name=instance.name, created_at=created)
