"""What the hooks API answers: subscriptions without their secrets, and
deliveries with their state. Pure functions, tested alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.hooks.deliveries import Delivery
from api.hooks.subscriptions import Subscription


def subscription(s: Subscription) -> dict[str, Any]:
    """A subscription as shown to anyone: never its secret."""
    return {"id": s.id, "project": s.project, "url": s.url, "events": list(s.events),
            "created_by": s.created_by, "created_at": iso(s.created_at)}


def delivery(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "subscription_id": d.subscription_id, "message_id": d.message_id,
            "event_type": d.event_type, "state": d.state, "attempts": d.attempts,
            "next_attempt_at": iso(d.next_at) if d.state == "pending" else None,
            "last_error": d.last_error or None, "created_at": iso(d.created_at),
            "updated_at": iso(d.updated_at)}


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
