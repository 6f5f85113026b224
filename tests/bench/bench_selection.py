"""How fast do the selectors decide, over 10,000 and 100,000 hosts?

    python -m tests.bench.bench_selection [--seconds S] [--seed N]

One decision is one `select(candidates, spec)` call on a prebuilt list of
`HostState`s, in this process, one at a time: the filters, the weighers and
the ordering, and nothing else (not building the candidate list, not the
claim on the host, no gRPC). Each call is timed on its own with
time.perf_counter(); decisions/s is the number of timed calls over their
wall time. Each case runs for about S seconds (default 2.0; at least 5
decisions, after 2 untimed warm-up decisions).

The hosts are generated from a fixed seed: four sizes (16-64 vCPUs,
64-256 GB), random usage of up to 70 % of each resource, about 10 % too
full for the request (less free memory than it asks) and about 2 % down.
Every decision asks for the same flavor (2 vCPU / 4 GB / 20 GB).

  (a) random            RandomSelector, default filters, 10,000 hosts, as a
                        list and as a HostTable (the first fit of a random order)
  (b) filter_weigher    FilterWeigherSelector, default filters, weighers
                        [(RamWeigher, 1.0), (VcpuWeigher, 1.0),
                        (InstanceCountWeigher, -1.0)], every host examined, over
                        a HostTable (what a leaf keeps of its hosts: the
                        standard stages run as array operations)
  (c) ... + Sampling()  the same with Sampling() (stop once max(100, 5 %) are
                        feasible, from a random start), 10,000 and 100,000 hosts
  (d) ... no sampling   over 100,000 hosts
  (e) ... over a list   the stage-by-stage pipeline over a plain list, for
                        comparison (what a router runs over its children)

"considered" is the mean number of hosts the filters examined per decision.

Then, how a decision with Sampling() scales from 10,000 to 100,000 hosts:
filter_weigher with Sampling() over a HostTable, and, as the baseline, over
a plain list (the stage-by-stage pipeline, which reads only the hosts it
examines; what a leaf ran before the table). The four runs are interleaved:
R rounds (default 7), each running every one of them for about 0.2 s, in an
order rotated each round, so that other load on the machine falls on all
alike. The figure is the CPU time of this process per decision
(time.process_time, which does not count the time other processes hold the
CPU, as wall time does), the median over the rounds; wall time is printed
beside it.

Last, what a soft server-group policy costs a decision (bestmatch.soft_groups:
`random` then examines every host instead of stopping at the first fits, and
both selectors order the feasible by the group's members): a request for a
soft-anti-affinity group with a member on every tenth host, against the same
request with no group as the baseline, interleaved in the same way, over a
HostTable of 10,000 hosts, CPU per decision and the ratio.

Targets, printed after the table: random p50 <= 0.05 ms at 10,000 hosts;
filter_weigher p99 <= 5 ms at 10,000 hosts with every host examined, and
<= 2 ms with Sampling(); with Sampling() over a HostTable, CPU per decision
at 100,000 hosts <= 1.2x that at 10,000 (sampling reads about as many rows
at any size). The figures are for one machine (the load average is
printed): other load on it raises them all, p99 most.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bestmatch.api import HostState, RequestSpec, Selector, Weigher
from bestmatch.pipeline import Sampling
from bestmatch.selectors import FilterWeigherSelector, RandomSelector
from bestmatch.table import HostTable
from bestmatch.weighers.instances import InstanceCountWeigher
from bestmatch.weighers.ram import RamWeigher
from bestmatch.weighers.vcpu import VcpuWeigher
from model.compute import Resources
from tests.bench.harness import Result, header, target_line

FLAVOR = Resources(vcpus=2, memory_mb=4096, disk_gb=20)
SPEC = RequestSpec(flavor=FLAVOR, project="bench")
SIZES = (  # vcpus, memory_mb, disk_gb
    Resources(16, 65536, 500),
    Resources(32, 131072, 1000),
    Resources(48, 196608, 2000),
    Resources(64, 262144, 2000),
)
DOWN = 0.02
TOO_FULL = 0.10
SCALING_TARGET = 1.2  # CPU per decision at 100,000 / 10,000 hosts, Sampling() over a table
BATCH_SECONDS = 0.2  # one run of one case in one round of the scaling comparison


def make_hosts(count: int, seed: int) -> list[HostState]:
    """`count` varied hosts; the same ones for the same seed."""
    rng = random.Random(seed)
    hosts = []
    for i in range(count):
        total = rng.choice(SIZES)
        roll = rng.random()
        vcpus = rng.randint(0, int(total.vcpus * 0.7))
        disk = rng.randint(0, int(total.disk_gb * 0.7))
        if DOWN <= roll < DOWN + TOO_FULL:  # less free memory than the flavor asks
            memory = total.memory_mb - rng.randint(0, FLAVOR.memory_mb - 1)
        else:
            memory = rng.randint(0, int(total.memory_mb * 0.7))
        hosts.append(HostState(
            name=f"host-{i:06d}",
            cell_path="bench",
            total=total,
            used=Resources(vcpus, memory, disk),
            alive=roll >= DOWN,
            instances=rng.randint(0, 40),
        ))
    return hosts


def weighers() -> list[tuple[Weigher, float]]:
    return [(RamWeigher(), 1.0), (VcpuWeigher(), 1.0), (InstanceCountWeigher(), -1.0)]


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    hosts: int
    sampling: str
    result: Result
    considered: float  # mean hosts examined per decision


def measure(label: str, selector: Selector, hosts: Sequence[HostState], sampling: str,
            seconds: float) -> Case:
    for _ in range(2):  # warm-up, not counted
        if not selector.select(hosts, SPEC).ordered:
            raise RuntimeError(f"{label}: no host fits; the generated hosts are wrong")
    times: list[float] = []
    considered = 0
    clock = time.perf_counter
    started = clock()
    while len(times) < 5 or clock() - started < seconds:
        before = clock()
        selection = selector.select(hosts, SPEC)
        times.append(clock() - before)
        considered += selection.considered
    wall = clock() - started
    return Case(label, len(hosts), sampling, Result(label, times, wall),
                considered / len(times))


def row(case: Case) -> str:
    r = case.result
    return (f"{case.label:<16} {case.hosts:>8,} {case.sampling:<18} {len(r.seconds):>6}"
            f" {r.throughput:>12,.1f} {r.p50:>9.3f} {r.p99:>9.3f} {case.considered:>11,.0f}")


@dataclass(frozen=True, slots=True)
class PerCall:
    """CPU and wall time per decision of one run, in ms, one figure per round."""

    cpu: list[float]
    wall: list[float]


def batch(selector: Selector, hosts: Sequence[HostState], calls: int,
          spec: RequestSpec = SPEC) -> tuple[float, float]:
    """CPU and wall ms per decision over `calls` decisions in a row."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        selector.select(hosts, spec)
    return ((time.process_time() - cpu) * 1000 / calls,
            (time.perf_counter() - wall) * 1000 / calls)


Run = tuple[Selector, Sequence[HostState]] | tuple[Selector, Sequence[HostState], RequestSpec]


def interleaved(runs: dict[str, Run], rounds: int) -> dict[str, PerCall]:
    """Each run for about BATCH_SECONDS per round, the runs in a rotated order each round."""
    calls = {}
    for name, (selector, hosts, *spec) in runs.items():  # warm-up, and the calls per batch
        _, wall = batch(selector, hosts, 5, *spec)
        calls[name] = max(5, int(BATCH_SECONDS * 1000 / wall))
    figures = {name: PerCall([], []) for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            selector, hosts, *spec = runs[name]
            cpu, wall = batch(selector, hosts, calls[name], *spec)
            figures[name].cpu.append(cpu)
            figures[name].wall.append(wall)
    return figures


def scaling(small: Sequence[HostState], large: Sequence[HostState], table: HostTable,
            big_table: HostTable, rounds: int) -> list[str]:
    """Lines: Sampling() at 100,000 / 10,000 hosts over a table, beside a list's."""
    def sampled() -> Selector:
        return FilterWeigherSelector(weighers=weighers(), sampling=Sampling(), seed=1)

    figures = interleaved({"table 10k": (sampled(), table), "table 100k": (sampled(), big_table),
                           "list 10k": (sampled(), small), "list 100k": (sampled(), large)},
                          rounds)

    lines = [f"Sampling(), 10,000 vs 100,000 hosts: CPU ms per decision (process_time),"
             f" median of {rounds} interleaved rounds (wall ms in brackets)"]
    ratios = {}
    for kind, what in (("table", "over a HostTable"),
                       ("list", "over a list (baseline: stage by stage)")):
        at_10k, at_100k = figures[f"{kind} 10k"], figures[f"{kind} 100k"]
        cpu = statistics.median(at_10k.cpu), statistics.median(at_100k.cpu)
        wall = statistics.median(at_10k.wall), statistics.median(at_100k.wall)
        ratios[kind] = cpu[1] / cpu[0]
        lines.append(f"  {what:<40} 10,000: {cpu[0]:.3f} ({wall[0]:.3f})"
                     f"  100,000: {cpu[1]:.3f} ({wall[1]:.3f})"
                     f"  ratio {ratios[kind]:.2f}x (wall {wall[1] / wall[0]:.2f}x)")
    lines.append(target_line("filter_weigher CPU per decision at 100,000 / 10,000 hosts with"
                             " Sampling(), over a HostTable", ratios["table"], SCALING_TARGET)
                 + f" (baseline over a list, same run: {ratios['list']:.2f}x)")
    return lines


def soft_groups(table: HostTable, rounds: int) -> list[str]:
    """Lines: a decision for a soft-anti-affinity group (a member on every
    tenth host) against the same decision without a group, at 10,000 hosts,
    over a HostTable, for both selectors."""
    grouped = HostTable([replace(h, groups={"g": 1}) if n % 10 == 0 else h
                         for n, h in enumerate(table)])
    soft = replace(SPEC, hints={"group": "g", "group_policy": "soft-anti-affinity"})
    figures = interleaved({
        "random": (RandomSelector(seed=1), grouped),
        "random soft": (RandomSelector(seed=1), grouped, soft),
        "filter_weigher": (FilterWeigherSelector(weighers=weighers(), seed=1), grouped),
        "filter_weigher soft": (FilterWeigherSelector(weighers=weighers(), seed=1), grouped,
                                soft)}, rounds)
    lines = [f"a soft-anti-affinity group vs none, 10,000 hosts in a HostTable: CPU ms per"
             f" decision (process_time), median of {rounds} interleaved rounds"]
    for name in ("random", "filter_weigher"):
        plain = statistics.median(figures[name].cpu)
        grouped_ms = statistics.median(figures[f"{name} soft"].cpu)
        lines.append(f"  {name:<16} none {plain:.3f}  soft {grouped_ms:.3f}"
                     f"  ratio {grouped_ms / plain:.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="timed seconds per case (default 2.0)")
    parser.add_argument("--seed", type=int, default=1, help="host generation seed (default 1)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved rounds of the scaling comparison (default 7)")
    args = parser.parse_args()

    print(header("Selection: one select() call per decision, in process"))
    print(f"python {platform.python_version()} on {platform.machine()},"
          f" flavor {FLAVOR}, seed {args.seed}, ~{args.seconds:g} s per case,"
          f" load average {os.getloadavg()[0]:.2f}")
    small = make_hosts(10_000, args.seed)
    large = make_hosts(100_000, args.seed)
    down = sum(not h.alive for h in large) / len(large)
    full = sum(h.alive and h.room.memory_mb < FLAVOR.memory_mb for h in large) / len(large)
    print(f"hosts: {down:.1%} down, {full:.1%} too full for the flavor")

    s = args.seconds
    fw = FilterWeigherSelector
    table, big_table = HostTable(small), HostTable(large)  # as a leaf keeps its hosts
    cases = [
        measure("(a) random", RandomSelector(seed=1), small, "none", s),
        measure("(a) random", RandomSelector(seed=1), table, "none, table", s),
        measure("(b) filter_w", fw(weighers=weighers(), seed=1), table, "none, table", s),
        measure("(c) filter_w", fw(weighers=weighers(), sampling=Sampling(), seed=1),
                table, "Sampling(), table", s),
        measure("(c) filter_w", fw(weighers=weighers(), sampling=Sampling(), seed=1),
                big_table, "Sampling(), table", s),
        measure("(d) filter_w", fw(weighers=weighers(), seed=1), big_table, "none, table", s),
        measure("(e) filter_w", fw(weighers=weighers(), seed=1), small, "none, list", s),
        measure("(e) filter_w", fw(weighers=weighers(), sampling=Sampling(), seed=1),
                small, "Sampling(), list", s),
    ]
    print()
    print(f"{'case':<16} {'hosts':>8} {'sampling':<18} {'runs':>6} {'decisions/s':>12}"
          f" {'p50 ms':>9} {'p99 ms':>9} {'considered':>11}")
    for case in cases:
        print(row(case))

    random_10k, _, fw_10k, sampled_10k, _, _, _, _ = cases
    started = time.perf_counter()
    HostTable(small)
    built = (time.perf_counter() - started) * 1000
    print()
    print(f"building the table of 10,000 hosts (once per report at a leaf): {built:.1f} ms")
    for line in scaling(small, large, table, big_table, args.rounds):
        print(line)
    for line in soft_groups(table, args.rounds):
        print(line)
    print(target_line("random p50 at 10,000 hosts", random_10k.result.p50, 0.05, " ms"))
    print(target_line("filter_weigher p99 at 10,000 hosts, every host examined",
                      fw_10k.result.p99, 5.0, " ms"))
    print(target_line("filter_weigher p99 at 10,000 hosts with Sampling()",
                      sampled_10k.result.p99, 2.0, " ms"))


if __name__ == "__main__":
    main()
