"""What do notifications cost a routed call, and how soon do they arrive?

    python -m tests.bench.bench_notify [--rounds R] [--calls N] [--threads T]
                                       [--seconds S]

Two trees of the same shape run side by side (top -> 2 regions -> 2 fake
leaves each, every cell its own process): one with [notifications] on, its
leaves writing every event into their outboxes in the transaction of the
change and sending them to RabbitMQ (an exchange of the run's own, with
publisher confirms), the other with them off: the same run's baseline. A
plain AMQP consumer (aiormq) is bound to the exchange.

  sequential  R rounds (default 8), each of N sequential pause/unpause calls
              (wait=True, default 250) at the top of the tree with
              notifications on and then of the one without: p50, p99, calls/s
              and CPU per call of each level (from /proc), as ratios on/off
  load        T client threads (default 16) for S seconds (default 4) on each
              tree in turn, R/2 rounds: calls/s on/off
  delay       for every pause and unpause of the runs above: from the commit
              at the leaf (the message's timestamp) to its receipt at the
              consumer, p50 and p99; and whether every event arrived

Needs RabbitMQ at amqp://guest:guest@127.0.0.1:5672/ (it says so, and stops,
when none answers). Targets, printed with their figures: routed pause p50
<= 1.25x without notifications; 16 threads >= 0.8x the calls/s without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from prometheus_client.parser import text_string_to_metric_families

from cellops.tree import TreeRunner
from tests.bench.bench_load import boot_all, connect_to, drive
from tests.bench.bench_routing import Target, cpu_lines, interleave, tree_target
from tests.bench.cpu import Meter
from tests.bench.harness import Result, error_lines, floor_line, header, target_line
from tests.bench.rigs import LEVELS
from tests.bench.trees import fanout_text, write_tree
from tests.integration.amqp_consumer import AMQP_URL, Consumer, amqp_answers

TARGET_RATIO = 1.25  # p50 with notifications / p50 without
TARGET_LOAD = 0.80  # calls/s with notifications / calls/s without, T threads


@contextmanager
def tree(exchange: str | None) -> Iterator[tuple[str, dict[str, list[int]], TreeRunner]]:
    """A fake tree, with notifications to `exchange` (None: off) and the leaves'
    metrics (to count what they wrote and sent)."""
    with TemporaryDirectory(prefix="cellrouter-bench-notify-") as tmp:
        text = fanout_text(2, 2).replace('driver = "fake"',
                                         'driver = "fake"\nmetrics_listen = "127.0.0.1:0"')
        if exchange is not None:
            text += (f'\n[notifications]\nenabled = true\nurl = "{AMQP_URL}"\n'
                     f'exchange = "{exchange}"\n')
        runner = TreeRunner(write_tree(text, Path(tmp)), Path(tmp) / "state", "WARNING")
        try:
            top = runner.start()
            yield top, {name: [runner.procs[c.name].pid for c in level]
                        for name, level in zip(LEVELS, runner.spec.levels(), strict=True)}, runner
        finally:
            runner.stop()


def leaf_figures(runner: TreeRunner) -> dict[str, float]:
    """The notification figures of every leaf, summed."""
    sums: dict[str, float] = {}
    for cell in runner.spec.cells:
        if not cell.driver:
            continue
        address = (runner.state_dir / cell.name / "metrics-address").read_text().strip()
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("cellrouter_notifications_"):
                    sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * int(p) // 100) - 1)]


def run(rounds: int, calls: int, threads: int, seconds: float) -> str:
    exchange = f"nova-bench-{uuidlib.uuid4().hex[:8]}"
    consumer = Consumer(exchange)
    try:
        with ExitStack() as stack:
            on_top, on_groups, on_runner = stack.enter_context(tree(exchange))
            off_top, off_groups, _ = stack.enter_context(tree(None))
            on = tree_target("notifications on", on_top, on_groups, stack)
            off = tree_target("notifications off", off_top, off_groups, stack)
            interleave([on, off], rounds, calls)
            sequential = compare(on, off, rounds, calls)
            load = run_load(on_top, on_groups, off_top, off_groups, threads, seconds,
                            max(1, rounds // 2))
            delay = delay_lines(consumer, on_runner)
        return "\n".join([*sequential, *load, *delay])
    finally:
        consumer.close(delete_exchange=True)


def compare(on: Target, off: Target, rounds: int, calls: int) -> list[str]:
    a, b = on.result(), off.result()
    width = len("ratio on/off") + 8
    lines = [header("Routed pause/unpause at the top, 3 levels, notifications on vs off"),
             f"{rounds} rounds x {calls} sequential calls each (wait=True), on and off"
             " alternately; events to RabbitMQ with publisher confirms"]
    for r in (a, b):
        lines.append(f"{r.label:<{width}} p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms"
                     f"  {r.throughput:.0f} calls/s")
    ratio = a.p50 / b.p50
    lines.append(f"{'ratio on/off':<{width}} p50 {ratio:.2f}x  p99 {a.p99 / b.p99:.2f}x"
                 f"  calls/s {a.throughput / b.throughput:.2f}x")
    lines += [line.replace("tree:", "on:").replace("chain:", "off:")
              .replace("tree/chain", "on/off") for line in cpu_lines(on.meter, off.meter)]
    lines.append(target_line("routed pause p50 on / off", ratio, TARGET_RATIO))
    return lines


def run_load(on_top: str, on_groups: dict[str, list[int]], off_top: str,
             off_groups: dict[str, list[int]], threads: int, seconds: float,
             rounds: int) -> list[str]:
    sides = {"on": (on_top, boot_all(on_top, threads, 4), Meter(on_groups), []),
             "off": (off_top, boot_all(off_top, threads, 4), Meter(off_groups), [])}
    for _ in range(rounds):
        for side, (top, uuids, meter, runs) in sides.items():
            meter.begin()
            done = drive(f"notifications {side}, {threads} threads", connect_to(top), uuids,
                         seconds)
            meter.end(len(done.seconds) + len(done.errors))
            runs.append(done)
    merged = {side: Result(runs[0].label, [s for r in runs for s in r.seconds],
                           sum(r.wall for r in runs), [e for r in runs for e in r.errors])
              for side, (_, _, _, runs) in sides.items()}
    a, b = merged["on"], merged["off"]
    ratio = a.throughput / b.throughput
    width = len(a.label) + 2
    lines = [header(f"Concurrency: {threads} client threads, pause/unpause at the top,"
                    " notifications on vs off"),
             f"{rounds} rounds of about {seconds:g} s on each tree in turn"]
    for r in (a, b):
        lines.append(f"{r.label:<{width}} {r.throughput:.0f} calls/s  p50 {r.p50:.2f} ms"
                     f"  p99 {r.p99:.2f} ms")
    lines.append(f"{'ratio on/off':<{width}} calls/s {ratio:.2f}x")
    lines += [line.replace("tree:", "on:").replace("chain:", "off:")
              .replace("tree/chain", "on/off")
              for line in cpu_lines(sides["on"][2], sides["off"][2])]
    lines.append(floor_line(f"calls/s on / off, {threads} threads", ratio, TARGET_LOAD))
    lines += error_lines(a) + error_lines(b)
    return lines


def delay_lines(consumer: Consumer, on: TreeRunner) -> list[str]:
    """From commit to receipt, of every pause and unpause event that arrived;
    and whether every event the leaves wrote arrived."""
    def unique() -> int:
        return len({r.message_id for r in consumer.all()})

    written = leaf_figures(on)["cellrouter_notifications_written_total"]
    deadline = time.monotonic() + 60  # the outboxes drain; a bound only
    while unique() < written and time.monotonic() < deadline:
        time.sleep(0.2)
    figures = leaf_figures(on)
    delays = [1000.0 * (r.at - parse(r.inner["timestamp"])) for r in consumer.all()
              if r.event_type.endswith(("pause.end", "unpause.end"))]
    ids = [r.message_id for r in consumer.all()]
    return [header("Event delay: commit at the leaf to receipt at a plain AMQP consumer"),
            f"{figures['cellrouter_notifications_written_total']:.0f} events written by the"
            f" leaves, {figures['cellrouter_notifications_sent_total']:.0f} confirmed,"
            f" {len(set(ids))} received ({len(ids) - len(set(ids))} duplicates),"
            f" {figures['cellrouter_notifications_outbox_rows']:.0f} left in the outboxes,"
            f" {figures['cellrouter_notifications_refused_total']:.0f} refused",
            f"delay p50 {statistics.median(delays):.2f} ms  p99 {percentile(delays, 99):.2f} ms"
            f"  max {max(delays):.2f} ms"]


def parse(stamp: str) -> float:
    from datetime import UTC, datetime
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_notify",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    if not amqp_answers():
        print(header("Notifications: skipped, RabbitMQ does not answer at 127.0.0.1:5672"),
              flush=True)
        sys.exit(0)
    print(run(args.rounds, args.calls, args.threads, args.seconds), flush=True)


if __name__ == "__main__":
    main()
