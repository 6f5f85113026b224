"""Tests for routing.retry.with_retries: what is retried, how often, and until when."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest

from model.call import Call
from model.errors import (
    CellError,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
    Unreachable,
)
from routing import retry


def failing(errors: list[CellError], value: str = "ok") -> tuple[Callable[[], Awaitable[str]],
                                                                  list[float]]:
    """An attempt that raises `errors` in turn, then returns `value`; and its call times."""
    calls: list[float] = []

    async def attempt() -> str:
        calls.append(time.monotonic())
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return value

    return attempt, calls


def run(attempt: Callable[[], Awaitable[str]], *, idempotent: bool,
        call: Call | None = None) -> str:
    return asyncio.run(retry.with_retries(attempt, call or Call(), idempotent=idempotent))


def test_first_success_is_returned_without_retry() -> None:
    attempt, calls = failing([], "first")
    assert run(attempt, idempotent=False) == "first"
    assert len(calls) == 1


@pytest.mark.parametrize("idempotent", [False, True])
def test_unreachable_is_retried_even_when_not_idempotent(idempotent: bool) -> None:
    attempt, calls = failing([Unreachable("down"), Unreachable("still down")], "value")
    assert run(attempt, idempotent=idempotent) == "value"
    assert len(calls) == 3


@pytest.mark.parametrize("error", [Unavailable("maybe delivered"), DeadlineExceeded("slow")])
def test_maybe_delivered_errors_are_retried_only_when_idempotent(error: CellError) -> None:
    attempt, calls = failing([error], "again")
    assert run(attempt, idempotent=True) == "again"
    assert len(calls) == 2

    attempt, calls = failing([error], "again")
    with pytest.raises(type(error)) as caught:
        run(attempt, idempotent=False)
    assert caught.value is error
    assert len(calls) == 1


@pytest.mark.parametrize("idempotent", [False, True])
@pytest.mark.parametrize(
    "error", [NotFound("gone"), FailedPrecondition("paused"), InvalidArgument("bad")]
)
def test_definite_answers_are_never_retried(error: CellError, idempotent: bool) -> None:
    attempt, calls = failing([error, error, error])
    with pytest.raises(type(error)) as caught:
        run(attempt, idempotent=idempotent)
    assert caught.value is error
    assert len(calls) == 1


def test_gives_up_after_attempts_and_raises_the_last_error() -> None:
    errors: list[CellError] = [Unreachable(f"failure {n}") for n in range(retry.ATTEMPTS + 2)]
    attempt, calls = failing(errors)
    with pytest.raises(Unreachable) as caught:
        run(attempt, idempotent=True)
    assert len(calls) == retry.ATTEMPTS
    assert caught.value is errors[retry.ATTEMPTS - 1]


def test_waits_grow_between_attempts() -> None:
    attempt, calls = failing([Unreachable("x")] * retry.ATTEMPTS)
    with pytest.raises(Unreachable):
        run(attempt, idempotent=True)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(gaps) == retry.ATTEMPTS - 1
    assert all(gap >= 0.04 for gap in gaps)  # initial wait 0.05 s, then growing
    assert gaps[-1] > gaps[0]


def test_stops_before_the_callers_deadline() -> None:
    attempt, calls = failing([Unreachable("down")] * (retry.ATTEMPTS + 5))
    started = time.monotonic()
    deadline = started + 0.05
    call = Call(deadline=deadline)
    with pytest.raises(Unreachable):
        run(attempt, idempotent=True, call=call)
    elapsed = time.monotonic() - started
    assert 1 <= len(calls) < retry.ATTEMPTS
    assert elapsed < 1.0
    assert all(t <= deadline for t in calls)  # no attempt started after it


def test_a_deadline_far_away_does_not_cut_retries_short() -> None:
    attempt, calls = failing([Unavailable("blip")] * (retry.ATTEMPTS - 1), "made it")
    call = Call(deadline=time.monotonic() + 30)
    assert run(attempt, idempotent=True, call=call) == "made it"
    assert len(calls) == retry.ATTEMPTS
