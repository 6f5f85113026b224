"""A router cell: a thin shell that answers a cell's calls with `routing/`.

    boot, plan          routing.placement   choose a child, record, forward
    act, get            routing.fastpath    as bytes, when the index knows where (the edge)
                        routing.forward     else look up (routing.locate), forward, heal
    locate              here                from the index, else routing.forward
    list                routing.lists       every child at once, merged page by page
    reconcile           routing.reconcile   the index against a child that registered
    topology            here                every child's subtree, at once

What the shell adds: an action a leaf cannot do is refused (or replaced by
its stand-in) before it is routed, deletes leave the index at once, and
every instance change is queued for this cell's own parent.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bestmatch.api import Selector
from cells.backend import ChangeLog, Identity, own_node
from model.call import Call
from model.cells import (
    CellCapacity,
    CellNode,
    ChildReport,
    InstanceChange,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
)
from model.compute import Action, BootSpec, Instance, InstanceState, Resources
from model.edits import Edit, check
from model.errors import NotFound
from model.instance_actions import ActionLog
from routing.children import Child, Children, fanout
from routing.errors import BadPath, UnknownInstance
from routing.fastpath import FastPath
from routing.forward import Forwarder, LeafLinks
from routing.history import History
from routing.index import Location, LocationIndex
from routing.link import Connect
from routing.lists import Lister
from routing.locate import FANOUT_TIMEOUT, Locator
from routing.path import CellPath
from routing.placement import Placer
from routing.reconcile import reconcile
from routing.validate import check_uuid

log = logging.getLogger(__name__)

_PAUSE_AS_SUSPEND = {Action.PAUSE: Action.SUSPEND, Action.UNPAUSE: Action.RESUME}


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
        connect: Connect | None = None,
    ) -> None:
        """`connect` makes links to leaves for `direct_to_leaf` (the children
        have their own, from `Children`)."""
        self.identity = identity
        self.children = children
        self._index = index
        self._child_timeout = child_timeout
        self._locator = Locator(identity, children, index, child_timeout)
        leaves = (LeafLinks(children, connect, child_timeout) if direct_to_leaf and connect
                  else None)
        self._leaves = leaves
        self._forwarder = Forwarder(children, self._locator, child_timeout, leaves)
        # Instance logs, also of deleted instances (asked of every child).
        self._history = History(identity, children, index, self._forwarder, child_timeout)
        # Actions and Get as bytes, when the index knows where (cells.edge).
        self.fast = FastPath(children, index, child_timeout, leaves)
        self._placer = Placer(identity, children, index, selector, child_timeout)
        self._lister = Lister(children, index, child_timeout, list_timeout)
        # For leaves that cannot pause (oVirt): what to do instead, if the
        # operator allows it. Without it such a pause is refused.
        self._stand_ins = _PAUSE_AS_SUSPEND if pause_as_suspend else {}
        self._changes = ChangeLog()

    # ------------------------------------------------------------ boot

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        instance = await self._placer.boot(spec, call)
        self._changes.note(instance)
        return instance

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        return await self._placer.plan(spec, call)

    # ---------------------------------------------------------- actions

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        loc = await self._locator.find(uuid, call)
        action = self._supported(loc, action)
        try:
            instance = await self._forwarder.send(
                uuid, call,
                lambda link, timeout: link.act(uuid, action, wait, timeout=timeout,
                                               metadata=call.downstream(), host=host),
                # The leaf applies an action once per request id (cells.outcomes).
                idempotent=True, direct=True, loc=loc,
            )
        except (NotFound, UnknownInstance):
            if action is not Action.DELETE:
                raise
            # It was here when the call began and is nowhere now: deleted since,
            # by this delete whose answer was lost with a cell that died (the
            # leaf's report of it can arrive first), or by another. Done.
            self._index.forget(uuid)
            return Instance(uuid, "", InstanceState.DELETED, Resources(),
                            cell_path=loc.cell_path, project=loc.project)
        if action is Action.DELETE and instance.state is InstanceState.DELETED:
            self._index.forget(uuid)  # at once, so the uuid is NOT_FOUND from here on
        # Other state changes reach the index with the child's next report,
        # in one transaction per report instead of one write per call.
        return instance

    async def update(self, uuid: str, edit: Edit, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        edit = check(edit)  # refused here, before crossing the tree
        return await self._forwarder.send(
            uuid, call,
            lambda link, timeout: link.update(uuid, edit, timeout=timeout,
                                              metadata=call.downstream()),
            idempotent=True, direct=True,  # an edit sent twice changes nothing more
        )

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        return await self._forwarder.send(
            uuid, call,
            lambda link, timeout: link.rebuild(uuid, image, timeout=timeout,
                                               metadata=call.downstream()),
            idempotent=False, direct=True,
        )

    async def get(self, uuid: str, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        return await self._forwarder.send(
            uuid, call,
            lambda link, timeout: link.get(uuid, timeout=timeout, metadata=call.downstream()),
            idempotent=True, direct=True,
        )

    async def locate(self, uuid: str, call: Call) -> Located:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        loc = self._index.lookup(uuid)
        if loc is not None and loc.cell_path and not loc.pending:
            return Located(uuid, loc.cell_path, loc.host, loc.project)
        return await self._forwarder.send(
            uuid, call,
            lambda link, timeout: link.locate(uuid, timeout=timeout, metadata=call.downstream()),
            idempotent=True,
        )

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        return await self._history.actions(check_uuid(uuid), request_id, call)

    async def owner(self, uuid: str, call: Call) -> str:
        """The project of `uuid`, as the index knows it (located first when it
        does not know the uuid): no call crosses the tree for it otherwise."""
        return (await self._locator.find(check_uuid(uuid), call)).project

    def _supported(self, loc: Location, action: Action) -> Action:
        """`action`, or its stand-in when the instance's leaf cannot do it and
        the operator allows one; FailedPrecondition naming the leaf otherwise.
        A leaf not reported yet decides for itself."""
        leaf = self.children.refusing(loc.cell_path, action)
        if leaf is None:
            return action
        stand_in = self._stand_ins.get(action)
        if stand_in is not None and leaf.supports(stand_in):
            return stand_in
        raise leaf.refuse(action)

    # ------------------------------------------------- lists and topology

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        return await self._lister.list(query, call)

    async def topology(self, call: Call) -> CellNode:
        timeout = min(call.remaining(self._child_timeout), FANOUT_TIMEOUT)
        children = list(self.children)
        answers = await fanout(
            children, lambda c: c.link().topology(timeout=timeout, metadata=call.downstream()))
        nodes = []
        for child, answer in answers:
            if not isinstance(answer, CellNode):
                itself = child.leaves.get("")  # a leaf's reports say what backs it
                answer = CellNode(child.name, child.path, child.kind, child.address,
                                  False, child.capacity, child.capabilities, unreachable=True,
                                  driver=itself.driver if itself is not None else "")
            nodes.append(replace(answer, up=self.children.is_up(child),
                                 replicas=self.children.replicas_of(child)))
        return own_node(self, children=tuple(nodes))

    # ------------------------------------------------- parent service

    async def reconcile(self, child: Child) -> int:
        """Bring the index's rows for `child` in line with what it holds."""
        return await reconcile(self._index, child, self._child_timeout)

    def on_report(self, report: ChildReport) -> Child:
        """A child's heartbeat: record it and apply its instance changes, those
        about its own subtree only (`_its_own`), and pass them on up."""
        child = self.children.report(report)
        changes = [c for c in report.changes if self._its_own(child, c)]
        if changes:
            self._index.apply((c.uuid, c.state.value, c.cell_path, c.host) for c in changes)
            for change in changes:
                if change.state is InstanceState.SHELVED_OFFLOADED:
                    self._index.clear_host(change.uuid)  # on no host: keep not the last
                self._changes.add(change)
        return child

    def _its_own(self, child: Child, change: InstanceChange) -> bool:
        """Whether `child` may report `change`: an instance the index places in
        that child (or does not know), at a path inside its subtree. A child's
        word about another child's instances changes nothing, here or above."""
        row = self._index.lookup(change.uuid)
        try:
            inside = not change.cell_path or CellPath.parse(child.path).contains(
                CellPath.parse(change.cell_path))
        except BadPath:
            inside = False
        if inside and (row is None or row.child == child.name):
            return True
        log.warning("cell %s reported %s at %r, outside its subtree: ignored", child.path,
                    change.uuid, change.cell_path[:255])
        return False

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
        if self._leaves is not None:
            await self._leaves.close()
        await self.children.close()
