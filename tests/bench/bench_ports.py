"""What a port costs: IPAM's allocations against plain inserts, and a boot on a port.

    python -m tests.bench.bench_ports [--threads N] [--seconds S] [--rounds R]
                                      [--boots B] [--boot-rounds K] [--no-postgres]
                                      [--only allocations|boots]

  allocations  NetworkService.ports.create (network.ports) on one network with
               a /16 subnet (the pool never runs out), one port a call, against
               the baseline: the same rows written straight into the database
               with plain SQLAlchemy Core inserts in one transaction (a row in
               ports, ipam_allocations, port_ips and port_security_groups: what
               one create leaves behind), its address and MAC counted up in
               Python with no pool, on a network and subnet (a /12) of its
               own. Both go through the service's own engine (the same pool
               of connections). One thread, then N threads (default 4: within
               the engine's pool of 5), each side S seconds (default 1.5),
               alternately (the order swapped each round), R rounds (default
               3); on a SQLite file, then on PostgreSQL (CELLROUTER_TEST_PG_URL,
               default postgresql+psycopg://postgres@127.0.0.1:5432/test, in a
               schema of its own dropped afterwards) when it answers. Printed:
               allocations/s (all calls over the rounds' wall time), latency
               p50/p99 of each call, and CPU time per allocation: this
               process's (the callers and, on SQLite, the database; from
               time.process_time, which keeps the time of the worker threads
               that each run ends), and on PostgreSQL the backends' of this
               run's connections (from /proc, tests.bench.cpu); then the ratios
               service / baseline. The warm calls (one per thread and run) are
               in the CPU time and counted as calls; a warm-up run before the
               rounds opens every connection.
  boots        A tree with its API process: top -> one router -> one fake leaf
               (every cell its own process). Servers are created through the
               API's Compute API over HTTP as the admin, one at a time: with a
               port made beforehand (`networks: [{"port": ID}]`; the ports
               made in bulk through /networking/v2.0/ports, not timed) and with
               `networks: "none"`, B of each (default 300) in K rounds
               (default 4), the two kinds alternately (the order swapped each
               round). After each batch its servers are deleted (not timed)
               and the next waits until the list is empty, so every batch
               starts from the same tree; the admin project's quotas are
               unlimited. Printed: latency p50/p99 of the create (until its
               202), the API process's CPU time per create and the tree's
               cells', read from /proc, and the ratios port / none. The leaf
               has no network agent: a create on a port also asks the tree
               for one to wire it, and the API logs that none is there (as on
               any tree without agents); that is in the figures.

No figure is checked against a target: they are for reading, beside their
baselines from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import os
import platform
import sqlite3
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from celldb.engine import create_schema, drop_schema, redact
from celldb.errors import DatabaseUnavailable
from cellops.tree import TreeRunner
from cellwire import eventloop
from network import tables
from network.addresses import key
from network.resources import Caller, NetworkSpec, PortSpec, SubnetSpec
from network.service import NetworkService
from tests.bench.cpu import Meter, cpu_seconds
from tests.bench.harness import Result, error_lines, header
from tests.bench.trees import fanout_text, write_tree

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POOL_SIZE = 5  # SQLAlchemy's default, the service's engine's
CALLER = Caller("bench")
SERVICE_CIDR = "10.20.0.0/16"
BASELINE_CIDR = "172.16.0.0/12"  # room for any run's counted addresses
BASELINE_ROOM = (1 << 20) - 4
BULK = 50  # ports made in one bulk create for the boots
API_TREE = """
[api]

[flavors]
small = { vcpus = 1, memory_mb = 512, disk_gb = 1 }
"""


# ----------------------------------------------------------------- allocations

@dataclass
class Rig:
    """One database: the service over it, and what the baseline writes with."""

    label: str
    service: NetworkService
    network: str  # the service's network (a /16)
    base_network: str  # the baseline's (its own, so its counted addresses are free)
    base_subnet: str
    base_first: int  # the baseline's first address
    group: str  # the project's default security group
    counter: Iterator[int]
    backends: Callable[[], list[int]]  # the PostgreSQL backends of this run, or none


def make_rig(label: str, url: str, backends: Callable[[], list[int]]) -> Rig:
    service = NetworkService.open(url)
    made = []
    for cidr in (SERVICE_CIDR, BASELINE_CIDR):
        net = service.networks.create(CALLER, NetworkSpec(name=f"bench-{cidr}"))
        subnet = service.subnets.create(CALLER, SubnetSpec(network_id=net.id, cidr=cidr))
        made.append((net.id, subnet.id))
    service.ports.create(CALLER, PortSpec(network_id=made[0][0]))  # makes the default group
    d = tables.default_security_groups
    with service.engine.connect() as conn:
        group = conn.execute(select(d.c.security_group_id)
                             .where(d.c.project == CALLER.project)).scalar_one()
    first = int(ipaddress.ip_network(BASELINE_CIDR).network_address) + 2  # after the gateway
    return Rig(label, service, made[0][0], made[1][0], made[1][1], first, str(group),
               itertools.count(), backends)


def service_call(rig: Rig) -> Callable[[int], object]:
    spec = PortSpec(network_id=rig.network)
    return lambda _n: rig.service.ports.create(CALLER, spec)


def baseline_call(rig: Rig) -> Callable[[int], object]:
    """The rows one create writes, inserted in one plain transaction."""
    engine = rig.service.engine

    def call(_n: int) -> None:
        n = next(rig.counter)  # itertools.count: one value per caller, threads or not
        address = rig.base_first + n
        if n >= BASELINE_ROOM:
            raise RuntimeError("the baseline's subnet is used up: fewer --seconds or --rounds")
        ip = str(ipaddress.IPv4Address(address))
        now, port = time.time(), str(uuidlib.uuid4())
        mac = "fa:16:3f:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (16, 8, 0))
        with engine.begin() as conn:
            conn.execute(insert(tables.ports).values(
                id=port, network_id=rig.base_network, name="", project=CALLER.project,
                mac_address=mac, device_id="", device_owner="", binding_host="",
                status="DOWN", admin_state_up=True, created_at=now, updated_at=now,
                description=""))
            conn.execute(insert(tables.ipam_allocations).values(
                subnet_id=rig.base_subnet, address=key(address)))
            conn.execute(insert(tables.port_ips).values(
                port_id=port, subnet_id=rig.base_subnet, ip_address=ip))
            conn.execute(insert(tables.port_security_groups).values(
                port_id=port, security_group_id=rig.group))
    return call


class CpuMeter:
    """CPU per call of this process (time.process_time: its worker threads end
    with each run, and /proc/PID/task forgets the time of threads gone) and of
    PostgreSQL backends (tests.bench.cpu, from /proc), over stretches of calls."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.spent = {"process": 0.0, "backends": 0.0}
        self.calls = 0
        self._start = (0.0, 0.0)

    def _now(self) -> tuple[float, float]:
        return time.process_time(), sum(cpu_seconds(p) for p in self.backends)

    def begin(self) -> None:
        self._start = self._now()

    def end(self, calls: int) -> None:
        now = self._now()
        self.spent["process"] += now[0] - self._start[0]
        self.spent["backends"] += now[1] - self._start[1]
        self.calls += calls

    def per_call_ms(self) -> dict[str, float]:
        return {name: 1000.0 * spent / max(1, self.calls) for name, spent in self.spent.items()}


def drive(label: str, threads: int, seconds: float, call: Callable[[int], object]) -> Result:
    """`threads` threads make calls for `seconds`, each timed on its own."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(n: int) -> None:
        call(-1 - n)  # warm a connection
        ready.wait()
        k = 0
        while not stop.is_set():
            k += 1
            started = time.perf_counter()
            try:
                call(n * 1_000_000 + k)
                spent = time.perf_counter() - started
                with lock:
                    times.append(spent)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, n) for n in range(threads)]
        ready.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for f in futures:
            f.result()
        wall = time.perf_counter() - began
    return Result(label, times, wall, errors)


def merge(results: list[Result], label: str) -> Result:
    return Result(label, [s for r in results for s in r.seconds], sum(r.wall for r in results),
                  [e for r in results for e in r.errors])


def allocations(rig: Rig, threads: int, seconds: float, rounds: int) -> list[str]:
    sides = {"service": service_call(rig), "baseline": baseline_call(rig)}
    labels = {"service": "ports.create (service)", "baseline": "plain inserts (baseline)"}
    runs: dict[str, list[Result]] = {side: [] for side in sides}
    for side in sides:  # warm-up, not counted: every thread's connection opened
        drive(side, threads, min(seconds, 0.3), sides[side])
    meters = {side: CpuMeter(rig.backends()) for side in sides}
    for n in range(rounds):
        for side in (list(sides) if n % 2 == 0 else list(sides)[::-1]):
            meters[side].begin()
            done = drive(side, threads, seconds, sides[side])
            meters[side].end(len(done.seconds) + len(done.errors) + threads)  # + the warm calls
            runs[side].append(done)
    spent = {side: meters[side].per_call_ms() for side in sides}
    merged = {side: merge(runs[side], labels[side]) for side in sides}
    width = max(len(v) for v in labels.values())
    what = "1 thread" if threads == 1 else f"{threads} threads"
    lines = [header(f"Port allocations on {rig.label}, {what}: the service against plain"
                    " inserts of the same rows")]
    for side, r in merged.items():
        cpu = f"this process {spent[side]['process']:.3f} ms"
        if rig.label.startswith("PostgreSQL"):
            cpu += f", PostgreSQL backends {spent[side]['backends']:.3f} ms"
        lines.append(f"{r.label:<{width}} {r.throughput:8.0f} allocations/s  p50 {r.p50:.2f} ms"
                     f"  p99 {r.p99:.2f} ms  CPU per allocation: {cpu}")
    s, b = merged["service"], merged["baseline"]
    cpu_s, cpu_b = (sum(spent[side].values()) for side in ("service", "baseline"))
    lines.append(f"ratios service / baseline: allocations/s {s.throughput / b.throughput:.2f}x,"
                 f" p50 {s.p50 / b.p50:.2f}x, p99 {s.p99 / b.p99:.2f}x,"
                 f" CPU per allocation {cpu_s / cpu_b:.2f}x")
    for r in merged.values():
        lines += error_lines(r)
    return lines


def run_allocations(label: str, url: str, threads: int, seconds: float, rounds: int,
                    backends: Callable[[], list[int]]) -> None:
    rig = make_rig(label, url, backends)
    try:
        for n in sorted({1, threads}):
            print("\n".join(allocations(rig, n, seconds, rounds)), flush=True)
    finally:
        rig.service.close()


@contextmanager
def pg_schema(base: str) -> Iterator[tuple[str, Callable[[], list[int]]]]:
    """A URL whose connections use a fresh schema (dropped afterwards) and carry
    an application name of their own, and how to find their backends' pids."""
    schema = f"bench_{uuidlib.uuid4().hex[:12]}"
    create_schema(base, schema)
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    watcher: Engine = create_engine(base, connect_args={"connect_timeout": 5})

    def backends() -> list[int]:
        with watcher.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity"
                                          " WHERE application_name = :n"), {"n": schema})
                        .scalars())
    try:
        yield url, backends
    finally:
        watcher.dispose()
        drop_schema(base, schema)


def all_allocations(threads: int, seconds: float, rounds: int, postgres: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ports-") as tmp:
        run_allocations("SQLite (a file, WAL)", f"sqlite:///{Path(tmp) / 'ports.db'}", threads,
                        seconds, rounds, lambda: [])
    if not postgres:
        return
    base = os.environ.get("CELLROUTER_TEST_PG_URL") or DEFAULT_PG_URL
    opened = False
    try:
        with pg_schema(base) as (url, backends):
            opened = True
            run_allocations("PostgreSQL", url, threads, seconds, rounds, backends)
    except (SQLAlchemyError, DatabaseUnavailable, ImportError) as exc:
        if opened:  # reachable, then failed while measuring: that is no skip
            raise
        print(header("Port allocations on PostgreSQL"), flush=True)
        print(f"skipped: cannot use PostgreSQL at {redact(base)}:"
              f" {str(exc).splitlines()[0]}", flush=True)


# ----------------------------------------------------------------------- boots

class Api:
    """The API over HTTP as the admin, one request at a time."""

    def __init__(self, runner: TreeRunner) -> None:
        assert runner.api is not None
        self.runner, self.url = runner, runner.api.url
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        api = self.runner.api
        assert api is not None
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": api.password}}}}}
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.url}/identity/v3/auth/tokens", json=auth) as answer:
            token = answer.headers["X-Subject-Token"]
        self.session = aiohttp.ClientSession(
            headers={"X-Auth-Token": token}, connector=aiohttp.TCPConnector(limit=1))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(self, method: str, path: str, body: Any = None,
                   expect: tuple[int, ...] = (200,)) -> Any:
        assert self.session is not None
        async with self.session.request(method, f"{self.url}{path}", json=body) as answer:
            data = await answer.read()
            if answer.status not in expect:
                raise RuntimeError(f"{method} {path}: HTTP {answer.status}: {data[:160]!r}")
            return await answer.json() if data else None


async def setup_boots(api: Api) -> str:
    """Unlimited quotas for the admin project; a network with a /16; its id."""
    await api.call("PUT", "/v2.1/os-quota-sets/admin", {"quota_set": {
        "instances": -1, "cores": -1, "ram": -1}})
    net = await api.call("POST", "/networking/v2.0/networks", {"network": {"name": "bench"}},
                         expect=(201,))
    await api.call("POST", "/networking/v2.0/subnets", {"subnet": {
        "network_id": net["network"]["id"], "cidr": SERVICE_CIDR, "ip_version": 4}},
        expect=(201,))
    return str(net["network"]["id"])


async def make_ports(api: Api, network: str, count: int) -> list[str]:
    made: list[str] = []
    while len(made) < count:
        n = min(BULK, count - len(made))
        body = await api.call("POST", "/networking/v2.0/ports",
                              {"ports": [{"network_id": network}] * n}, expect=(201,))
        made += [p["id"] for p in body["ports"]]
    return made


async def batch(api: Api, kind: str, count: int, ports: list[str], meter: Meter
                ) -> tuple[Result, list[str]]:
    """`count` creates of `kind`, one at a time; their times and the servers made."""
    times: list[float] = []
    errors: list[str] = []
    servers: list[str] = []
    meter.begin()
    began = time.perf_counter()
    for n in range(count):
        networks: Any = [{"port": ports[n]}] if kind == "port" else "none"
        body = {"server": {"name": f"bench-{kind}-{n}", "flavorRef": "small",
                           "networks": networks}}
        started = time.perf_counter()
        try:
            made = await api.call("POST", "/v2.1/servers", body, expect=(202,))
            times.append(time.perf_counter() - started)
            servers.append(made["server"]["id"])
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
    wall = time.perf_counter() - began
    meter.end(count)
    return Result(kind, times, wall, errors), servers


async def clear(api: Api, servers: list[str], timeout: float = 60.0) -> None:
    """Delete `servers`; return once the list of servers is empty."""
    for server in servers:
        await api.call("DELETE", f"/v2.1/servers/{server}", expect=(204, 404))
    deadline = time.monotonic() + timeout
    while (await api.call("GET", "/v2.1/servers?all_tenants=1"))["servers"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"servers still listed {timeout:g} s after their delete")
        await asyncio.sleep(0.05)


async def compare_boots(api: Api, runner: TreeRunner, boots: int, rounds: int) -> list[str]:
    assert runner.api is not None and runner.api.proc is not None
    groups = {"api": [runner.api.proc.pid], "tree": [p.pid for p in runner.procs.values()]}
    meters = {"port": Meter(groups), "none": Meter(groups)}
    runs: dict[str, list[Result]] = {"port": [], "none": []}
    network = await setup_boots(api)
    warm = await make_ports(api, network, 5)
    for kind in ("port", "none"):  # warm-up, not counted
        _, servers = await batch(api, kind, 5, warm, Meter({}))
        await clear(api, servers)
    per_round = max(1, boots // rounds)
    for r in range(rounds):
        ports = await make_ports(api, network, per_round)
        for kind in (("port", "none") if r % 2 == 0 else ("none", "port")):
            done, servers = await batch(api, kind, per_round, ports, meters[kind])
            runs[kind].append(done)
            await clear(api, servers)
    labels = {"port": 'networks: [{"port": ID}] (made before)', "none": 'networks: "none"'}
    merged = {kind: merge(runs[kind], labels[kind]) for kind in runs}
    width = max(len(v) for v in labels.values())
    lines = [header(f"Server creates through the API, one at a time, {per_round * rounds}"
                    " of each: a pre-made port against no network")]
    for kind, res in merged.items():
        cpu = meters[kind].per_call_ms()
        lines.append(f"{res.label:<{width}} p50 {res.p50:.2f} ms  p99 {res.p99:.2f} ms"
                     f"  CPU per create: API process {cpu['api']:.2f} ms,"
                     f" tree {cpu['tree']:.2f} ms")
    p, n = merged["port"], merged["none"]
    cpu_p, cpu_n = meters["port"].per_call_ms(), meters["none"].per_call_ms()
    lines.append(f"ratios port / none: p50 {p.p50 / n.p50:.2f}x, p99 {p.p99 / n.p99:.2f}x,"
                 f" API CPU per create {cpu_p['api'] / cpu_n['api']:.2f}x,"
                 f" tree CPU per create {cpu_p['tree'] / cpu_n['tree']:.2f}x")
    for res in merged.values():
        lines += error_lines(res)
    return lines


def run_boots(boots: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ports-api-") as tmp:
        text_ = fanout_text(1, 1) + API_TREE
        runner = TreeRunner(write_tree(text_, Path(tmp)), Path(tmp) / "state", "WARNING")
        try:
            runner.start()

            async def main() -> list[str]:
                api = Api(runner)
                await api.open()
                try:
                    return await compare_boots(api, runner, boots, rounds)
                finally:
                    await api.close()

            print("\n".join(eventloop.run(main())), flush=True)
        finally:
            runner.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_ports",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=4,
                        help="allocating threads beside the one-thread run (default 4)")
    parser.add_argument("--seconds", type=float, default=1.5,
                        help="seconds per round and side of the allocations (default 1.5)")
    parser.add_argument("--rounds", type=int, default=3, help="allocation rounds (default 3)")
    parser.add_argument("--boots", type=int, default=300,
                        help="creates of each kind through the API (default 300)")
    parser.add_argument("--boot-rounds", type=int, default=4,
                        help="rounds the creates are split into (default 4)")
    parser.add_argument("--no-postgres", action="store_true",
                        help="leave PostgreSQL out of the allocations")
    parser.add_argument("--only", choices=("allocations", "boots"), default=None,
                        help="run one part only")
    args = parser.parse_args(argv)
    if min(args.threads, args.rounds, args.boots, args.boot_rounds) < 1 or args.seconds <= 0:
        parser.error("--threads, --seconds, --rounds, --boots and --boot-rounds must be positive")
    print(f"{platform.python_implementation()} {platform.python_version()};"
          f" {os.cpu_count()} cores; sqlalchemy {sqlalchemy.__version__},"
          f" sqlite {sqlite3.sqlite_version}", flush=True)
    if args.threads > POOL_SIZE:
        print(f"note: {args.threads} threads share the engine's {POOL_SIZE} pooled connections"
              " and open and close the others as they go", flush=True)
    if args.only != "boots":
        all_allocations(args.threads, args.seconds, args.rounds, not args.no_postgres)
    if args.only != "allocations":
        run_boots(args.boots, args.boot_rounds)


if __name__ == "__main__":
    main()
