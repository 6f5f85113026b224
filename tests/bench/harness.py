"""What the routing benchmarks share: timing results, the bare chain, printing.

`Result` holds the time of every timed call of one run; `start_chain` and
`stop_chain` run a bare chain of `tests.bench.chain` processes (the
baseline: the gRPC hops and nothing else); `header` and `target_line` print
a section's title and whether a figure meets its target.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from cellops.tree import free_ports

HOST = "127.0.0.1"
CALL_TIMEOUT = 10.0  # seconds, for every timed call
READY_TIMEOUT = 15.0  # seconds, for each chain process to accept connections


@dataclass(frozen=True, slots=True)
class Result:
    label: str
    seconds: list[float]  # one per timed call
    wall: float  # wall time of all the timed calls together
    errors: list[str] = field(default_factory=list)  # failed calls (not in `seconds`)

    def percentile_ms(self, p: float) -> float:
        """The nearest-rank percentile p (0-100) of the call times, in ms (nan if none)."""
        if not self.seconds:
            return math.nan
        ordered = sorted(self.seconds)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil, at least the first
        return ordered[int(rank) - 1] * 1000.0

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) * 1000.0 if self.seconds else math.nan

    @property
    def p99(self) -> float:
        return self.percentile_ms(99)

    @property
    def throughput(self) -> float:
        return len(self.seconds) / self.wall


# ------------------------------------------------------------- the bare chain

def start_chain(procs: list[subprocess.Popen[bytes]], length: int) -> str:
    """Start a chain of `length` forwarders from its end (appending to procs as
    it goes); return the head. With length 1 it is one process without --next,
    which answers every call itself."""
    addresses = [f"{HOST}:{port}" for port in free_ports(HOST, length)]
    next_address = None
    for address in reversed(addresses):  # the leaf first, the head last
        args = [sys.executable, "-m", "tests.bench.chain", "--listen", address]
        if next_address:
            args += ["--next", next_address]
        procs.append(subprocess.Popen(args, stdin=subprocess.DEVNULL))
        wait_ready(address, procs[-1])
        next_address = address
    return addresses[0]


def wait_ready(address: str, proc: subprocess.Popen[bytes]) -> None:
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT)
        except grpc.FutureTimeoutError:
            status = "exited" if proc.poll() is not None else "still running"
            raise RuntimeError(f"chain process at {address} not ready after"
                               f" {READY_TIMEOUT:g} s ({status})") from None


def stop_chain(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------- report

def header(title: str) -> str:
    return f"\n=== {title} ==="


def target_line(what: str, value: float, limit: float, unit: str = "x") -> str:
    """`what` = value against its target (at most `limit`), and whether it is met."""
    verdict = "met" if value <= limit else "MISSED"
    return f"target: {what} <= {limit:g}{unit}: {value:.2f}{unit}, {verdict}"


def floor_line(what: str, value: float, minimum: float, unit: str = "x") -> str:
    """`what` = value against its target (at least `minimum`), and whether it is met."""
    verdict = "met" if value >= minimum else "MISSED"
    return f"target: {what} >= {minimum:g}{unit}: {value:.2f}{unit}, {verdict}"


def error_lines(result: Result, shown: int = 3) -> list[str]:
    """A line for a run whose calls failed: how many, and the first distinct errors."""
    if not result.errors:
        return []
    distinct = list(dict.fromkeys(result.errors))
    lines = [f"  {result.label}: {len(result.errors)} calls FAILED"
             f" ({len(distinct)} distinct errors), first:"]
    lines += [f"    {e}" for e in distinct[:shown]]
    return lines


def rate(cycle: Callable[[], None], seconds: float, warmup: int = 5) -> float:
    """How many times per second `cycle` runs, over about `seconds`, after a warm-up."""
    for _ in range(warmup):
        cycle()
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        cycle()
        done += 1
    return done / (time.perf_counter() - started)
