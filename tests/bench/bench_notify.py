"""What do notifications cost a routed call, and how soon do they arrive?

    python -m tests.bench.bench_notify [--rounds R] [--calls N] [--threads T]
                                       [--seconds S]

Two trees of the same shape run side by side (top -> 2 regions -> 2 fake
leaves each, every cell its own process): one with [notifications] on, its
leaves writing every event into their outboxes in the transaction of the
change and sending them to RabbitMQ (an exchange of the run's own, with
publisher confirms), the other with them off: the same run's baseline. A
plain AMQP consumer (aiormq) is bound to the exchange.

Each tree runs its API process too, as `cellrouter up` starts it. The one
with notifications on follows the bus (its durable hooks queue, as under
`cellrouter up`) and has one web hook subscription, added as an operator
would (`cellrouter hooks add`: every event of every project) to a receiver
of the benchmark's (tests.bench.hook_sink: its own process, verifying every
signature with docs/hooks.md's function and noting each receipt's time).
The one with notifications off runs its API process as well, idle on the
bus: so that an API process, with its own periodic work (the dashboard's
look at the tree), is on the machine on both sides, and the difference
between them is only the notification work. Its CPU is measured on both
sides (an `api` group beside the levels).

The API can fall behind the calls (a delivery a subscriber at a time). After
each stretch with notifications on the benchmark waits until the hook has
every event on the bus, measuring the API process meanwhile (its catch-up is
the notifications' cost), so that it never runs beside the off side's calls;
the wait is printed and is not in the calls/s.

  sequential  R rounds (default 8), each of N sequential pause/unpause calls
              (wait=True, default 250) at the top of the tree with
              notifications on and then of the one without: p50, p99, calls/s
              and CPU per call of each level (from /proc), as ratios on/off
  load        T client threads (default 16) for S seconds (default 4) on each
              tree in turn, R/2 rounds: calls/s on/off
  delay       for every pause and unpause of the runs above: from the commit
              at the leaf (the message's timestamp) to its receipt at the
              consumer, p50 and p99; and whether every event arrived
  web hook    the same events from the commit to their receipt at the hook's
              receiver, through the API process (bus, its deliveries table,
              a signed POST): p50, p99 and max, as ratios to the AMQP
              consumer's; whether every event on the bus arrived exactly
              once (by message_id; duplicates counted); and the API
              process's CPU per routed call, on against off

Needs RabbitMQ at amqp://guest:guest@127.0.0.1:5672/ (it says so, and stops,
when none answers). Targets, printed with their figures: routed pause p50
<= 1.25x without notifications; 16 threads >= 0.8x the calls/s without.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

import aiormq
from prometheus_client.parser import text_string_to_metric_families

from cellops.tree import TreeRunner
from tests.bench.bench_load import boot_all, connect_to, drive
from tests.bench.bench_routing import Target, cpu_lines, tree_target
from tests.bench.cpu import Meter
from tests.bench.harness import Result, error_lines, floor_line, header, target_line
from tests.bench.hook_sink import HookSink, Receipt
from tests.bench.rigs import LEVELS
from tests.bench.trees import fanout_text, write_tree
from tests.integration.amqp_consumer import AMQP_URL, Consumer, Received, amqp_answers
from tests.integration.hook_receiver import drop

TARGET_RATIO = 1.25  # p50 with notifications / p50 without
TARGET_LOAD = 0.80  # calls/s with notifications / calls/s without, T threads
FOLLOW_TIMEOUT = 30.0  # seconds for the API to follow the bus; a bound only
DRAIN_QUIET = 20.0  # seconds without a new receipt after which the waits give up


@contextmanager
def tree(exchange: str | None) -> Iterator[tuple[str, dict[str, list[int]], TreeRunner]]:
    """A fake tree with its API process, with notifications to `exchange`
    (None: off); its processes by level and the API's (group "api"); the
    leaves serve their metrics (to count what they wrote and sent)."""
    with TemporaryDirectory(prefix="cellrouter-bench-notify-") as tmp:
        text = fanout_text(2, 2).replace('driver = "fake"',
                                         'driver = "fake"\nmetrics_listen = "127.0.0.1:0"')
        text += '\n[api]\nregion = "RegionOne"\n'
        if exchange is not None:
            text += (f'\n[notifications]\nenabled = true\nurl = "{AMQP_URL}"\n'
                     f'exchange = "{exchange}"\n')
        runner = TreeRunner(write_tree(text, Path(tmp)), Path(tmp) / "state", "WARNING")
        try:
            top = runner.start()
            assert runner.api is not None and runner.api.proc is not None
            groups = {name: [runner.procs[c.name].pid for c in level]
                      for name, level in zip(LEVELS, runner.spec.levels(), strict=True)}
            yield top, groups | {"api": [runner.api.proc.pid]}, runner
        finally:
            runner.stop()


def subscribe(runner: TreeRunner, url: str, secret: str) -> None:
    """One subscription to every event of every project, as an operator adds it."""
    assert runner.api is not None
    subprocess.run([sys.executable, "-m", "cellops.cli", "hooks", "add", url, "--secret-stdin",
                    "--config", str(runner.api.directory / "api.toml")],
                   input=secret + "\n", text=True, check=True, capture_output=True, timeout=60)


def await_following(queue: str) -> float:
    """Wait until the API process consumes its hooks queue (declared and bound
    before it consumes); when it started to (time.time())."""
    async def consumers() -> int:
        conn = await aiormq.connect(AMQP_URL)
        try:
            channel = await conn.channel()
            declared = await channel.queue_declare(queue, passive=True)
            return int(declared.consumer_count or 0)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return 0
        finally:
            await conn.close()

    deadline = time.monotonic() + FOLLOW_TIMEOUT
    while asyncio.run(consumers()) < 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API did not follow the bus within {FOLLOW_TIMEOUT:g} s")
        time.sleep(0.1)
    return time.time()


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
    secret = secrets.token_urlsafe(24)
    sink = HookSink(secret)
    queue = ""
    try:
        with ExitStack() as stack:
            on_top, on_groups, on_runner = stack.enter_context(tree(exchange))
            assert on_runner.api is not None
            queue = on_runner.api.hooks_queue
            subscribe(on_runner, sink.url, secret)
            followed_at = await_following(queue)
            off_top, off_groups, _ = stack.enter_context(tree(None))
            on = tree_target("notifications on", on_top, on_groups, stack)
            off = tree_target("notifications off", off_top, off_groups, stack)
            def settle() -> float:
                return drain(consumer, sink, on_runner, followed_at)

            caught_up = interleave(on, off, rounds, calls, settle)
            sequential = compare(on, off, rounds, calls)
            load, load_meters, load_caught_up = run_load(
                on_top, on_groups, off_top, off_groups, threads, seconds, max(1, rounds // 2),
                settle)
            delay = delay_lines(consumer, on_runner)
            hook = hook_lines(consumer, sink, followed_at, caught_up + load_caught_up)
            cpu = api_cpu_lines((on.meter, off.meter), load_meters)
        return "\n".join([*sequential, *load, *delay, *hook, *cpu])
    finally:
        sink.close()
        consumer.close(delete_exchange=not queue)
        if queue:  # the API's durable queue outlives its process: the run's own, dropped
            drop(exchange, queue)


def interleave(on: Target, off: Target, rounds: int, calls: int,
               settle: Callable[[], float]) -> float:
    """As bench_routing's, but after each stretch with notifications on, until
    its last event reached the hook, the on side's API process goes on being
    measured (no calls: its CPU only), so that its catch-up counts for the
    notifications and never runs beside the off side's calls.
    How long the catch-ups took."""
    for t in (on, off):
        t.run(max(20, calls // 5), timed=False)  # warm-up: connections, caches
    settle()  # the boots' and the warm-up's events
    waited = 0.0
    for _ in range(rounds):
        on.run(calls)
        waited += settled(on.meter, settle)
        off.run(calls)
    return waited


def settled(meter: Meter, settle: Callable[[], float]) -> float:
    """`settle()`, the API process's CPU meanwhile added to `meter`'s (with no
    calls; the cells' idle work meanwhile is not the notifications')."""
    api = Meter({"api": meter.groups["api"]})
    api.begin()
    waited = settle()
    api.end(0)
    meter.spent["api"] += api.spent["api"]
    return waited


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
             rounds: int, settle: Callable[[], float]
             ) -> tuple[list[str], tuple[Meter, Meter], float]:
    runs_on: list[Result] = []
    runs_off: list[Result] = []
    sides = {"on": (on_top, boot_all(on_top, threads, 4), Meter(on_groups), runs_on),
             "off": (off_top, boot_all(off_top, threads, 4), Meter(off_groups), runs_off)}
    settle()  # the boots' events
    waited = 0.0
    for _ in range(rounds):
        for side, (top, uuids, meter, runs) in sides.items():
            meter.begin()
            done = drive(f"notifications {side}, {threads} threads", connect_to(top), uuids,
                         seconds)
            meter.end(len(done.seconds) + len(done.errors))
            runs.append(done)
            if side == "on":
                waited += settled(meter, settle)
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
    return lines, (sides["on"][2], sides["off"][2]), waited


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
    delays = amqp_delays(consumer.all())
    ids = [r.message_id for r in consumer.all()]
    return [header("Event delay: commit at the leaf to receipt at a plain AMQP consumer"),
            f"{figures['cellrouter_notifications_written_total']:.0f} events written by the"
            f" leaves, {figures['cellrouter_notifications_sent_total']:.0f} confirmed,"
            f" {len(set(ids))} received ({len(ids) - len(set(ids))} duplicates),"
            f" {figures['cellrouter_notifications_outbox_rows']:.0f} left in the outboxes,"
            f" {figures['cellrouter_notifications_refused_total']:.0f} refused",
            f"delay p50 {statistics.median(delays):.2f} ms  p99 {percentile(delays, 99):.2f} ms"
            f"  max {max(delays):.2f} ms"]


def is_pause(event_type: str) -> bool:
    return event_type.endswith(("pause.end", "unpause.end"))


def amqp_delays(received: list[Received]) -> list[float]:
    """Commit to receipt at the AMQP consumer, ms, of every pause and unpause event."""
    return [1000.0 * (r.at - parse(r.inner["timestamp"])) for r in received
            if is_pause(r.event_type)]


def hook_lines(consumer: Consumer, sink: HookSink, followed_at: float,
               caught_up: float) -> list[str]:
    """From commit to receipt at the web hook, of every pause and unpause event
    (the first receipt of each), beside the AMQP consumer's; and whether every
    event on the bus since the API followed it reached the hook exactly once."""
    expected = bus_since(consumer, followed_at)
    receipts, bad = sink.receipts()
    first: dict[str, Receipt] = {}
    for r in receipts:
        first.setdefault(r.message_id, r)
    missing = len(expected - first.keys())
    duplicates = len(receipts) - len(first)
    delays = [1000.0 * (r.at - parse(r.timestamp)) for r in first.values()
              if is_pause(r.event_type)]
    base = amqp_delays(consumer.all())
    if not delays:
        return [header("Web hook: no pause or unpause event reached the receiver"),
                f"{len(expected)} events on the bus, {missing} missing, {bad} bad signatures"]
    verdict = "yes" if missing == 0 and duplicates == 0 and bad == 0 else "NO"
    p50, p99, most = statistics.median(delays), percentile(delays, 99), max(delays)
    b50, b99, bmost = statistics.median(base), percentile(base, 99), max(base)
    return [header("Web hook delay: commit at the leaf to receipt at a signed-request receiver,"
                   " through the API process"),
            f"{len(expected)} events on the bus since the API followed it; at the hook"
            f" {len(first)} distinct ({duplicates} duplicates, {missing} missing,"
            f" {len(first.keys() - expected)} not seen on the bus), {bad} bad signatures;"
            f" every event exactly once: {verdict}",
            f"the hook caught up {caught_up:.1f} s after the stretches with notifications on"
            " (not in their calls/s; the API's CPU meanwhile is in its CPU per call)",
            f"web hook       p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {most:.2f} ms"
            f"  ({len(delays)} pause/unpause events)",
            f"AMQP consumer  p50 {b50:.2f} ms  p99 {b99:.2f} ms  max {bmost:.2f} ms",
            f"ratio hook/AMQP p50 {p50 / b50:.2f}x  p99 {p99 / b99:.2f}x  max {most / bmost:.2f}x"]


def bus_since(consumer: Consumer, followed_at: float) -> set[str]:
    """The events on the bus since the API process followed it."""
    return {r.message_id for r in consumer.all() if r.at >= followed_at}


def drain(consumer: Consumer, sink: HookSink, on: TreeRunner, followed_at: float) -> float:
    """Wait until every event the leaves wrote is on the bus and every one
    since the API followed it reached the hook, or nothing new arrived for
    DRAIN_QUIET seconds (a bound, not a pace); how long it waited."""
    started = last_change = time.monotonic()
    seen = (-1, -1)
    while time.monotonic() - last_change < DRAIN_QUIET:
        expected = bus_since(consumer, followed_at)
        at_hook = {r.message_id for r in sink.receipts()[0]}
        # The leaves' metrics only once the hook has what the bus had: scraping costs them CPU.
        if expected <= at_hook and len({r.message_id for r in consumer.all()}) >= leaf_figures(
                on)["cellrouter_notifications_written_total"]:
            break
        if (len(expected), len(at_hook)) != seen:
            seen, last_change = (len(expected), len(at_hook)), time.monotonic()
        time.sleep(0.1)
    return time.monotonic() - started


def api_cpu_lines(sequential: tuple[Meter, Meter], load: tuple[Meter, Meter]) -> list[str]:
    """The API process's CPU per routed call, on against off (its `api` group)."""
    lines = [header("API process CPU per routed call (from /proc), notifications on vs off")]
    for what, (on, off) in (("sequential", sequential), ("load", load)):
        a, b = on.per_call_ms()["api"], off.per_call_ms()["api"]
        lines.append(f"{what:<11} on {a:.3f} ms  off {b:.3f} ms  ratio on/off"
                     f" {a / b if b > 0 else float('nan'):.2f}x  (on - off {a - b:.3f} ms)")
    return lines


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
