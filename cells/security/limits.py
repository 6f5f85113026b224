"""Per-client limits at the cell a client calls: overload is refused at once.

    [limits]
    max_in_flight_per_client = 64       # calls one client may have open at a time
    requests_per_second_per_client = 0  # sustained rate (0: no rate limit)
    burst_per_client = 0                # calls allowed at once above the rate (default: 2 s)
    max_concurrent_rpcs = 2000          # the whole cell; gRPC refuses the rest itself

A client is its token, or without one the peer's address. Only calls that
come straight from a client are counted (a cell's own calls to its children
carry a hop count, and are limited where the client called). A refused call
gets RESOURCE_EXHAUSTED saying which limit, and has done nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cachetools import TTLCache

from model.errors import ResourceExhausted

_CLIENTS_KEPT = 10_000  # per-client counters kept; idle ones are forgotten after a minute


@dataclass(frozen=True, slots=True)
class Limits:
    max_in_flight_per_client: int = 64
    requests_per_second_per_client: float = 0.0
    burst_per_client: int = 0
    max_concurrent_rpcs: int = 2000

    @property
    def burst(self) -> float:
        rate = self.requests_per_second_per_client
        return float(self.burst_per_client or max(1.0, 2 * rate))


@dataclass(slots=True)
class _Client:
    in_flight: int
    tokens: float
    stamp: float


class Limiter:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: TTLCache[str, _Client] = TTLCache(_CLIENTS_KEPT, ttl=60.0)

    @contextlib.contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Hold one of `client`'s slots for the call; ResourceExhausted when
        the client is over a limit (nothing is held then)."""
        self._enter(client)
        try:
            yield
        finally:
            with self._lock:
                state = self._clients.get(client)
                if state is not None:
                    state.in_flight -= 1

    def _enter(self, client: str) -> None:
        limits, now = self.limits, self._clock()
        with self._lock:
            state = self._clients.get(client)
            if state is None:
                state = _Client(0, limits.burst, now)
            if state.in_flight >= limits.max_in_flight_per_client:
                raise ResourceExhausted(
                    f"too many calls at once from this client (limit"
                    f" {limits.max_in_flight_per_client}); wait for some to finish")
            rate = limits.requests_per_second_per_client
            if rate > 0:
                state.tokens = min(limits.burst, state.tokens + (now - state.stamp) * rate)
                state.stamp = now
                if state.tokens < 1:
                    raise ResourceExhausted(
                        f"over this client's rate limit of {rate:g} calls/s; retry in"
                        f" {(1 - state.tokens) / rate:.2f} s")
                state.tokens -= 1
            state.in_flight += 1
            self._clients[client] = state  # also renews its time to live
