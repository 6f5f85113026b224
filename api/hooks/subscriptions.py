"""Web hook subscriptions: what they may be, and where they are kept.

A subscription is a URL, a secret, glob patterns over event types
(`instance.*.end`; default `*`) and a project scope: one project's events
(its `tenant_id`), or "" for every project's and the tree's own (host.down,
...), which only admins may ask for. The URL is https://, or http:// to a
loopback address (a receiver on the same host), unless the operator allows
any http:// ([hooks] allow_http). The secret is kept to sign with and never
shown again.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select

from api.config import is_loopback
from api.db import tables
from api.hooks.errors import BadSubscription
from celldb.store import transaction

t = tables.hook_subscriptions
MIN_SECRET, MAX_SECRET = 16, 255
MAX_PATTERNS, MAX_URL = 32, 2048
_PATTERN = re.compile(r"[A-Za-z0-9_.*?-]{1,255}")
_PROJECT = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_STORE = "web hook subscriptions"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    project: str  # "" for every project's events
    url: str
    secret: str
    events: tuple[str, ...]
    created_by: str
    created_at: float

    def matches(self, event_type: str, project: str) -> bool:
        """Whether an event of `event_type` about `project` ("" for the tree's
        own) is this subscription's."""
        if self.project and self.project != project:
            return False
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.events)


def checked(url: Any, secret: Any, events: Any, project: Any,
            allow_http: bool) -> tuple[str, str, tuple[str, ...], str]:
    """The fields of a new subscription, as given (in a request's JSON, say);
    BadSubscription saying which is wrong."""
    return (_url(url, allow_http), _secret(secret), _patterns(events), _project(project))


def _url(url: Any, allow_http: bool) -> str:
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        raise BadSubscription(f"url must be a URL of at most {MAX_URL} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BadSubscription("url must be an https:// URL with a host.")
    if parts.username or parts.password:
        raise BadSubscription("url must not carry a user or password: the secret signs.")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise BadSubscription("url must be https:// (http:// only to a loopback address,"
                              " unless the operator sets [hooks] allow_http).")
    return url


def _secret(secret: Any) -> str:
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET or (
            not secret.isprintable()):
        raise BadSubscription(f"secret must be printable text of {MIN_SECRET} to"
                              f" {MAX_SECRET} characters.")
    return secret


def _patterns(events: Any) -> tuple[str, ...]:
    if events is None:
        return ("*",)
    if isinstance(events, str) or not isinstance(events, Sequence) or not events or len(
            events) > MAX_PATTERNS or not all(isinstance(p, str) and _PATTERN.fullmatch(p)
                                              for p in events):
        raise BadSubscription(f"events must be a list of 1 to {MAX_PATTERNS} event type"
                              " patterns (letters, digits, _.- and the globs * and ?).")
    return tuple(dict.fromkeys(events))


def _project(project: Any) -> str:
    if not isinstance(project, str) or (project and not _PROJECT.fullmatch(project)):
        raise BadSubscription("project must be a project id (letters, digits and _.@-,"
                              " at most 64), or empty for every project.")
    return project


class SubscriptionStore:
    """The hook_subscriptions table. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, url: str, secret: str, events: Sequence[str], project: str,
            created_by: str) -> Subscription:
        """Store a subscription whose fields `checked` passed."""
        made = Subscription(str(uuidlib.uuid4()), project, url, secret, tuple(events),
                            created_by, time.time())
        with transaction(self.engine, _STORE) as conn:
            conn.execute(insert(t).values(_row(made)))
        return made

    def get(self, ident: str) -> Subscription | None:
        with transaction(self.engine, _STORE) as conn:
            row = conn.execute(select(t).where(t.c.id == ident)).first()
        return _subscription(row._mapping) if row else None

    def all(self, project: str | None = None) -> list[Subscription]:
        """Every subscription, or those scoped to `project`, oldest first."""
        with transaction(self.engine, _STORE) as conn:
            return subscriptions_in(conn, project)

    def remove(self, ident: str) -> bool:
        """Delete a subscription and its deliveries, pending or not; whether there was one."""
        d = tables.hook_deliveries
        with transaction(self.engine, _STORE) as conn:
            conn.execute(delete(d).where(d.c.subscription_id == ident))
            done = conn.execute(delete(t).where(t.c.id == ident))
        return bool(done.rowcount)


def subscriptions_in(conn: Connection, project: str | None = None) -> list[Subscription]:
    """Every subscription (or `project`'s), oldest first, read on `conn`."""
    query = select(t).order_by(t.c.created_at, t.c.id)
    if project is not None:
        query = query.where(t.c.project == project)
    return [_subscription(r._mapping) for r in conn.execute(query)]


def _row(s: Subscription) -> dict[str, Any]:
    return {"id": s.id, "project": s.project, "url": s.url, "secret": s.secret,
            "events": json.dumps(list(s.events)), "created_by": s.created_by,
            "created_at": s.created_at}


def _subscription(row: RowMapping | Mapping[str, Any]) -> Subscription:
    return Subscription(row["id"], row["project"], row["url"], row["secret"],
                        tuple(json.loads(row["events"])), row["created_by"], row["created_at"])
