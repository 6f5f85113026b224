"""Failed logins, counted per user name and per source address.

After `per_user` failed logins of one name, or `per_address` from one
address, within `window` seconds, logins of that name or from that address
are refused with 429 and Retry-After (LoginsThrottled) until the oldest of
those failures is `window` old, whatever the password: guessing costs the
guesser, not the directory or the CPU. A successful login clears its name's
failures. The counts are this API process's own (each process counts what it
sees; several processes behind a balancer allow that many times more).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from api.identity.errors import LoginsThrottled

MAX_KEYS = 100_000  # names and addresses remembered; the oldest are forgotten past it


class LoginThrottle:
    """Thread-safe; `clock` is monotonic seconds (tests pass a fake)."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str, address: str) -> None:
        """LoginsThrottled when the name or the address has failed too often."""
        now = self._clock()
        with self._lock:
            for kind, key in (("user", name), ("address", address)):
                times = self._recent((kind, key), now)
                if len(times) >= self._limits[kind]:
                    wait = max(1, math.ceil(times[-self._limits[kind]] + self._window - now))
                    raise LoginsThrottled(
                        f"Too many failed logins for this {kind}; try again in {wait} seconds",
                        wait)

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (("user", name), ("address", address)):
                self._recent(key, now).append(now)
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("user", name), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times
