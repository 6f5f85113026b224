"""The request id of the call being served, for whatever runs on its behalf.

The gRPC edge (`cells.edge`) sets it once per call, in the call's own task;
worker threads started with `asyncio.to_thread` and tasks created while
serving see it. Logs carry it (`cells.observability.logs`), and a driver
whose manager records a caller's id (oVirt's Correlation-Id) sends it.
It is "" outside a call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("cellrouter_request_id", default="")


@contextmanager
def serving(request_id: str) -> Iterator[None]:
    """Run the body as part of the call with `request_id` (for code that serves
    a call without the gRPC edge: embedding, tests)."""
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
