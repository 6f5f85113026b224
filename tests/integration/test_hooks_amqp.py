"""Signed web hooks from real API processes, fed by a real RabbitMQ: a plain
AMQP client publishes the leaves' notifications, receivers on loopback verify
every signature with the function of docs/hooks.md. A receiver failing its
first tries gets each event once, in order; a replay is detected; a dead
delivery is listed and holds nothing back; the bus going away costs the API
nothing and is followed again; two API processes on one PostgreSQL database
deliver each event once per subscriber."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from api.identity.users import UserStore
from tests.integration.amqp_consumer import require_amqp
from tests.integration.api_procs import ApiProc, write_api_config
from tests.integration.hook_receiver import Receiver, drop, notification, publish, verify
from tests.integration.openstack_tree import wait_for
from tests.integration.proxy import CuttableProxy

SECRET = "the-receivers-secret-0123"
LIFECYCLE = ["instance.create.start", "instance.create.end", "instance.pause.start",
             "instance.pause.end", "instance.unpause.end", "instance.delete.end"]


@pytest.fixture
def bus() -> Iterator[tuple[str, str]]:
    """An exchange and a hooks queue of the test's own, deleted afterwards."""
    require_amqp()
    names = (f"nova-hooks-{uuidlib.uuid4().hex[:10]}", f"hooks-{uuidlib.uuid4().hex[:10]}")
    yield names
    drop(*names)


def api_config(directory: Path, exchange: str, queue: str, port: int = 5672,
               database_url: str = "", max_attempts: int = 10) -> Path:
    path = write_api_config(directory, f"""
[notifications]
enabled = true
url = "amqp://guest:guest@127.0.0.1:{port}/"
exchange = "{exchange}"

[hooks]
queue = "{queue}"
first_retry = 0.1
most_retry = 0.5
max_attempts = {max_attempts}
""")
    if database_url:
        path.write_text(path.read_text().replace(
            f'database_url = "sqlite:///{directory / "api.db"}"',
            f'database_url = "{database_url}"'))
    UserStore(directory / "users.json").add("admin", "ops", "admin", "admin-password")
    return path


class Api:
    """An API process and its admin's token."""

    def __init__(self, config: Path) -> None:
        self.proc = ApiProc(config)
        self.url = self.proc.url
        self.token = self.proc.token("admin", "admin-password", "ops")

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", json=body, timeout=30,
                                headers={"X-Auth-Token": self.token})

    def subscribe(self, receiver: Receiver, **fields: Any) -> str:
        answer = self.call("POST", "/hooks/v1/subscriptions", {"subscription": {
            "url": receiver.url, "secret": receiver.secret, **fields}})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["subscription"]["id"])

    def following(self) -> bool:
        """What the dashboard's stream says first: whether the bus is followed."""
        with requests.get(f"{self.url}/dashboard/api/events", stream=True, timeout=10,
                          headers={"X-Auth-Token": self.token}) as answer:
            assert answer.status_code == 200, answer.text
            lines = answer.iter_lines(decode_unicode=True)
            assert next(lines) == "event: status"
            return bool(json.loads(next(lines).removeprefix("data: "))["following"])

    def deliveries(self, subscription: str) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/hooks/v1/subscriptions/{subscription}/deliveries")
        assert answer.status_code == 200, answer.text
        return list(reversed(answer.json()["deliveries"]))  # oldest first

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def receiver(made: list[Receiver], fail_first: int = 0) -> Receiver:
    made.append(Receiver(SECRET, fail_first))
    return made[-1]


def lifecycle(uuid: str) -> list[dict[str, Any]]:
    return [notification(event_type, uuid) for event_type in LIFECYCLE]


def test_every_request_is_signed_and_a_failing_receiver_gets_each_event_once_in_order(
        tmp_path: Path, bus: tuple[str, str], receivers: list[Receiver]) -> None:
    api = Api(api_config(tmp_path, *bus))
    try:
        steady, flaky = receiver(receivers), receiver(receivers, fail_first=3)
        api.subscribe(steady)
        flaky_id = api.subscribe(flaky, events=["instance.*"])
        assert wait_for(api.following)
        sent = lifecycle(str(uuidlib.uuid4()))
        publish(bus[0], sent)
        publish(bus[0], sent[:2])  # a leaf sending again after a crash: same message ids
        expected = [m["message_id"] for m in sent]
        for r in (steady, flaky):
            assert wait_for(lambda r=r: len(r.accepted()) >= len(sent)), r.all()
        wait_for(lambda: False, timeout=1.0)  # a moment for anything extra
        for r in (steady, flaky):
            assert [e["message_id"] for e in r.accepted()] == expected
            assert [e["event_type"] for e in r.accepted()] == LIFECYCLE
            assert r.bad_signatures == 0
        assert [r.status for r in flaky.all()] == [500] * 3 + [204] * len(sent)
        assert steady.accepted()[0]["payload"] == sent[0]["payload"]
        shown = api.deliveries(flaky_id)
        assert [(d["state"], d["attempts"]) for d in shown] == [("delivered", 4)] + [
            ("delivered", 1)] * (len(sent) - 1)
    finally:
        api.stop()


def test_a_replayed_request_is_detected_by_the_receivers_check(
        tmp_path: Path, bus: tuple[str, str], receivers: list[Receiver]) -> None:
    api = Api(api_config(tmp_path, *bus))
    try:
        r = receiver(receivers)
        api.subscribe(r)
        assert wait_for(api.following)
        publish(bus[0], [notification("instance.pause.end", str(uuidlib.uuid4()))])
        assert wait_for(lambda: len(r.accepted()) == 1)
        (taken,) = r.all()
        stamp = verify(SECRET, taken.header, taken.body)  # taken now
        with pytest.raises(ValueError, match="replay"):  # the same request, 6 minutes on
            verify(SECRET, taken.header, taken.body, now=stamp + 360)
        with pytest.raises(ValueError, match="does not match"):
            verify(SECRET, taken.header, taken.body.replace(b"pause", b"resume"))
        with pytest.raises(ValueError):
            verify("not-the-secret-at-all", taken.header, taken.body)
        # Sent again within the window it verifies: its message_id is what tells it.
        assert taken.event["message_id"] in {e["message_id"] for e in r.accepted()}
    finally:
        api.stop()


def test_a_dead_delivery_is_listed_and_holds_back_nothing(
        tmp_path: Path, bus: tuple[str, str], receivers: list[Receiver]) -> None:
    api = Api(api_config(tmp_path, *bus, max_attempts=2))
    try:
        r = receiver(receivers, fail_first=2)
        ident = api.subscribe(r)
        assert wait_for(api.following)
        sent = lifecycle(str(uuidlib.uuid4()))[:3]
        publish(bus[0], sent)
        assert wait_for(lambda: len(r.accepted()) == 2)
        assert [e["message_id"] for e in r.accepted()] == [m["message_id"] for m in sent[1:]]
        shown = api.deliveries(ident)
        assert [d["state"] for d in shown] == ["dead", "delivered", "delivered"]
        assert shown[0]["attempts"] == 2 and "500" in shown[0]["last_error"]
        dead = api.call("GET", "/hooks/v1/deliveries?state=dead").json()["deliveries"]
        assert [d["message_id"] for d in dead] == [sent[0]["message_id"]]
    finally:
        api.stop()


def test_with_the_bus_away_the_api_serves_and_follows_it_again_once_back(
        tmp_path: Path, bus: tuple[str, str], receivers: list[Receiver]) -> None:
    proxy = CuttableProxy("127.0.0.1:5672")
    proxy.cut()  # RabbitMQ is away when the API starts
    api = Api(api_config(tmp_path, *bus, port=proxy.port))
    try:
        r = receiver(receivers)
        api.subscribe(r)  # the API serves: logins, subscriptions
        assert not api.following()
        proxy.restore()
        assert wait_for(api.following)
        first = notification("instance.pause.end", str(uuidlib.uuid4()))
        publish(bus[0], [first])
        assert wait_for(lambda: len(r.accepted()) == 1)
        proxy.cut()  # gone while followed
        assert wait_for(lambda: not api.following())
        assert api.call("GET", "/hooks/v1/subscriptions").status_code == 200
        second = notification("instance.unpause.end", str(uuidlib.uuid4()))
        publish(bus[0], [second])  # kept by the durable queue meanwhile
        proxy.restore()
        assert wait_for(lambda: len(r.accepted()) == 2)
        assert [e["message_id"] for e in r.accepted()] == [first["message_id"],
                                                           second["message_id"]]
        log = next(tmp_path.glob("api-*.log")).read_text()
        assert "is not followed" in log and "trying again" in log
    finally:
        api.stop()
        proxy.close()


@pytest.mark.postgres
def test_two_api_processes_on_one_postgresql_deliver_each_event_once_per_subscriber(
        tmp_path: Path, bus: tuple[str, str], receivers: list[Receiver], pg_url: str) -> None:
    config = api_config(tmp_path, *bus, database_url=pg_url)
    apis = [Api(config), Api(config)]
    try:
        first, second = receiver(receivers), receiver(receivers, fail_first=2)
        apis[0].subscribe(first)
        apis[1].subscribe(second)
        assert all(wait_for(api.following) for api in apis)
        sent = [notification("instance.pause.end", str(uuidlib.uuid4())) for _ in range(40)]
        publish(bus[0], sent)
        publish(bus[0], sent[:10])  # redelivered by a leaf: no second delivery
        for r in (first, second):
            assert wait_for(lambda r=r: len(r.accepted()) >= len(sent)), len(r.accepted())
        wait_for(lambda: False, timeout=1.5)
        for r in (first, second):
            got = [e["message_id"] for e in r.accepted()]
            assert sorted(got) == sorted(m["message_id"] for m in sent)  # each once
            assert r.bad_signatures == 0
    finally:
        for api in apis:
            api.stop()
