"""Nova's versioned notifications from a real tree to a real RabbitMQ, read by
a plain AMQP consumer (tests.integration.amqp_consumer): a lifecycle through
the top arrives as exactly its events, in order, valid against the schema;
a leaf killed between the commit and the send sends the event after its
restart, once; a bus cut off under load costs no call and loses no event."""

from __future__ import annotations

import itertools
import sqlite3
import time
import urllib.request
import uuid as uuidlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.errors import FailedPrecondition, ResourceExhausted
from tests.integration.amqp_consumer import (
    AMQP_ADDRESS,
    VALIDATOR,
    Consumer,
    Received,
    require_amqp,
)
from tests.integration.conftest import HEAD, eventually, start_tree
from tests.integration.proxy import CuttableProxy

OUTAGE = 30.0  # seconds the bus is cut off while calls go on, at least
LOADED = 80  # instance lifecycles made while it is, at least
LIFECYCLE = ["instance.create.start", "instance.create.end", "instance.pause.start",
             "instance.pause.end", "instance.unpause.start", "instance.unpause.end",
             "instance.delete.start", "instance.delete.end"]


def tree_text(exchange: str, url: str = "amqp://guest:guest@127.0.0.1:5672/",
              metrics: bool = False) -> str:
    return HEAD + f"""
[notifications]
enabled = true
url = "{url}"
exchange = "{exchange}"

[cells.z1]
parent = "r1"
driver = "fake"
{'metrics_listen = "127.0.0.1:0"' if metrics else ""}
hosts = [{{ name = "h1", vcpus = 2048, memory_mb = 100000000, disk_gb = 1000000 }}]
"""


@pytest.fixture
def exchange() -> str:
    """An exchange of the test's own, so that no other tree's events reach it."""
    require_amqp()
    return f"nova-test-{uuidlib.uuid4().hex[:12]}"


def settled(consumer: Consumer, uuid: str, count: int) -> list[Received]:
    """The events of `uuid` once `count` have come, and a moment more for any extra."""
    assert eventually(lambda: len(consumer.of(uuid)) >= count, timeout=60)
    eventually(lambda: False, timeout=0.5)
    return consumer.of(uuid)


def outbox_rows(runner: TreeRunner, cell: str) -> int:
    with sqlite3.connect(runner.state_dir / cell / "cell.db") as db:
        return int(db.execute("SELECT count(*) FROM notify_outbox").fetchone()[0])


def test_a_lifecycle_through_the_top_arrives_in_order_and_valid(tmp_path: Path) -> None:
    require_amqp()
    consumer = Consumer("nova")  # the default exchange, as Nova's consumers bind
    runner = start_tree(tmp_path, tree_text("nova"))
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            vm = top.boot(boot_spec("told", 2, 2048, project="shop"))
            top.pause(vm.uuid, wait=True)
            with pytest.raises(FailedPrecondition):  # refused: nothing is applied or told
                top.pause(vm.uuid, wait=True)
            top.unpause(vm.uuid, wait=True)
            top.delete(vm.uuid, wait=True)
            with pytest.raises(ResourceExhausted):  # refused: no instance, no event
                top.boot(boot_spec("too-big", 4096, 2048, project="shop"))
        got = settled(consumer, vm.uuid, len(LIFECYCLE))
        assert [r.event_type for r in got] == LIFECYCLE
        for received in got:
            VALIDATOR.validate(received.inner)
            assert received.message_id == received.inner["message_id"]
            assert received.inner["publisher_id"] == "cellrouter-leaf:top!r1!z1"
            data = received.data
            assert (data["tenant_id"], data["cell_path"], data["host"]) == (
                "shop", "top!r1!z1", "h1")
        assert [r.data["state"] for r in got] == [
            "building", "active", "paused", "paused", "active", "active", "deleted", "deleted"]
        assert len({r.message_id for r in got}) == len(got)
        assert not [r for r in consumer.all() if r.data.get("display_name") == "too-big"]
    finally:
        runner.stop()
        consumer.close()


def test_a_leaf_killed_between_commit_and_send_sends_after_restart_once(
        tmp_path: Path, exchange: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hold = tmp_path / "hold"  # while it exists, every leaf's sender stops before publishing
    hold.touch()
    monkeypatch.setenv("CELLROUTER_NOTIFY_HOLD", str(hold))
    consumer = Consumer(exchange)
    runner = start_tree(tmp_path, tree_text(exchange))
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            vm = top.boot(boot_spec("held", 1, 512))
            top.pause(vm.uuid, wait=True)
        assert outbox_rows(runner, "z1") == 4  # committed with the changes, not sent
        assert consumer.of(vm.uuid) == []
        runner.kill_cell("z1")  # SIGKILL
        hold.unlink()
        runner.start_cell("z1")
        got = settled(consumer, vm.uuid, 4)
        assert [r.event_type for r in got] == LIFECYCLE[:4]
        assert eventually(lambda: outbox_rows(runner, "z1") == 0)
    finally:
        runner.stop()
        consumer.close(delete_exchange=True)


def scrape(runner: TreeRunner, cell: str) -> dict[str, float]:
    address = (runner.state_dir / cell / "metrics-address").read_text().strip()
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_bus_cut_off_under_load_costs_no_call_and_loses_nothing(
        tmp_path: Path, exchange: str) -> None:
    proxy = CuttableProxy(AMQP_ADDRESS)
    consumer = Consumer(exchange)
    runner = start_tree(tmp_path, tree_text(
        exchange, f"amqp://guest:guest@127.0.0.1:{proxy.port}/", metrics=True))
    try:
        assert eventually(lambda: scrape(runner, "z1")["cellrouter_notifications_bus_up"] == 1)
        proxy.cut()

        cut_at = time.monotonic()

        finished = itertools.count(1)  # lifecycles done, by every worker
        total = 0

        def lifecycles(worker: int) -> list[str]:
            """Boots, pauses and unpauses until the outage has lasted OUTAGE and
            at least LOADED lifecycles are done (a slow machine takes longer)."""
            nonlocal total
            done: list[str] = []
            with CellClient(runner.top_address, timeout=30) as top:
                while time.monotonic() - cut_at < OUTAGE or total < LOADED:
                    vm = top.boot(boot_spec(f"load-{worker}-{len(done)}", 1, 512))
                    top.pause(vm.uuid, wait=True)
                    top.unpause(vm.uuid, wait=True)
                    done.append(vm.uuid)
                    total = next(finished)
                    time.sleep(0.2)
            return done

        with ThreadPoolExecutor(8) as pool:  # any failed call raises here
            uuids = [u for done in pool.map(lifecycles, range(8)) for u in done]
        instances = len(uuids)
        assert instances >= LOADED
        waiting = scrape(runner, "z1")
        assert waiting["cellrouter_notifications_bus_up"] == 0
        assert waiting["cellrouter_notifications_outbox_rows"] == 6 * instances
        assert waiting["cellrouter_notifications_outbox_bound"] == 100_000
        assert consumer.all() == []
        proxy.restore()
        assert eventually(lambda: len({r.message_id for r in consumer.all()})
                          >= 6 * instances, timeout=120)
        for uuid in uuids:
            got = consumer.of(uuid)
            firsts = list(dict.fromkeys(r.message_id for r in got))  # deduped, in order
            types = [next(r.event_type for r in got if r.message_id == m) for m in firsts]
            assert types == LIFECYCLE[:6]
        assert Counter(r.event_type for r in consumer.all())["instance.create.end"] == instances
        assert eventually(lambda: outbox_rows(runner, "z1") == 0)
        after = scrape(runner, "z1")
        assert after["cellrouter_notifications_refused_total"] == 0
        assert after["cellrouter_notifications_sent_total"] >= 6 * instances
    finally:
        runner.stop()
        consumer.close(delete_exchange=True)
        proxy.close()
