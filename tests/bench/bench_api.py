"""What does the OpenStack API process add to a call, over the same call in gRPC?

    python -m tests.bench.bench_api [--clients C] [--seconds S] [--rounds R] [--member]

A tree of the demo tree's shape with fake leaves (top -> 2 regions -> 2 leaf
cells each, every cell its own process) with the API process in front of its
top. Two operations, each sent by C concurrent clients (default 16) for about
S seconds (default 3), through the API and then straight to the top over
gRPC, R times alternately (default 4):

  show    GET /v2.1/servers/{id}            against the top's Get
  pause   POST /v2.1/servers/{id}/action    against the top's Pause/Unpause,
          {"pause": null} / {"unpause": null}  both without waiting (a cast)

Each client is an asyncio task with its own connection (an aiohttp session
with keep-alive, or its own gRPC channel) and its own 8 instances; a pause
client pauses them in turn, then unpauses them. The clients run in this
process, on uvloop. Each call is timed on its own; calls/s is all calls over
the round's wall time. The CPU time of the tree's processes and of the API
process is read from /proc for each round (tests.bench.cpu), so the API's own
CPU per call is shown beside the tree's.

With --member both sides call as a member of the instances' project: the
API with a member's token, the top with the API's own narrowing metadata
(x-cellrouter-act-for), so the top scopes each call as it does for the API's
members, and a member's action obeys the instance's lock (checked at the leaf).

Target: the API adds at most 25 % to the gRPC figure (p50 ratio <= 1.25x,
calls/s ratio >= 0.8x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import aiohttp

from api.identity.users import UserStore
from cellops.tree import TreeRunner
from cellwire import eventloop
from cellwire.client import AsyncCellClient, CellClient, boot_spec
from model.call import ACT_FOR_KEY
from model.compute import Action, Attributes
from tests.bench.cpu import Meter
from tests.bench.harness import Result, error_lines, floor_line, header, target_line
from tests.bench.trees import fanout_text, write_tree

TARGET = 1.25
PER_CLIENT = 8
PROJECT = "admin"  # the instances' (the demo admin's project)
API_TREE = """
[api]

[flavors]
small = { vcpus = 1, memory_mb = 512, disk_gb = 1 }
"""

# One client's call: (instance uuid, pause?) -> None.
Op = Callable[[str, bool], Awaitable[object]]


MEMBER = ("bench-member", "bench-member-password")  # of the instances' project


class Sides:
    """The API (with an admin's token, or a member's) and the top, for C clients each."""

    def __init__(self, runner: TreeRunner, clients: int, member: bool = False) -> None:
        assert runner.api is not None
        self.runner, self.url = runner, runner.api.url
        self.clients = clients
        self.member = member
        # The top is called as the API calls it for a member (api.tree.Tree.metadata).
        self.scope: tuple[tuple[str, str], ...] = ((ACT_FOR_KEY, PROJECT),) if member else ()
        self.token = ""
        self.sessions: list[aiohttp.ClientSession] = []
        self.grpc: list[AsyncCellClient] = []

    async def open(self) -> None:
        api = self.runner.api
        assert api is not None
        name, password = "admin", api.password
        if self.member:
            name, password = MEMBER
            UserStore(api.directory / "users.json").add(name, PROJECT, "member", password)
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"name": "Default"}, "password": password}}}}}
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.url}/identity/v3/auth/tokens", json=auth) as answer:
            self.token = answer.headers["X-Subject-Token"]
        headers = {"X-Auth-Token": self.token, "Content-Type": "application/json"}
        self.sessions = [aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(limit=1))
            for _ in range(self.clients)]
        self.grpc = [AsyncCellClient(self.runner.top_address) for _ in range(self.clients)]

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()
        for client in self.grpc:
            await client.close()

    def api_show(self, n: int) -> Op:
        session = self.sessions[n]

        async def call(uuid: str, _: bool) -> object:
            async with session.get(f"{self.url}/v2.1/servers/{uuid}") as answer:
                await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"HTTP {answer.status}")
            return None
        return call

    def api_pause(self, n: int) -> Op:
        session = self.sessions[n]
        bodies = {True: b'{"pause": null}', False: b'{"unpause": null}'}

        async def call(uuid: str, pause: bool) -> object:
            url = f"{self.url}/v2.1/servers/{uuid}/action"
            async with session.post(url, data=bodies[pause]) as answer:
                await answer.read()
                if answer.status != 202:
                    raise RuntimeError(f"HTTP {answer.status}: {(await answer.text())[:120]}")
            return None
        return call

    def grpc_show(self, n: int) -> Op:
        client = self.grpc[n]

        async def call(uuid: str, _: bool) -> object:
            return await client.get(uuid, metadata=self.scope)
        return call

    def grpc_pause(self, n: int) -> Op:
        client = self.grpc[n]

        async def call(uuid: str, pause: bool) -> object:
            return await client.act(uuid, Action.PAUSE if pause else Action.UNPAUSE,
                                    metadata=self.scope)
        return call


# Whether each instance was last paused, across rounds and both sides.
PAUSED: dict[str, bool] = {}


async def drive(label: str, ops: list[Op], uuids: list[list[str]], seconds: float) -> Result:
    """Every client calls its op on its own instances, in turn, for `seconds`; a
    pause client pauses an instance that is running and unpauses one that is not."""
    times: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    async def client(op: Op, mine: list[str]) -> None:
        while True:
            for uuid in mine:
                if time.perf_counter() >= stop_at:
                    return
                pause = not PAUSED.get(uuid, False)
                t0 = time.perf_counter()
                try:
                    await op(uuid, pause)
                    times.append(time.perf_counter() - t0)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                # A refusal means the instance is already so (a cast not applied
                # yet when the next call came): either way, the next call flips.
                PAUSED[uuid] = pause

    started = time.perf_counter()
    await asyncio.gather(*(client(op, mine) for op, mine in zip(ops, uuids, strict=True)))
    return Result(label, times, time.perf_counter() - started, errors)


async def compare(sides: Sides, uuids: list[list[str]], seconds: float, rounds: int,
                  meters: dict[str, Meter]) -> list[str]:
    lines: list[str] = []
    for what, api_op, grpc_op in (("show", sides.api_show, sides.grpc_show),
                                  ("pause", sides.api_pause, sides.grpc_pause)):
        n = sides.clients
        runs: dict[str, list[Result]] = {"api": [], "grpc": []}
        await drive("warm-up", [api_op(i) for i in range(n)], uuids, 0.5)
        await drive("warm-up", [grpc_op(i) for i in range(n)], uuids, 0.5)
        for _ in range(rounds):
            for side, make in (("api", api_op), ("grpc", grpc_op)):
                meter = meters[f"{what}-{side}"]
                meter.begin()
                done = await drive(side, [make(i) for i in range(n)], uuids, seconds)
                meter.end(len(done.seconds) + len(done.errors))
                runs[side].append(done)
        lines += report(what, runs, meters[f"{what}-api"], meters[f"{what}-grpc"], n)
    return lines


def report(what: str, runs: dict[str, list[Result]], api_meter: Meter, grpc_meter: Meter,
           clients: int) -> list[str]:
    api, grpc_side = (merge(runs[side], label) for side, label in (
        ("api", f"{what} through the API, {clients} clients"),
        ("grpc", f"{what} over gRPC at the top, {clients} clients")))
    width = max(len(api.label), len(grpc_side.label))
    lines = [header(f"{what}: the API against the same call over gRPC")]
    for r in (api, grpc_side):
        lines.append(f"{r.label:<{width}} {r.throughput:.0f} calls/s  p50 {r.p50:.2f} ms"
                     f"  p99 {r.p99:.2f} ms")
    api_cpu, grpc_cpu = api_meter.per_call_ms(), grpc_meter.per_call_ms()
    served = {m: m.per_call_ms()["tree"] + m.per_call_ms()["api"] for m in (api_meter, grpc_meter)}
    lines.append(f"CPU per call: API process {api_cpu['api']:.3f} ms; tree"
                 f" {api_cpu['tree']:.3f} ms through the API, {grpc_cpu['tree']:.3f} ms"
                 f" over gRPC; servers in all {served[api_meter] / served[grpc_meter]:.2f}x")
    lines.append(f"CPU per call of the clients (this process, sharing the 2 cores): HTTP"
                 f" {api_cpu['clients']:.3f} ms, gRPC {grpc_cpu['clients']:.3f} ms")
    lines.append(target_line(f"{what} p50, API / gRPC", api.p50 / grpc_side.p50, TARGET))
    lines.append(floor_line(f"{what} calls/s, API / gRPC",
                            api.throughput / grpc_side.throughput, 1 / TARGET))
    for r in (api, grpc_side):
        lines += error_lines(r)
    return lines


def merge(results: list[Result], label: str) -> Result:
    return Result(label, [s for r in results for s in r.seconds], sum(r.wall for r in results),
                  [e for r in results for e in r.errors])


def boot(runner: TreeRunner, clients: int) -> list[list[str]]:
    # Booted as the API boots them: keeping their key name ("": none), which a
    # show then reads from the instance, not the API's database.
    keyless = Attributes(key_name="")
    with CellClient(runner.top_address) as top:
        return [[top.boot(replace(boot_spec(f"api-bench-{c}-{i}", 1, 512, 1, project=PROJECT),
                                  attributes=keyless)).uuid
                 for i in range(PER_CLIENT)] for c in range(clients)]


def run(clients: int, seconds: float, rounds: int, member: bool = False) -> str:
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-api-") as tmp:
        text = fanout_text(2, 2) + API_TREE
        if member:  # a member's 100 calls/s (cells.security.limits) would be the figure
            text = text.replace("[cells.top]\n", "[cells.top]\n"
                                "limits = { requests_per_second_per_member = 0 }\n", 1)
        runner = TreeRunner(write_tree(text, Path(tmp)), Path(tmp) / "state", "WARNING")
        try:
            runner.start()
            assert runner.api is not None and runner.api.proc is not None
            groups = {"tree": [p.pid for p in runner.procs.values()],
                      "api": [runner.api.proc.pid], "clients": [os.getpid()]}
            meters = {f"{w}-{s}": Meter(groups) for w in ("show", "pause")
                      for s in ("api", "grpc")}
            uuids = boot(runner, clients)

            async def main() -> list[str]:
                sides = Sides(runner, clients, member)
                await sides.open()
                try:
                    return await compare(sides, uuids, seconds, rounds, meters)
                finally:
                    await sides.close()

            lines = eventloop.run(main())
        finally:
            runner.stop()
    intro = (f"{platform.python_implementation()} {platform.python_version()}; {rounds} rounds"
             f" of about {seconds:g} s per side; clients on this process's event loop;"
             f" calls as {'a member' if member else 'an admin'}")
    return "\n".join([intro, *lines])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_api",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="clients (default 16)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round and side")
    parser.add_argument("--rounds", type=int, default=4, help="rounds (default 4)")
    parser.add_argument("--member", action="store_true",
                        help="call as a member of the instances' project (default: an admin)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--clients, --seconds and --rounds must be positive")
    print(run(args.clients, args.seconds, args.rounds, args.member), flush=True)


if __name__ == "__main__":
    main()
