"""How many routed actions per second does the top of a tree take under load?

    python -m tests.bench.bench_load [--threads T] [--seconds S] [--rounds R]

T client threads (default 16) send pause/unpause calls (wait=True) to the
top of a tree of the demo tree's shape with fake leaves (hop by hop: top ->
region -> leaf) for about S seconds (default 10), and then to a bare chain of
three `tests.bench.chain` processes, R times alternately (the run is
`tests.bench.bench_routing`'s load part). Each thread has its own CellClient
(its own gRPC channel) and its own 4 instances, which it pauses in turn and
then unpauses, so every call is legal whatever the other threads do.

Each thread makes a few warm-up calls that are not counted, then all start
together; a call is timed on its own with time.perf_counter(), and calls/s
is all the completed calls over the wall time from the start until the last
thread stopped. A call that fails is counted and shown, not timed.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire.client import CellClient, boot_spec
from tests.bench.harness import (
    CALL_TIMEOUT,
    Result,
)

CHAIN_LENGTH = 3
WARMUP_PER_THREAD = 10

# One thread's calls: (uuid, pause?) -> None, on the thread's own connection.
Call = Callable[[str, bool], object]
# Opens a thread's connection: returns its call and a function that closes it.
Connect = Callable[[], tuple[Call, Callable[[], None]]]


def drive(label: str, connect: Connect, uuids: list[list[str]], seconds: float) -> Result:
    """Run one thread per entry of `uuids`, each on its own connection, for `seconds`."""
    threads = len(uuids)
    ready = threading.Barrier(threads + 1)
    go = threading.Event()  # set once stop_at is
    times: list[list[float]] = [[] for _ in range(threads)]
    errors: list[list[str]] = [[] for _ in range(threads)]
    stop_at = [0.0]  # set by the main thread once everyone is warm

    def worker(n: int) -> None:
        try:
            call, close = connect()
        except BaseException:
            ready.abort()  # so that nobody waits for this thread
            raise
        try:
            pause, k = True, 0
            mine = uuids[n]

            def one() -> tuple[float, str | None]:
                nonlocal pause, k
                uuid = mine[k]
                k += 1
                if k == len(mine):
                    k, pause_next = 0, not pause
                else:
                    pause_next = pause
                t0 = time.perf_counter()
                try:
                    call(uuid, pause)
                    failure = None
                except Exception as exc:  # any failure is counted and shown in the report
                    failure = f"{'pause' if pause else 'unpause'} {uuid}: {exc}"
                elapsed = time.perf_counter() - t0
                pause = pause_next
                return elapsed, failure

            try:
                for _ in range(WARMUP_PER_THREAD):
                    one()
            except BaseException:
                ready.abort()  # so that nobody waits for this thread
                raise
            ready.wait()
            go.wait()
            while time.perf_counter() < stop_at[0]:
                elapsed, failure = one()
                if failure is None:
                    times[n].append(elapsed)
                else:
                    errors[n].append(failure)
        finally:
            close()

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, n) for n in range(threads)]
        try:
            ready.wait(timeout=60)  # every worker connected and warm
            start = time.perf_counter()
            stop_at[0] = start + seconds
        except BaseException as exc:
            ready.abort()  # workers still warming up stop at the barrier
            go.set()  # with stop_at still 0, waiting workers stop at once
            if isinstance(exc, threading.BrokenBarrierError):
                for f in futures:
                    failure = f.exception()  # waits for the worker to end
                    if failure and not isinstance(failure, threading.BrokenBarrierError):
                        raise failure from None  # the worker's own failure
            raise
        go.set()
        for f in futures:
            f.result()  # re-raises a worker's own failure
        wall = time.perf_counter() - start
    return Result(label, [t for ts in times for t in ts], wall, [e for es in errors for e in es])


def connect_to(top: str) -> Connect:
    """Each thread's own CellClient of the top, pausing or unpausing."""
    def connect() -> tuple[Call, Callable[[], None]]:
        client = CellClient(top, timeout=CALL_TIMEOUT)

        def call(uuid: str, pause: bool) -> object:
            return (client.pause if pause else client.unpause)(uuid, wait=True)

        return call, client.close

    return connect


def boot_all(top: str, threads: int, per_thread: int) -> list[list[str]]:
    """Boot threads x per_thread small instances through the top; uuids per thread."""
    def boot(i: int) -> str:
        return client.boot(boot_spec(f"load-{i:04d}", 1, 512, 1)).uuid

    with CellClient(top, timeout=CALL_TIMEOUT) as client, ThreadPoolExecutor(8) as pool:
        flat = list(pool.map(boot, range(threads * per_thread)))
    return [flat[n * per_thread:(n + 1) * per_thread] for n in range(threads)]


def chain_connector(head: str) -> Connect:
    """Each thread's own channel to the head of a bare chain, pausing or unpausing."""
    def connect() -> tuple[Call, Callable[[], None]]:
        channel = grpc.insecure_channel(head)
        stub = pb_grpc.CellsStub(channel)  # type: ignore[no-untyped-call]

        def call(uuid: str, pause: bool) -> object:
            method = stub.Pause if pause else stub.Unpause
            return method(pb.ActionRequest(uuid=uuid, wait=True), timeout=CALL_TIMEOUT)

        return call, channel.close

    return connect


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_load",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="timed seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds on the tree and then the chain (default 3)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--threads, --seconds and --rounds must be positive")
    from tests.bench.bench_routing import run_load

    print(run_load(args.threads, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
