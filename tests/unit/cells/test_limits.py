"""Tests for cells.security.limits: per-client in-flight and rate limits, on a fake clock."""

from __future__ import annotations

import contextlib

import pytest

from cells.security.limits import Limiter, Limits
from model.errors import ResourceExhausted


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_client_over_its_in_flight_limit_is_refused_and_others_are_not() -> None:
    limiter = Limiter(Limits(max_in_flight_per_client=2))
    with contextlib.ExitStack() as held:
        held.enter_context(limiter.admit("a"))
        held.enter_context(limiter.admit("a"))
        with pytest.raises(ResourceExhausted, match="too many calls at once"), \
                limiter.admit("a"):
            pass
        with limiter.admit("b"):  # another client has its own budget
            pass
    with limiter.admit("a"):  # slots come back when calls end
        pass


def test_a_refused_or_failed_call_gives_its_slot_back() -> None:
    limiter = Limiter(Limits(max_in_flight_per_client=1))
    with pytest.raises(ValueError), limiter.admit("a"):
        raise ValueError("the call failed")
    with limiter.admit("a"), pytest.raises(ResourceExhausted), limiter.admit("a"):
        pass
    with limiter.admit("a"):  # the refusal above held nothing
        pass


def test_the_rate_limit_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = Limiter(Limits(requests_per_second_per_client=2, burst_per_client=3), clock)
    for _ in range(3):
        with limiter.admit("a"):
            pass
    with pytest.raises(ResourceExhausted, match=r"rate limit of 2 calls/s; retry in 0\.50 s"), \
            limiter.admit("a"):
        pass
    clock.now += 0.5  # one more token
    with limiter.admit("a"):
        pass
    with pytest.raises(ResourceExhausted), limiter.admit("a"):
        pass
    clock.now += 100  # idle time refills only up to the burst
    for _ in range(3):
        with limiter.admit("a"):
            pass
    with pytest.raises(ResourceExhausted), limiter.admit("a"):
        pass


def test_without_a_rate_only_in_flight_counts() -> None:
    limiter = Limiter(Limits(max_in_flight_per_client=1), Clock())
    for _ in range(1000):
        with limiter.admit("a"):
            pass


def test_idle_clients_are_forgotten_and_busy_ones_kept() -> None:
    from cells.security.limits import IDLE

    clock = Clock()
    limiter = Limiter(Limits(max_in_flight_per_client=1), clock=clock)
    with limiter.admit("idle"):
        pass
    busy = limiter.admit("busy")  # a call that stays open
    with busy:
        clock.now += IDLE + 1
        with limiter.admit("newcomer"):  # the sweep runs on this call
            pass
        assert set(limiter._clients) == {"busy", "newcomer"}
        with pytest.raises(ResourceExhausted, match="too many calls at once"), \
                limiter.admit("busy"):  # its open call is still counted
            pass


def test_members_have_a_rate_by_default_and_admins_do_not() -> None:
    clock = Clock()
    limiter = Limiter(Limits(), clock)  # the defaults: 100 calls/s for a member, burst 200
    for _ in range(200):
        with limiter.admit("member-token", member=True):
            pass
    with pytest.raises(ResourceExhausted, match="rate limit of 100 calls/s"), \
            limiter.admit("member-token", member=True):
        pass
    for _ in range(1000):  # an admin (an operator, the API's own calls): no rate by default
        with limiter.admit("admin-token"):
            pass
    clock.now += 0.01  # one more call's worth
    with limiter.admit("member-token", member=True):
        pass


@pytest.mark.parametrize(("limits", "rate"), [
    (Limits(requests_per_second_per_client=10), 10.0),     # the client's is lower
    (Limits(requests_per_second_per_client=500), 100.0),   # the member's is lower
    (Limits(requests_per_second_per_member=0), 0.0),        # members unlimited
], ids=["client-lower", "member-lower", "off"])
def test_a_member_gets_the_lower_of_the_two_rates(limits: Limits, rate: float) -> None:
    assert limits.rate(member=True)[0] == rate
