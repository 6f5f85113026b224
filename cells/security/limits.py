"""Per-client limits at the cell a client calls: overload is refused at once.

    [limits]
    max_in_flight_per_client = 64       # calls one client may have open at a time
    requests_per_second_per_client = 0  # sustained rate (0: no rate limit)
    burst_per_client = 0                # calls allowed at once above the rate (default: 2 s)
    requests_per_second_per_member = 100  # a member token's (or an API project's) rate,
    burst_per_member = 0                # the lower of this and the client's (0: none)
    max_concurrent_rpcs = 2000          # the whole cell; gRPC refuses the rest itself

A client is its token, or without one the peer's address; a project acted for
through the API (`x-cellrouter-act-for`) is a client of its own. Members are
rate-limited by default, so that one project's script cannot take a cell's
time from the others; admins (operators, and the API's own calls) only when
the per-client rate is set. Only calls that
come straight from a client are counted (a cell's own calls to its children
carry a hop count, and are limited where the client called). A refused call
gets RESOURCE_EXHAUSTED saying which limit, and has done nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from model.errors import ResourceExhausted

IDLE = 60.0  # seconds after which a client with no call open is forgotten


@dataclass(frozen=True, slots=True)
class Limits:
    max_in_flight_per_client: int = 64
    requests_per_second_per_client: float = 0.0
    burst_per_client: int = 0
    requests_per_second_per_member: float = 100.0
    burst_per_member: int = 0
    max_concurrent_rpcs: int = 2000

    def rate(self, member: bool) -> tuple[float, float]:
        """The sustained rate (0: none) and the burst of a client."""
        rate, burst = self.requests_per_second_per_client, self.burst_per_client
        mine = self.requests_per_second_per_member
        if member and mine and (not rate or mine < rate):
            rate, burst = mine, self.burst_per_member
        return rate, float(burst or max(1.0, 2 * rate))


@dataclass(slots=True)
class _Client:
    in_flight: int
    tokens: float
    stamp: float  # when it last called


class _Slot:
    """One call's hold on its client's budget, given back when the call ends."""

    __slots__ = ("_state",)

    def __init__(self, state: _Client) -> None:
        self._state = state

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        self._state.in_flight -= 1


class Limiter:
    """The budgets of the clients of one cell (both its ports). Called from the
    cell's event loop; a client not heard from for IDLE seconds is forgotten."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._clients: dict[str, _Client] = {}
        self._next_sweep = clock() + IDLE

    def admit(self, client: str, member: bool = False) -> _Slot:
        """Hold one of `client`'s slots for the call (`with limiter.admit(c):`);
        ResourceExhausted when the client is over a limit (nothing is held then).
        `member`: the client is a member token, limited by the member rate."""
        limits, now = self.limits, self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        rate, burst = limits.rate(member)
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = _Client(0, burst, now)
        if state.in_flight >= limits.max_in_flight_per_client:
            raise ResourceExhausted(
                f"too many calls at once from this client (limit"
                f" {limits.max_in_flight_per_client}); wait for some to finish")
        if rate > 0:
            state.tokens = min(burst, state.tokens + (now - state.stamp) * rate)
            if state.tokens < 1:
                state.stamp = now
                raise ResourceExhausted(
                    f"over this client's rate limit of {rate:g} calls/s; retry in"
                    f" {(1 - state.tokens) / rate:.2f} s")
            state.tokens -= 1
        state.stamp = now
        state.in_flight += 1
        return _Slot(state)

    def _sweep(self, now: float) -> None:
        """Forget the clients idle for IDLE seconds (none of their calls open)."""
        self._clients = {name: state for name, state in self._clients.items()
                         if state.in_flight or now - state.stamp < IDLE}
        self._next_sweep = now + IDLE
