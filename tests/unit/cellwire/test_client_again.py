"""When a client sends a call again (cellwire.client._again): only what is safe to
repeat, only for errors a recovering tree gives, only within the call's timeout."""

from __future__ import annotations

import time

import pytest

from cellwire.client import MAX_BACKOFF, REPLICA_ATTEMPTS, _again, _gone
from model.errors import (
    Aborted,
    CellError,
    FailedPrecondition,
    NotFound,
    Unavailable,
    Unreachable,
)

LATER = time.monotonic() + 3600  # a deadline far off


@pytest.mark.parametrize(("method", "error", "replicated", "ride_out", "again"), [
    ("Pause", Unavailable("cell top!z1 did not answer"), True, True, True),
    ("Delete", Unreachable("cell at a is unreachable"), True, True, True),
    ("Get", Unavailable("x"), False, True, False),  # one address: said at once
    ("Get", Unavailable("x"), True, False, False),  # a cell moves on instead
    ("Get", Unreachable("x"), True, False, True),  # the next replica
    ("Boot", Aborted("a boot with request id r is still in progress"), False, False, True),
    ("Pause", FailedPrecondition("cannot pause a PAUSED instance"), True, True, False),
    ("Get", NotFound("instance u not found"), True, True, False),
    ("Register", Unavailable("x"), True, True, False),  # not safe to repeat
], ids=["action-unavailable", "action-unreachable", "single-address", "cell-to-cell",
        "cell-to-cell-next-replica", "aborted", "refusal", "not-found", "not-idempotent"])
def test_what_is_sent_again(method: str, error: CellError, replicated: bool, ride_out: bool,
                            again: bool) -> None:
    if again:
        assert _again(method, 1, error, replicated, LATER, ride_out) > 0
    else:
        with pytest.raises(type(error)):
            _again(method, 1, error, replicated, LATER, ride_out)


def test_the_wait_grows_to_a_cap_and_never_passes_the_deadline() -> None:
    waits = [_again("Get", n, Unavailable("x"), True, LATER, True) for n in range(1, 10)]
    assert waits == sorted(waits) and waits[-1] == MAX_BACKOFF
    with pytest.raises(Unavailable):  # the next wait would end past the deadline
        _again("Get", 8, Unavailable("x"), True, time.monotonic() + MAX_BACKOFF / 2, True)


def test_unreachable_replicas_are_tried_a_bounded_number_of_times() -> None:
    assert _again("Get", REPLICA_ATTEMPTS - 1, Unreachable("x"), True, LATER, True) > 0
    with pytest.raises(Unreachable):
        _again("Get", REPLICA_ATTEMPTS, Unreachable("x"), True, LATER, True)


@pytest.mark.parametrize(("method", "attempt", "error", "gone"), [
    ("Delete", 2, NotFound("instance u not found"), True),  # the first deleted it
    ("Delete", 1, NotFound("instance u not found"), False),  # sent once: it was not there
    ("Pause", 2, NotFound("instance u not found"), False),
    ("Delete", 2, FailedPrecondition("x"), False),
], ids=["delete-again", "delete-once", "pause-again", "delete-refused"])
def test_a_delete_sent_again_that_finds_nothing_is_done(
        method: str, attempt: int, error: CellError, gone: bool) -> None:
    assert _gone(method, attempt, error) is gone
