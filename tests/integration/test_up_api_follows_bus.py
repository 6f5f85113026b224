"""The API process of a tree that `cellrouter up` starts with notifications
on follows the cells' bus with no config of the test's own: its dashboard
stream says the bus is followed, and a web hook subscription receives
instance.create.end, signed, for a boot through the top."""

from __future__ import annotations

import json
import tomllib
import uuid as uuidlib
from collections.abc import Iterator

import pytest
import requests

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from tests.integration.amqp_consumer import require_amqp
from tests.integration.hook_receiver import Receiver, drop
from tests.integration.openstack_tree import API_TREE, Raw, start_api_tree, wait_for

SECRET = "the-up-receivers-secret-01"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    require_amqp()
    exchange = f"nova-up-{uuidlib.uuid4().hex[:12]}"
    runner = start_api_tree(tmp_path_factory.mktemp("up-api-bus"), API_TREE + f"""
[notifications]
enabled = true
url = "amqp://guest:guest@127.0.0.1:5672/"
exchange = "{exchange}"
""")
    assert runner.api is not None
    queue = tomllib.loads((runner.api.directory / "api.toml").read_text())["hooks"]["queue"]
    yield runner
    runner.stop()
    drop(exchange, queue)


def following(raw: Raw) -> bool:
    """What the dashboard's stream says first: whether the API follows the bus."""
    with requests.get(f"{raw.url}/dashboard/api/events", stream=True, timeout=10,
                      headers={"X-Auth-Token": raw.token}) as answer:
        assert answer.status_code == 200, answer.text
        lines = answer.iter_lines(decode_unicode=True)
        assert next(lines) == "event: status"
        return bool(json.loads(next(lines).removeprefix("data: "))["following"])


def test_a_web_hook_hears_a_boot_through_the_top(tree: TreeRunner) -> None:
    raw = Raw(tree)
    receiver = Receiver(SECRET)
    try:
        made = raw.call("POST", "/hooks/v1/subscriptions", {"subscription": {
            "url": receiver.url, "secret": SECRET, "events": ["instance.create.end"]}})
        assert made.status_code == 201, made.text
        assert wait_for(lambda: following(raw))  # its queue is bound to the cells' exchange
        with CellClient(tree.top_address, timeout=10) as top:
            vm = top.boot(boot_spec("hooked", 1, 512, project="shop"))
        assert wait_for(lambda: any(e["payload"]["nova_object.data"]["uuid"] == vm.uuid
                                    for e in receiver.accepted())), receiver.all()
        (event,) = [e for e in receiver.accepted()
                    if e["payload"]["nova_object.data"]["uuid"] == vm.uuid]
        assert event["event_type"] == "instance.create.end"
        assert event["publisher_id"].startswith("cellrouter-leaf:top!")
        assert receiver.bad_signatures == 0
    finally:
        receiver.close()
