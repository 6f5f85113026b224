"""The message on the wire: oslo.messaging's envelope around a notification,
exactly as Nova's versioned notifications travel (spec: notify's docstring).

    {"oslo.version": "2.0", "oslo.message": "<JSON of the inner message>"}

The inner message is made once, when its event is written to the outbox
(`message`), and kept there as text; the sender only wraps it (`wrap`).
"""

from __future__ import annotations

import json
import uuid as uuidlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notify.events import Event

OSLO_VERSION = "2.0"
PRIORITY = "INFO"
PUBLISHER = "cellrouter-leaf"  # publisher_id is PUBLISHER:<cell path>, as nova-compute:HOST
ROUTER_PUBLISHER = "cellrouter-router"  # a router's events (cell.down, cell.up)
_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"  # oslo's, in UTC


def message(event: Event, publisher: str, message_id: str | None = None,
            role: str = PUBLISHER) -> dict[str, Any]:
    """The inner message of `event`, as sent by `publisher` (a cell path) in
    `role` (PUBLISHER, a leaf, or ROUTER_PUBLISHER)."""
    return {
        "message_id": message_id or str(uuidlib.uuid4()),
        "publisher_id": f"{role}:{publisher}",
        "event_type": event.event_type,
        "priority": PRIORITY,
        "payload": dict(event.payload),
        "timestamp": timestamp(event.at),
    }


def timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime(_TIMESTAMP)


def parse_timestamp(text: str) -> float:
    """The seconds since the epoch of an oslo timestamp."""
    return datetime.strptime(text, _TIMESTAMP).replace(tzinfo=UTC).timestamp()


def encode(inner: dict[str, Any]) -> str:
    return json.dumps(inner, separators=(",", ":"), sort_keys=True)


def wrap(inner_json: str) -> bytes:
    """The AMQP body of the inner message (JSON text, as the outbox keeps it)."""
    return json.dumps({"oslo.version": OSLO_VERSION, "oslo.message": inner_json}).encode()


def unwrap(body: bytes) -> dict[str, Any]:
    """The inner message of an AMQP body; ValueError for anything else."""
    outer = json.loads(body)
    if not isinstance(outer, dict) or outer.get("oslo.version") != OSLO_VERSION:
        raise ValueError("not an oslo.messaging 2.0 envelope")
    inner = json.loads(outer["oslo.message"])
    if not isinstance(inner, dict):
        raise ValueError("the oslo.message is not an object")
    return inner


# The JSON schema of the inner message (consumers validate against it).
SCHEMA_FILE = Path(__file__).parent / "schemas" / "notification.json"
