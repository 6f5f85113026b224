"""Retrying calls to a child cell without ever doing anything twice.

A call that never reached the child (Unreachable) is always safe to send
again. A call that may have reached it (UNAVAILABLE from below, or
DEADLINE_EXCEEDED) is sent again only when it is idempotent: reads; boots,
which every cell de-duplicates by request id; and actions, which the leaf
applies once per request id. Waits grow
exponentially with jitter, and no retry starts after the caller's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from model.call import Call
from model.errors import DeadlineExceeded, Unavailable, Unreachable

T = TypeVar("T")
ATTEMPTS = 4


def _retryable(idempotent: bool) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if isinstance(exc, Unreachable):
            return True
        return idempotent and isinstance(exc, Unavailable | DeadlineExceeded)

    return check


class _PastDeadline(stop_base):
    """Stop when the next attempt would start after the caller's deadline."""

    def __init__(self, call: Call) -> None:
        self._deadline = call.deadline

    def __call__(self, state: RetryCallState) -> bool:
        if self._deadline is None:
            return False
        return time.monotonic() + (state.upcoming_sleep or 0.0) >= self._deadline


async def with_retries(
    attempt: Callable[[], Awaitable[T]], call: Call, *, idempotent: bool
) -> T:
    """Run `attempt`, again on a retryable failure; the last error is raised.

    The first attempt runs bare: retries cost nothing until one is needed.
    After a retryable failure, tenacity takes over as if it had made that
    first attempt itself (it is replayed to it as a failure), so the count
    of attempts, the waits and the deadline are as they would be."""
    retryable = _retryable(idempotent)
    try:
        return await attempt()
    except Exception as exc:
        if not retryable(exc):
            raise
        first: BaseException | None = exc

    async def again() -> T:
        nonlocal first
        if first is not None:
            failed, first = first, None
            raise failed
        return await attempt()

    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.05),
        stop=stop_after_attempt(ATTEMPTS) | _PastDeadline(call),
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            return await again()
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
