"""The event contract: every event type a leaf sends, in oslo.messaging's
envelope, validates against notify/schemas/notification.json, with Nova's
field names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from model.agents import ObjectState, PlaceSpec, ServiceObject
from model.compute import Action, Instance, InstanceState, Resources
from notify import events
from notify.envelope import (
    ROUTER_PUBLISHER,
    SCHEMA_FILE,
    encode,
    message,
    parse_timestamp,
    unwrap,
    wrap,
)

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
VM = Instance("6b5cbd3a-35a5-4b1e-9c4e-2b8f3b4b8f10", "web-1", InstanceState.PAUSED,
              Resources(2, 4096, 20), image="debian-12", host="h1", cell_path="top!eu!eu-a",
              project="shop", request_id="req-1",
              created_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC))

VIP = ServiceObject("0d6f3c4e-8f1a-4c2b-9e5d-7a1b2c3d4e5f",
                    PlaceSpec("req-2", "vip-1", "loadbalancer", ("haproxy",), project="shop"),
                    "lb-2", state=ObjectState.ACTIVE)


def sent(event: events.Event) -> dict[str, object]:
    """The inner message as a consumer reads it off the bus."""
    return unwrap(wrap(encode(message(event, "top!eu!eu-a"))))


@pytest.mark.parametrize("event", [
    events.instance_event(events.CREATE_START, VM, request_id="req-1"),
    events.instance_event(events.CREATE_END, VM),
    events.instance_event(events.CREATE_ERROR, VM, fault="no host fits"),
    *(events.instance_event(events.action_event(a, p), VM) for a in Action
      for p in ("start", "end")),
    events.instance_event(events.UPDATE, VM, old_state="ACTIVE"),
    events.host_event(events.HOST_DOWN, "h1", "top!eu!eu-a"),
    events.host_event(events.HOST_UP, "h1", "top!eu!eu-a"),
    events.cell_event(events.CELL_DOWN, "top!eu!eu-a", "top!eu"),
    events.cell_event(events.CELL_UP, "top!eu!eu-a", "top!eu"),
    events.object_event(events.OBJECT_BOUND, VIP, "top!eu!eu-a"),
    events.object_event(events.OBJECT_MOVED, VIP, "top!eu!eu-a", previous_agent="lb-1"),
    events.object_event(events.OBJECT_DELETE, VIP, "top!eu!eu-a"),
], ids=lambda e: e.event_type)
def test_every_event_validates_against_the_schema(event: events.Event) -> None:
    VALIDATOR.validate(sent(event))


def test_the_envelope_is_oslo_messaging_2() -> None:
    body = json.loads(wrap(encode(message(events.instance_event(events.CREATE_END, VM), "p"))))
    assert set(body) == {"oslo.version", "oslo.message"} and body["oslo.version"] == "2.0"
    inner = json.loads(body["oslo.message"])
    assert inner["priority"] == "INFO" and inner["publisher_id"] == "cellrouter-leaf:p"
    assert inner["event_type"] == "instance.create.end"
    payload = inner["payload"]
    assert payload["nova_object.name"] == "InstanceActionPayload"
    data = payload["nova_object.data"]
    assert (data["uuid"], data["state"], data["power_state"], data["tenant_id"],
            data["host"], data["request_id"], data["cell_path"], data["image_uuid"]) == (
        VM.uuid, "paused", "paused", "shop", "h1", "req-1", "top!eu!eu-a", "debian-12")
    assert data["flavor"]["nova_object.data"]["memory_mb"] == 4096
    assert data["created_at"] == "2026-12-04T10:00:00Z"


def test_nova_names_the_actions() -> None:
    assert events.action_event(Action.STOP, "end") == "instance.power_off.end"
    assert events.action_event(Action.START, "start") == "instance.power_on.start"
    assert events.action_event(Action.REBOOT_HARD, "end") == "instance.reboot.end"


def test_an_update_says_the_state_it_left() -> None:
    data = sent(events.instance_event(events.UPDATE, VM, old_state="ACTIVE"))["payload"]
    update = data["nova_object.data"]["state_update"]["nova_object.data"]  # type: ignore[index]
    assert update == {"old_state": "active", "state": "paused"}


def test_a_message_that_is_not_an_envelope_is_refused() -> None:
    with pytest.raises(ValueError):
        unwrap(b'{"event_type": "instance.create.end"}')


def test_the_timestamp_is_oslos_and_utc() -> None:
    inner = message(events.Event("host.up", {}, at=1_780_000_000.25), "p")
    assert inner["timestamp"] == "2026-05-28 20:26:40.250000"
    assert parse_timestamp(inner["timestamp"]) == 1_780_000_000.25


def test_a_schema_violation_is_caught() -> None:
    inner = sent(events.instance_event(events.CREATE_END, VM))
    inner["priority"] = "DEBUG"
    assert not VALIDATOR.is_valid(inner)


def test_a_router_publishes_as_a_router() -> None:
    inner = message(events.cell_event(events.CELL_DOWN, "top!eu!eu-a", "top!eu"), "top!eu",
                    role=ROUTER_PUBLISHER)
    assert inner["publisher_id"] == "cellrouter-router:top!eu"
    VALIDATOR.validate(inner)
    assert inner["payload"]["nova_object.data"] == {
        "cell_path": "top!eu!eu-a", "up": False, "router_path": "top!eu"}
