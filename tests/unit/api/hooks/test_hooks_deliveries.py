"""The deliveries outbox: a row per event per matching subscriber, none twice;
each subscriber's oldest pending row first, the next one only after it was
delivered or died; failed tries waited on exponentially; leases that keep two
deliverers off one row. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from api.db.schema import API, open_api_database
from api.hooks.deliveries import DEAD, DELIVERED, PENDING, DeliveryStore, HookEvent
from api.hooks.dispatcher import hook_event
from api.hooks.settings import HookSettings
from api.hooks.subscriptions import SubscriptionStore
from celldb.schema import upgrade_to
from notify.envelope import wrap

SETTINGS = HookSettings(max_attempts=3, first_retry=10.0, most_retry=25.0)
T0 = 1_790_000_000.0
LEASE = 60.0
HOOKS_STEP = 6  # api.db.schema._v6


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest,
           tmp_path: Path) -> Iterator[tuple[SubscriptionStore, DeliveryStore]]:
    url = (f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))
    engine = open_api_database(url)
    yield SubscriptionStore(engine), DeliveryStore(engine, SETTINGS)
    engine.dispose()


def event(n: int, event_type: str = "instance.pause.end", project: str = "shop") -> HookEvent:
    return HookEvent(f"m-{n}", event_type, project, json.dumps({"n": n}).encode())


def subscribe(subs: SubscriptionStore, project: str = "", *events: str) -> str:
    return subs.add("https://h.example.com/", "x" * 16, events or ("*",), project, "u").id


def test_a_redelivered_event_makes_no_second_row(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    first, second = subscribe(subs), subscribe(subs)
    assert deliveries.record(event(1), now=T0) == 2
    assert deliveries.record(event(1), now=T0 + 1) == 0
    rows = deliveries.page()
    assert sorted(d.subscription_id for d in rows) == sorted([first, second])
    assert {d.state for d in rows} == {PENDING}


def test_only_matching_subscriptions_get_a_row(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    shop = subscribe(subs, "shop")
    lab = subscribe(subs, "lab")
    ends = subscribe(subs, "", "instance.*.end")
    deliveries.record(event(1, "instance.pause.end", "shop"), now=T0)
    deliveries.record(event(2, "instance.pause.start", "lab"), now=T0)
    deliveries.record(event(3, "host.down", ""), now=T0)
    got = {(d.subscription_id, d.message_id) for d in deliveries.page()}
    assert got == {(shop, "m-1"), (ends, "m-1"), (lab, "m-2")}


def test_a_subscriber_gets_the_next_only_after_the_last_was_delivered(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    a, b = subscribe(subs), subscribe(subs)
    for n in range(3):
        deliveries.record(event(n), now=T0)
    heads = deliveries.claim(10, LEASE, now=T0)
    assert sorted((c.subscription_id, json.loads(c.body)["n"]) for c in heads) == sorted(
        [(a, 0), (b, 0)])
    assert deliveries.claim(10, LEASE, now=T0 + 1) == []  # leased, and each one's head
    for claimed in heads:
        assert deliveries.delivered(claimed, now=T0 + 2)
    nexts = deliveries.claim(10, LEASE, now=T0 + 2)
    assert sorted(json.loads(c.body)["n"] for c in nexts) == [1, 1]


def test_a_failed_try_waits_exponentially_then_dies_and_unblocks_the_next(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    subscribe(subs)
    deliveries.record(event(1), now=T0)
    deliveries.record(event(2), now=T0)
    now = T0
    for waited in (10.0, 20.0):
        (claimed,) = deliveries.claim(10, LEASE, now=now)
        assert json.loads(claimed.body)["n"] == 1
        assert deliveries.failed(claimed, "HTTP 500", now=now) == PENDING
        assert deliveries.claim(10, LEASE, now=now + waited - 0.5) == []  # not yet, nor m-2
        now += waited
    (claimed,) = deliveries.claim(10, LEASE, now=now)
    assert deliveries.failed(claimed, "HTTP 500 " + "x" * 900, now=now) == DEAD
    (after,) = deliveries.claim(10, LEASE, now=now)
    assert json.loads(after.body)["n"] == 2
    dead = deliveries.page(state=DEAD)
    assert [(d.message_id, d.attempts) for d in dead] == [("m-1", 3)]
    assert dead[0].last_error.startswith("HTTP 500") and len(dead[0].last_error) == 500


def test_a_lost_lease_is_claimed_again_and_its_old_holder_cannot_finish_it(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    subscribe(subs)
    deliveries.record(event(1), now=T0)
    (first,) = deliveries.claim(10, LEASE, now=T0)
    (second,) = deliveries.claim(10, LEASE, now=T0 + LEASE + 1)  # the first holder died
    assert not deliveries.delivered(first, now=T0 + LEASE + 2)
    assert deliveries.failed(first, "late", now=T0 + LEASE + 2) == ""
    assert deliveries.delivered(second, now=T0 + LEASE + 2)
    assert [d.state for d in deliveries.page()] == [DELIVERED]


def test_finished_rows_are_pruned_after_they_were_kept_long_enough(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    subscribe(subs)
    deliveries.record(event(1), now=T0)
    deliveries.record(event(2), now=T0)
    (claimed,) = deliveries.claim(10, LEASE, now=T0)
    deliveries.delivered(claimed, now=T0)
    assert deliveries.prune(now=T0 + SETTINGS.keep_finished - 1) == 0
    assert deliveries.prune(now=T0 + SETTINGS.keep_finished + 1) == 1
    assert [d.message_id for d in deliveries.page()] == ["m-2"]  # pending rows stay


def test_removing_a_subscription_removes_its_deliveries(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    gone, kept = subscribe(subs), subscribe(subs)
    deliveries.record(event(1), now=T0)
    assert subs.remove(gone) and not subs.remove(gone)
    assert [d.subscription_id for d in deliveries.page()] == [kept]
    assert [s.id for s in subs.all()] == [kept]


def test_an_oslo_envelope_becomes_the_event_every_subscriber_is_sent() -> None:
    inner = {"message_id": "m-9", "publisher_id": "cellrouter-leaf:top!z1",
             "event_type": "instance.create.end", "priority": "INFO",
             "timestamp": "2026-12-04 10:00:00.000000",
             "payload": {"nova_object.name": "InstanceActionPayload",
                         "nova_object.data": {"uuid": "u-1", "tenant_id": "shop"}}}
    made = hook_event(wrap(json.dumps(inner)))
    assert (made.message_id, made.event_type, made.project) == ("m-9", "instance.create.end",
                                                                "shop")
    sent = json.loads(made.body)
    assert sent == {k: inner[k] for k in ("message_id", "publisher_id", "event_type",
                                          "timestamp", "payload")}
    for bad in (b"{}", b"not json", wrap(json.dumps({"event_type": "x"}))):
        with pytest.raises((ValueError, KeyError, TypeError)):
            hook_event(bad)


def test_the_hooks_step_upgrades_a_database_of_the_release_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = create_engine(url)
    upgrade_to(engine, HOOKS_STEP - 1, API)
    assert "hook_deliveries" not in inspect(engine).get_table_names()
    engine.dispose()
    engine = open_api_database(url)
    assert {"hook_subscriptions", "hook_deliveries"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_run_is_a_subscribers_next_rows_in_order_and_what_is_not_tried_goes_back(
        stores: tuple[SubscriptionStore, DeliveryStore]) -> None:
    subs, deliveries = stores
    a, b = subscribe(subs), subscribe(subs)
    deliveries.record_all([event(n) for n in range(5)], now=T0)
    claimed = deliveries.claim(10, LEASE, now=T0, run=3)
    runs = {sid: [json.loads(c.body)["n"] for c in claimed if c.subscription_id == sid]
            for sid in (a, b)}
    assert runs == {a: [0, 1, 2], b: [0, 1, 2]}
    assert deliveries.claim(10, LEASE, now=T0 + 1, run=3) == []  # heads leased
    of_a = [c for c in claimed if c.subscription_id == a]
    assert deliveries.delivered_all(of_a[:1], now=T0 + 1) == 1
    assert deliveries.failed(of_a[1], "HTTP 503", now=T0 + 1) == PENDING
    deliveries.release(of_a[2:])
    # a's head is now the failed row, waiting for its retry: nothing of a is due.
    assert deliveries.claim(10, LEASE, now=T0 + 2, run=3) == []
    of_b = [c for c in claimed if c.subscription_id == b]
    assert deliveries.delivered_all(of_b, now=T0 + 2) == 3
    (b_next, b_last) = deliveries.claim(10, LEASE, now=T0 + 3, run=3)
    assert [json.loads(c.body)["n"] for c in (b_next, b_last)] == [3, 4]
    retried = deliveries.claim(10, LEASE, now=T0 + 1 + SETTINGS.first_retry, run=9)
    assert [json.loads(c.body)["n"] for c in retried] == [1, 2, 3, 4]
    assert {c.subscription_id for c in retried} == {a}
    assert deliveries.delivered_all(of_a[:1], now=T0 + 20) == 0  # delivered already
    assert deliveries.delivered_all(retried, now=T0 + 20) == 4
    assert sorted(d.state for d in deliveries.page()) == [DELIVERED] * 8 + [PENDING] * 2
