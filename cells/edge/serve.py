"""The one way a cell serves a call, whatever the service (Cells, Objects, Agents).

    metadata  -> a `model.call.Call`: hops (believed only from cells), deadline,
                 request id (set once for everything that serves the call)
    gate      -> the principal it acts for, narrowed to a project if it asks
    hop limit -> FAILED_PRECONDITION past `max_hops` (a loop in the tree)
    limiter   -> the client's budget, unless a cell above already counted it
    errors    -> a status code and message (`cells.edge.status`), generic for
                 a member where the failure is the deployment's

A servicer hands `Edge.serve` the work to do with the call; the answer, or
the refusal, comes back the same way on every port.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn, TypeVar

import grpc

from cells.edge.status import for_member, to_status
from cells.security.limits import Limiter
from cells.security.scope import Gate, narrow
from model.call import Call
from model.context import REQUEST_ID
from routing.errors import HopLimitExceeded

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_HOPS = 10  # cells a request may cross (a cell's config sets its own: max_hops)


def peer_host(peer: str) -> str:
    """The host part of a gRPC peer ("ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1")."""
    return peer.rpartition(":")[0] or peer


@dataclass(frozen=True, slots=True)
class Edge:
    """How one port serves calls. `where()` is the cell's path (it may learn it
    after it starts); `from_cells`: whether a caller's hop count is believed (a
    cells' port) or not (a client port, where every call is limited)."""

    where: Callable[[], str]
    gate: Gate
    limiter: Limiter
    max_hops: int
    from_cells: bool = True

    def call_of(self, context: Any) -> tuple[Call, dict[str, str]]:
        """The call a request's metadata describes, before the gate."""
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        call = Call.from_metadata(metadata, context.time_remaining())
        if call.hops and not self.from_cells:
            call = replace(call, hops=0)  # a client's claim to be a cell skips no limit
        return call, metadata

    async def serve(self, context: Any, work: Callable[[Call], Awaitable[T]],
                    request_id: str = "") -> T:
        """`work(call)`'s answer, or the call aborted with the status of what it
        raised. `request_id`: what to trace the call by here instead of the
        caller's (a boot's own); the caller's still goes to the cells below."""
        call, metadata = self.call_of(context)
        REQUEST_ID.set(request_id or call.request_id)  # the one place; this call's task only
        try:
            principal = narrow(self.gate(metadata, context.auth_context()), metadata)
            if principal is not call.principal:
                call = replace(call, principal=principal)
            if call.hops >= self.max_hops:
                raise HopLimitExceeded(
                    f"request crossed {call.hops} cells, over the limit of {self.max_hops}:"
                    " is there a loop in the tree?")
            if call.hops:  # from a cell above: limited where the client called
                return await work(call)
            with self.limiter.admit(call.principal.token_id or peer_host(context.peer()),
                                    member=not call.principal.admin):
                return await work(call)
        except Exception as exc:
            await self.refuse(context, exc, call)

    async def refuse(self, context: Any, exc: Exception, call: Call) -> NoReturn:
        """Abort the call with the status of `exc`."""
        code, message = to_status(exc, self.where())
        if code is grpc.StatusCode.INTERNAL:
            log.exception("request %s failed", call.request_id, exc_info=exc)
        if not call.principal.admin:
            message = for_member(exc, code, message, call.request_id)
        await context.abort(code, message)
        raise AssertionError("abort returns only by raising")
