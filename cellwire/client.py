"""Clients of a cell: `CellClient` (blocking) and `AsyncCellClient` (asyncio).

Both have one typed method per RPC, take and return the plain dataclasses of
`model`, and raise `model.errors.CellError` subclasses on failure
(`cellwire.calls.from_rpc_error` is the one place gRPC errors are
translated). The CLI and the tests use `CellClient`; cells reach each other
with `AsyncCellClient`, made for them by `cells.links`, and the API reaches
the top with it. Their channels come from `cellwire.channels`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire import channels, wire
from cellwire.agent_ops import AgentOpsCalls
from cellwire.calls import Metadata, from_rpc_error
from cellwire.channels import reconnect_options, split_addresses
from cellwire.objects import ObjectCalls
from cellwire.tls import Tls
from model.call import AUTH_KEY, REQUEST_ID_KEY
from model.cells import (
    CellNode,
    ChildReport,
    InstancePage,
    ListQuery,
    Located,
    Placement,
    Registration,
)
from model.compute import Action, BootSpec, Instance, Port, Resources
from model.edits import Edit
from model.errors import Aborted, CellError, NotFound, Unavailable, Unreachable
from model.instance_actions import ActionLog

DEFAULT_TIMEOUT = 30.0
# The calls a client sends again: reads; boots (every cell de-duplicates them
# by request id); and actions, which carry a request id the leaf remembers
# (cells.outcomes), so that one whose answer was lost is answered again, not
# applied twice. Sent again (`_again`), within the call's timeout:
#   ABORTED ("under way, retry shortly"), to any cell;
#   to a cell given as several replicas, UNAVAILABLE from the tree (a cell below
#   is recovering: a standby taking over, a restarted process registering);
#   and a replica that cannot be reached, to the next, REPLICA_ATTEMPTS in all
#   (when none answers, the client says so rather than wait out its timeout).
IDEMPOTENT = frozenset({"Get", "List", "Locate", "Topology", "Plan", "Boot",
                        "Place", "GetObject", "ListObjects", "Update", "Actions",
                        *wire.ACTION_METHODS.values()})
REPLICA_ATTEMPTS = 6  # over about 1.5 s: time for a restarted replica's siblings
REPLICA_BACKOFF = 0.05  # seconds before the second attempt, doubling
MAX_BACKOFF = 1.0  # the longest wait between two attempts


def _again(method: str, attempt: int, error: CellError, replicated: bool,
           deadline: float, ride_out: bool) -> float:
    """Seconds to wait before sending `method` again after `error` ended attempt
    number `attempt`; raises `error` when it is not sent again (see IDEMPOTENT),
    or the wait would end past `deadline` (a time.monotonic() value).
    `ride_out`: UNAVAILABLE from a replicated cell is waited out (clients at the
    edge; a cell calling another moves on to another child instead)."""
    if method not in IDEMPOTENT:
        again = False
    elif isinstance(error, Unreachable):
        again = replicated and attempt < REPLICA_ATTEMPTS
    elif isinstance(error, Unavailable):
        again = replicated and ride_out
    else:
        again = isinstance(error, Aborted)
    delay = float(min(MAX_BACKOFF, REPLICA_BACKOFF * 2 ** (attempt - 1)))
    if not again or time.monotonic() + delay >= deadline:
        raise error from None
    return delay


def _gone(method: str, attempt: int, error: CellError) -> bool:
    """A delete sent again finds no such instance: its first sending deleted it
    and the answer was lost (the tree may have forgotten the uuid since, so the
    leaf's memory of the request id is not reached). The delete is done."""
    return method == "Delete" and attempt > 1 and isinstance(error, NotFound)


T = TypeVar("T")


def new_request_id() -> str:
    """A request id for one call (and its retries)."""
    return str(uuidlib.uuid4())


def boot_spec(
    name: str,
    vcpus: int,
    memory_mb: int,
    disk_gb: int = 0,
    *,
    image: str = "",
    ports: Sequence[Port] = (),
    hints: dict[str, str] | None = None,
    project: str = "",
    target_cell: str = "",
    request_id: str = "",
    uuid: str = "",
) -> BootSpec:
    """A BootSpec with a fresh request id unless one is given."""
    return BootSpec(
        uuid=uuid,
        request_id=request_id or new_request_id(),
        name=name,
        flavor=Resources(vcpus, memory_mb, disk_gb),
        image=image,
        ports=tuple(ports),
        hints=tuple(sorted((hints or {}).items())),
        project=project,
        target_cell=target_cell,
    )


class _Actions(Generic[T]):
    """The per-action methods, shared by both clients, over each one's `act`
    (uuid, action, wait, keywords); T is what `act` returns."""

    act: Callable[..., T]

    def pause(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.PAUSE, wait, **kw)

    def unpause(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.UNPAUSE, wait, **kw)

    def suspend(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.SUSPEND, wait, **kw)

    def resume(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.RESUME, wait, **kw)

    def reboot(self, uuid: str, wait: bool = False, hard: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.REBOOT_HARD if hard else Action.REBOOT, wait, **kw)

    def stop(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.STOP, wait, **kw)

    def start(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.START, wait, **kw)

    def delete(self, uuid: str, wait: bool = False, **kw: Any) -> T:
        return self.act(uuid, Action.DELETE, wait, **kw)


class CellClient(_Actions[Instance]):
    """A blocking client of one cell. Use as a context manager or call close().

    Against a cell's client port with TLS give `ca` (the deployment CA, PEM),
    and with [auth] a `token`; `server_name` when the certificate does not
    name the address dialled.
    """

    def __init__(self, address: str, timeout: float = DEFAULT_TIMEOUT, *, token: str = "",
                 ca: bytes | None = None, server_name: str = "") -> None:
        self.address = address
        self.timeout = timeout
        self._auth: tuple[tuple[str, str], ...] = (
            ((AUTH_KEY, f"Bearer {token}"),) if token else ())
        self._replicated = len(split_addresses(address)) > 1
        self._channel = channels.channel(address, ca=ca, peer_name=server_name)
        self._cells = pb_grpc.CellsStub(self._channel)  # type: ignore[no-untyped-call]

    def __enter__(self) -> CellClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(
        self, method: str, request: Any, timeout: float | None = None, metadata: Metadata = ()
    ) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        for attempt in itertools.count(1):
            try:
                return getattr(self._cells, method)(
                    request, timeout=max(0.001, deadline - time.monotonic()),
                    metadata=(*self._auth, *metadata) or None)
            except grpc.RpcError as exc:
                error = from_rpc_error(exc, f"cell at {self.address}")
                if _gone(method, attempt, error):
                    return pb.Instance(uuid=request.uuid, state=pb.DELETED)
                delay = _again(method, attempt, error, self._replicated, deadline, True)
            time.sleep(delay)

    def boot(self, spec: BootSpec, timeout: float | None = None) -> Instance:
        return wire.instance_from_pb(self._call("Boot", wire.boot_to_pb(spec), timeout))

    def act(self, uuid: str, action: Action, wait: bool = False, **kw: Any) -> Instance:
        """Apply `action`. Keywords: timeout, and request_id (sent as x-request-id:
        it follows the call down the tree to the leaf, which applies an action
        once per request id; one is made for the call when absent, and kept
        when the call is sent again), and host (where an unshelve goes)."""
        request = wire.action_request(uuid, action, wait, kw.get("host", ""))
        metadata = ((REQUEST_ID_KEY, kw.get("request_id") or new_request_id()),)
        reply = self._call(wire.ACTION_METHODS[action], request, kw.get("timeout"), metadata)
        return wire.instance_from_pb(reply)

    def update(self, uuid: str, edit: Edit, timeout: float | None = None) -> Instance:
        """Apply `edit` to the instance's name and attributes (model.edits)."""
        return wire.instance_from_pb(self._call("Update", wire.edit_to_pb(uuid, edit), timeout))

    def rebuild(self, uuid: str, image: str, timeout: float | None = None) -> Instance:
        """Build the instance's disk again from `image`, on the same host."""
        request = pb.RebuildRequest(uuid=uuid, image=image)
        return wire.instance_from_pb(self._call("Rebuild", request, timeout))

    def plan(self, spec: BootSpec, timeout: float | None = None) -> Placement:
        """Where `spec` would be booted, without booting it."""
        return wire.placement_from_pb(self._call("Plan", wire.boot_to_pb(spec), timeout))

    def get(self, uuid: str) -> Instance:
        return wire.instance_from_pb(self._call("Get", pb.GetRequest(uuid=uuid)))

    def list(self, query: ListQuery | None = None) -> InstancePage:
        reply = self._call("List", wire.query_to_pb(query or ListQuery()))
        return wire.page_from_pb(reply)

    def locate(self, uuid: str) -> Located:
        return wire.located_from_pb(self._call("Locate", pb.LocateRequest(uuid=uuid)))

    def actions(self, uuid: str, request_id: str = "",
                timeout: float | None = None) -> ActionLog:
        """What was done to the instance (only under `request_id`, if given),
        also for a while after it was deleted."""
        request = pb.ActionsRequest(uuid=uuid, request_id=request_id)
        return wire.action_log_from_pb(self._call("Actions", request, timeout))

    def topology(self) -> CellNode:
        return wire.node_from_pb(self._call("Topology", pb.TopologyRequest()))

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the cell's server accepts connections."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise Unavailable(f"cannot reach cell at {self.address} within {timeout:g} s") from None


class AsyncCellClient(_Actions[Awaitable[Instance]], ObjectCalls, AgentOpsCalls):
    """An asyncio client of one cell, for cells talking to their children
    (Cells and Objects services, and the operators' Agents calls) and to
    their parent (Parent service)."""

    def __init__(
        self, address: str, timeout: float = DEFAULT_TIMEOUT, max_reconnect_backoff: float = 1.0,
        *, tls: Tls | None = None, peer_name: str = "", ca: bytes | None = None,
        ride_out: bool = False,
    ) -> None:
        """With `tls`, the channel is mutual TLS and the peer's certificate must
        name `peer_name` (the cell being called) when one is given. With `ca`
        only, it is TLS to a cell's client port, as `CellClient`'s. With
        `ride_out`, a replicated cell's UNAVAILABLE is waited out as
        `CellClient` does (for clients at the edge, as the API process)."""
        self._ride_out = ride_out
        self.address = address
        self.label = f"cell at {address}"  # how errors name the peer
        self.timeout = timeout
        self._replicated = len(split_addresses(address)) > 1
        self._channel = channels.aio_channel(
            address, tls=tls, ca=ca, peer_name=peer_name,
            options=reconnect_options(max_reconnect_backoff))
        ObjectCalls.__init__(self, self._channel, self._call)
        AgentOpsCalls.__init__(self, self._channel, self._call)
        self._cells = pb_grpc.CellsStub(self._channel)  # type: ignore[no-untyped-call]
        self._parent = pb_grpc.ParentStub(self._channel)  # type: ignore[no-untyped-call]
        self._raw: dict[str, Any] = {}  # Cells method name -> bytes-in, bytes-out callable

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def forward(
        self, method: str, payload: bytes, timeout: float | None = None,
        metadata: Metadata = (),
    ) -> bytes:
        """Send `payload`, a serialised request of the Cells method `method`, and
        return the serialised answer: nothing is decoded or encoded here."""
        call = self._raw.get(method)
        if call is None:
            call = self._raw[method] = self._channel.unary_unary(
                f"{wire.CELLS}/{method}", request_serializer=None, response_deserializer=None)
        try:
            answer: bytes = await call(payload, timeout=timeout or self.timeout,
                                       metadata=tuple(metadata) or None)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, self.label) from None
        return answer

    async def _call(
        self, stub: Any, method: str, request: Any, timeout: float | None, metadata: Metadata
    ) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        for attempt in itertools.count(1):
            try:
                return await getattr(stub, method)(
                    request, timeout=max(0.001, deadline - time.monotonic()),
                    metadata=tuple(metadata) or None)
            except grpc.RpcError as exc:
                error = from_rpc_error(exc, self.label)
                if _gone(method, attempt, error):
                    return pb.Instance(uuid=request.uuid, state=pb.DELETED)
                delay = _again(method, attempt, error, self._replicated, deadline,
                               self._ride_out)
            await asyncio.sleep(delay)

    async def boot(
        self, spec: BootSpec, timeout: float | None = None, metadata: Metadata = ()
    ) -> Instance:
        reply = await self._call(self._cells, "Boot", wire.boot_to_pb(spec), timeout, metadata)
        return wire.instance_from_pb(reply)

    async def act(
        self, uuid: str, action: Action, wait: bool = False, timeout: float | None = None,
        metadata: Metadata = (), host: str = "",
    ) -> Instance:
        """Apply `action`; `metadata` carries its request id (x-request-id), or
        one is made for the call, kept when it is sent again. `host`: where an
        unshelve goes ("": its leaf chooses)."""
        request = wire.action_request(uuid, action, wait, host)
        if not any(key == REQUEST_ID_KEY for key, _ in metadata):
            metadata = (*metadata, (REQUEST_ID_KEY, new_request_id()))
        reply = await self._call(
            self._cells, wire.ACTION_METHODS[action], request, timeout, metadata)
        return wire.instance_from_pb(reply)

    async def update(
        self, uuid: str, edit: Edit, timeout: float | None = None, metadata: Metadata = (),
    ) -> Instance:
        """Apply `edit` to the instance's name and attributes (model.edits):
        idempotent, so sent again when its answer is lost."""
        reply = await self._call(self._cells, "Update", wire.edit_to_pb(uuid, edit), timeout,
                                 metadata)
        return wire.instance_from_pb(reply)

    async def rebuild(
        self, uuid: str, image: str, timeout: float | None = None, metadata: Metadata = (),
    ) -> Instance:
        """Build the instance's disk again from `image` (not sent again on a
        lost answer: a second rebuild would wipe what the guest wrote since)."""
        request = pb.RebuildRequest(uuid=uuid, image=image)
        return wire.instance_from_pb(
            await self._call(self._cells, "Rebuild", request, timeout, metadata))

    async def plan(
        self, spec: BootSpec, timeout: float | None = None, metadata: Metadata = ()
    ) -> Placement:
        reply = await self._call(self._cells, "Plan", wire.boot_to_pb(spec), timeout, metadata)
        return wire.placement_from_pb(reply)

    async def get(
        self, uuid: str, timeout: float | None = None, metadata: Metadata = ()
    ) -> Instance:
        reply = await self._call(self._cells, "Get", pb.GetRequest(uuid=uuid), timeout, metadata)
        return wire.instance_from_pb(reply)

    async def list(
        self, query: ListQuery, timeout: float | None = None, metadata: Metadata = ()
    ) -> InstancePage:
        reply = await self._call(self._cells, "List", wire.query_to_pb(query), timeout, metadata)
        return wire.page_from_pb(reply)

    async def locate(
        self, uuid: str, timeout: float | None = None, metadata: Metadata = ()
    ) -> Located:
        request = pb.LocateRequest(uuid=uuid)
        reply = await self._call(self._cells, "Locate", request, timeout, metadata)
        return wire.located_from_pb(reply)

    async def actions(
        self, uuid: str, request_id: str = "", timeout: float | None = None,
        metadata: Metadata = (),
    ) -> ActionLog:
        """What was done to the instance (only under `request_id`, if given),
        also for a while after it was deleted. A read: sent again freely."""
        request = pb.ActionsRequest(uuid=uuid, request_id=request_id)
        reply = await self._call(self._cells, "Actions", request, timeout, metadata)
        return wire.action_log_from_pb(reply)

    async def topology(self, timeout: float | None = None, metadata: Metadata = ()) -> CellNode:
        request = pb.TopologyRequest()
        reply = await self._call(self._cells, "Topology", request, timeout, metadata)
        return wire.node_from_pb(reply)

    async def register(self, reg: Registration, timeout: float | None = None) -> tuple[str, float]:
        """Join the parent; returns this cell's full path and the report interval (s)."""
        request = wire.registration_to_pb(reg)
        reply = await self._call(self._parent, "Register", request, timeout, ())
        return reply.path, reply.report_interval_ms / 1000.0

    async def report(
        self, report: ChildReport, timeout: float | None = None
    ) -> tuple[bool, str]:
        """Send a heartbeat. Returns (register again?, this cell's path)."""
        request = wire.report_to_pb(report)
        reply = await self._call(self._parent, "Report", request, timeout, ())
        return bool(reply.register_again), reply.path

