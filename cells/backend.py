"""The contract between the gRPC glue and a cell's logic.

A cell is a router (it has children) or a leaf (it has a virt driver). Both
answer the same calls; `cells.server` turns gRPC requests into these calls and
their results (or errors) back into responses.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from typing import Protocol

from cellwire.tls import Tls
from model.call import Call
from model.cells import (
    CellCapacity,
    CellKind,
    CellNode,
    HostSummary,
    InstanceChange,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
)
from model.compute import Action, BootSpec, Instance
from model.edits import Edit
from model.instance_actions import ActionLog


@dataclass(slots=True)
class Identity:
    """Who this cell is. `path` is the name alone until the parent tells the
    full path at registration."""

    name: str
    address: str
    path: str
    kind: CellKind
    tls: Tls | None = None  # its certificate, when cells speak mutual TLS
    driver: str = ""  # a leaf's, as the topology names it (CellNode.driver)
    open_client_port: bool = False  # client_auth = "none" (CellNode.open_client_port)

    def ancestors(self) -> list[str]:
        """The names of the cells above this one, the top first."""
        return self.path.split("!")[:-1]


class CellCalls(Protocol):
    """What a client can ask of a cell: a CellBackend, or one seen through a
    token's scope (cells.security.scope)."""

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        """Place and build an instance. Idempotent on spec.request_id."""
        ...

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        """Where `spec` would go, best first, without building. ResourceExhausted
        when nothing fits."""
        ...

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        """Apply an action. With wait=False, returns once the leaf accepted it.
        `host` is where an unshelve goes ("": the leaf chooses), a host of
        the instance's leaf (InvalidArgument otherwise); nothing else takes one."""
        ...

    async def update(self, uuid: str, edit: Edit, call: Call) -> Instance:
        """Apply `edit` to the instance's name and attributes (model.edits), at
        its leaf, in one step. Idempotent."""
        ...

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        """Build the instance's disk again from `image`, on its host: it keeps
        its uuid, ports, flavor and attributes. FailedPrecondition when its
        leaf's driver cannot."""
        ...

    async def get(self, uuid: str, call: Call) -> Instance: ...

    async def list(self, query: ListQuery, call: Call) -> InstancePage: ...

    async def locate(self, uuid: str, call: Call) -> Located: ...

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        """What was done to the instance (Nova's instance actions; only the
        one under `request_id`, when given), kept at its leaf and for a while
        after it is deleted (cells.instance_actions). UnknownInstance when no
        leaf keeps a log of it. A read."""
        ...

    async def topology(self, call: Call) -> CellNode: ...


class CellBackend(CellCalls, Protocol):
    """A cell's logic: its calls, and what it tells its parent."""

    identity: Identity

    async def owner(self, uuid: str, call: Call) -> str:
        """The project `uuid` belongs to, from what this cell knows (its index;
        a uuid it does not know is located first). UnknownInstance when no
        cell has it."""
        ...

    def capacity(self) -> CellCapacity:
        """The subtree's capacity, as last known (cheap; no I/O)."""
        ...

    def capabilities(self) -> tuple[str, ...]:
        """Actions every instance in this subtree supports."""
        ...

    def changes(self) -> ChangeLog: ...

    def leaves(self) -> tuple[LeafInfo, ...]:
        """Every leaf cell in this subtree: its address and actions, and its
        path relative to this cell ("" for a leaf itself)."""
        ...

    async def refresh(self) -> None:
        """Bring the capacity up to date (called before each report)."""
        ...

    async def close(self) -> None: ...


def own_node(
    cell: CellBackend, children: tuple[CellNode, ...] = (), hosts: tuple[HostSummary, ...] = ()
) -> CellNode:
    """The Topology entry of `cell` itself, up, with what it knows below it."""
    me = cell.identity
    return CellNode(
        name=me.name, path=me.path, kind=me.kind, address=me.address, up=True,
        capacity=cell.capacity(), capabilities=cell.capabilities(),
        children=children, hosts=hosts, driver=me.driver,
        open_client_port=me.open_client_port,
    )


class ChangeLog:
    """Instance changes waiting to be reported to the parent.

    Bounded: when a parent is unreachable for long, the oldest changes are
    dropped (the parent reconciles by asking when it needs to).
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._pending: collections.OrderedDict[str, InstanceChange] = collections.OrderedDict()
        self._limit = limit
        self._arrived = asyncio.Event()
        # For each instance, the number of its latest change (`added` counts them
        # all): a change put back after a failed report must not undo a newer
        # one that another report (to another replica of the parent) delivered.
        self.added = 0
        self._latest: dict[str, int] = {}

    async def wait(self, timeout: float) -> None:
        """Return when a change is queued, or after `timeout` seconds."""
        if self._pending:
            return
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._arrived.wait()

    def note(self, instance: Instance) -> None:
        """Queue the instance's current state and place."""
        self.add(InstanceChange(instance.uuid, instance.state, instance.cell_path, instance.host))

    def add(self, change: InstanceChange) -> None:
        self._pending.pop(change.uuid, None)  # only the latest per instance matters
        self._pending[change.uuid] = change
        self.added += 1
        self._latest[change.uuid] = self.added
        while len(self._pending) > self._limit:
            self._pending.popitem(last=False)
        if len(self._latest) > 2 * self._limit:  # keep only what a put_back may ask
            self._latest = {u: n for u, n in self._latest.items() if u in self._pending}
        self._arrived.set()

    def take(self) -> list[InstanceChange]:
        """The changes to report; read `added` first, for `put_back`."""
        taken = list(self._pending.values())
        self._pending.clear()
        return taken

    def put_back(self, changes: list[InstanceChange], taken_at: int) -> None:
        """Return changes a failed report did not deliver, unless a newer change of
        the same instance was noted since they were taken (`taken_at`)."""
        for change in changes:
            if change.uuid not in self._pending and self._latest.get(change.uuid, 0) <= taken_at:
                self._pending[change.uuid] = change
                self._pending.move_to_end(change.uuid, last=False)
