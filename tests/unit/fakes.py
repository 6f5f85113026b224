"""Fakes for unit tests of routing and of a cell's gRPC edge.

`FakeChild` is a child cell in memory: it implements `routing.link.ChildLink`,
holds instances, records every call with its metadata, and can be made slow,
down (Unreachable) or silent (Unavailable from below), or to answer one call
with a given error. `FakeContext` is the part of a gRPC servicer context the
servicers use.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cellrouter.v1 import cells_pb2 as pb
from cellwire import wire
from model.agents import Agent, AgentListing
from model.cells import (
    CellCapacity,
    CellKind,
    CellNode,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
    PlacementOption,
)
from model.compute import Action, BootSpec, Instance, InstanceState, Resources
from model.context import REQUEST_ID
from model.edits import Edit, apply
from model.errors import CellError, DeadlineExceeded, NotFound, ResourceExhausted, Unreachable
from model.instance_actions import ActionLog
from model.states import check
from routing.paging import page_of

Metadata = Sequence[tuple[str, str]]
_CLOCK = itertools.count()


@dataclass
class Sent:
    method: str
    args: tuple[Any, ...]
    timeout: float | None
    metadata: dict[str, str]
    serving: str  # model.context.REQUEST_ID when the call was made


@dataclass
class FakeChild:
    """A child cell named `name`, whose one leaf is `path` (its own path for a leaf)."""

    name: str
    path: str
    label: str = ""
    instances: dict[str, Instance] = field(default_factory=dict)
    by_request: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    delay: float = 0.0  # seconds before every answer (past the call's timeout: none)
    down: bool = False  # every call fails as never delivered
    fail_next: dict[str, CellError] = field(default_factory=dict)  # method -> error, once
    full: bool = False  # boots answer RESOURCE_EXHAUSTED
    closed: bool = False
    logs: dict[str, ActionLog] = field(default_factory=dict)  # kept after a delete
    agents: dict[str, Agent] = field(default_factory=dict)  # of its one leaf, by id

    async def _enter(self, method: str, args: tuple[Any, ...], timeout: float | None,
                     metadata: Metadata) -> None:
        self.sent.append(Sent(method, args, timeout, dict(metadata), REQUEST_ID.get()))
        if self.delay:
            if timeout is not None and self.delay >= timeout:  # as gRPC enforces deadlines
                await asyncio.sleep(timeout)
                raise DeadlineExceeded(f"{self.label or self.name} did not answer in time")
            await asyncio.sleep(self.delay)
        if self.down:
            raise Unreachable(f"{self.label or self.name} is unreachable (connection refused)")
        error = self.fail_next.pop(method, None)
        if error is not None:
            raise error

    def calls(self, method: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method]

    def _find(self, uuid: str) -> Instance:
        if uuid not in self.instances:
            raise NotFound(f"instance {uuid} not found")
        return self.instances[uuid]

    def holds(self, name: str, uuid: str, project: str = "", state: InstanceState =
              InstanceState.ACTIVE) -> Instance:
        """Put an instance here directly, as if booted long ago."""
        instance = Instance(uuid, name, state, Resources(1, 512), host="h1",
                            cell_path=self.path, project=project, request_id=f"req-{uuid}",
                            created_at=datetime(2026, 1, 1, tzinfo=UTC)
                            + timedelta(seconds=next(_CLOCK)))
        self.instances[uuid] = instance
        return instance

    async def boot(self, spec: BootSpec, timeout: float | None = None,
                   metadata: Metadata = ()) -> Instance:
        await self._enter("boot", (spec,), timeout, metadata)
        earlier = self.by_request.get(spec.request_id)
        if earlier is not None:
            return self.instances[earlier]
        if self.full:
            raise ResourceExhausted(f"no host in {self.path} can take {spec.flavor}")
        instance = Instance(spec.uuid, spec.name, InstanceState.ACTIVE, spec.flavor,
                            host="h1", cell_path=self.path, project=spec.project,
                            request_id=spec.request_id, created_at=datetime.now(UTC))
        self.instances[spec.uuid] = instance
        self.by_request[spec.request_id] = spec.uuid
        return instance

    async def plan(self, spec: BootSpec, timeout: float | None = None,
                   metadata: Metadata = ()) -> Placement:
        await self._enter("plan", (spec,), timeout, metadata)
        if self.full:
            raise ResourceExhausted(f"no host in {self.path} can take {spec.flavor}")
        return Placement((PlacementOption(self.path, "h1"),), (f"{self.path}: 1 host",))

    async def act(self, uuid: str, action: Action, wait: bool = False,
                  timeout: float | None = None, metadata: Metadata = (),
                  host: str = "") -> Instance:
        await self._enter("act", (uuid, action, wait, host) if host else (uuid, action, wait),
                          timeout, metadata)
        return self._apply(uuid, action)

    def _apply(self, uuid: str, action: Action) -> Instance:
        current = self._find(uuid)
        after = replace(current, state=check(uuid, current.state, action))
        if after.state is InstanceState.DELETED:
            del self.instances[uuid]
        else:
            self.instances[uuid] = after
        return after

    async def update(self, uuid: str, edit: Edit, timeout: float | None = None,
                     metadata: Metadata = ()) -> Instance:
        await self._enter("update", (uuid, edit), timeout, metadata)
        current = self._find(uuid)
        name, attributes = apply(current.name, current.attributes, edit)
        self.instances[uuid] = replace(current, name=name, attributes=attributes)
        return self.instances[uuid]

    async def get(self, uuid: str, timeout: float | None = None,
                  metadata: Metadata = ()) -> Instance:
        await self._enter("get", (uuid,), timeout, metadata)
        return self._find(uuid)

    async def list(self, query: ListQuery, timeout: float | None = None,
                   metadata: Metadata = ()) -> InstancePage:
        await self._enter("list", (query,), timeout, metadata)
        page, token = page_of(self.instances.values(), query)
        return InstancePage(tuple(page), token)

    async def locate(self, uuid: str, timeout: float | None = None,
                     metadata: Metadata = ()) -> Located:
        await self._enter("locate", (uuid,), timeout, metadata)
        found = self._find(uuid)
        return Located(uuid, found.cell_path, found.host, found.project)

    async def actions(self, uuid: str, request_id: str = "", timeout: float | None = None,
                      metadata: Metadata = ()) -> ActionLog:
        """The log in `logs`, else an empty one of an instance here."""
        await self._enter("actions", (uuid, request_id), timeout, metadata)
        if uuid in self.logs:
            return self.logs[uuid]
        return ActionLog(uuid, self._find(uuid).project)

    async def topology(self, timeout: float | None = None,
                       metadata: Metadata = ()) -> CellNode:
        await self._enter("topology", (), timeout, metadata)
        return CellNode(self.name, self.path, CellKind.LEAF, "fake", True, CellCapacity())

    async def forward(self, method: str, payload: bytes, timeout: float | None = None,
                      metadata: Metadata = ()) -> bytes:
        """The bytes path: recorded as "forward", then served as the decoded call
        would be (the cell's own wire code does the decoding)."""
        await self._enter("forward", (method, payload), timeout, metadata)
        if method == "Get":
            found = self._find(pb.GetRequest.FromString(payload).uuid)
            return wire.instance_to_pb(found).SerializeToString()  # type: ignore[no-any-return]
        if method == "Locate":
            uuid = pb.LocateRequest.FromString(payload).uuid
            found = self._find(uuid)
            located = Located(uuid, found.cell_path, found.host, found.project)
            return wire.located_to_pb(located).SerializeToString()  # type: ignore[no-any-return]
        request = pb.ActionRequest.FromString(payload)
        acted = self._apply(request.uuid, Action[method.upper()])
        return wire.instance_to_pb(acted).SerializeToString()  # type: ignore[no-any-return]

    async def list_agents(self, kind: str = "", timeout: float | None = None,
                          metadata: Metadata = ()) -> AgentListing:
        await self._enter("list_agents", (kind,), timeout, metadata)
        return AgentListing(tuple((a, self.path) for a in self.agents.values()
                                  if not kind or a.report.kind == kind))

    async def set_agent_enabled(self, agent_id: str, enabled: bool,
                                timeout: float | None = None,
                                metadata: Metadata = ()) -> tuple[Agent, str]:
        await self._enter("set_agent_enabled", (agent_id, enabled), timeout, metadata)
        if agent_id not in self.agents:
            raise NotFound(f"no agent {agent_id}")
        self.agents[agent_id] = replace(self.agents[agent_id], enabled=enabled)
        return self.agents[agent_id], self.path

    async def remove_agent(self, agent_id: str, timeout: float | None = None,
                           metadata: Metadata = ()) -> None:
        await self._enter("remove_agent", (agent_id,), timeout, metadata)
        if self.agents.pop(agent_id, None) is None:
            raise NotFound(f"no agent {agent_id}")

    async def close(self) -> None:
        self.closed = True

    def leaf_info(self, actions: Sequence[Action] = tuple(Action),
                  refusals: tuple[tuple[str, str], ...] = ()) -> LeafInfo:
        return LeafInfo("", "fake", tuple(a.value for a in actions), refusals)


class AbortedCall(Exception):
    """What `FakeContext.abort` raises, as grpc.aio raises its own."""

    def __init__(self, code: Any, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class FakeContext:
    """A servicer context: the caller's metadata and deadline; abort raises."""

    def __init__(self, metadata: Metadata = (), timeout: float | None = None,
                 peer: str = "ipv4:127.0.0.1:5555") -> None:
        self._metadata = tuple(metadata)
        self._timeout = timeout
        self._peer = peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return self._timeout

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def peer(self) -> str:
        return self._peer

    async def abort(self, code: Any, details: str) -> None:
        raise AbortedCall(code, details)
