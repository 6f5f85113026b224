"""What a leaf did to each of its instances (Nova's instance actions), kept
in its database beside the location index, in the `instance_actions` table.

One row per action, keyed by (uuid, request id): written when the action
starts (`begin`) and completed when it ends (`finish`), each one short
statement on the index's hot-path connection, as cells.outcomes writes. A
refused action (its state did not allow it; nothing was applied) leaves no
row (`drop`), as Nova records no action for a request its API refused. An
action sent again under the same request id is recorded once.

Bounds (`prune`, as the leaf reports):
    an instance's rows are kept `KEEP_DELETED` seconds (a week) after the
    instance is gone (`deleted`), for Nova's 2.21 "deleted server's actions";
    a live instance keeps its newest `MAX_PER_INSTANCE` (1000) actions.

The calls a leaf receives carry no user id (the principal is never sent
below a cell, model.principal), so `user` is empty and the API shows the
project in its place. Methods raise DatabaseUnavailable (celldb) when the
database fails; an action is then not applied.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Column, Float, String, Table, Text, select

from celldb.schema import metadata
from celldb.store import transaction
from model.compute import Instance
from model.errors import FailedPrecondition, InvalidArgument
from model.instance_actions import ERROR, EVENTS, SUCCESS, ActionLog, ActionRecord
from routing.errors import UnknownInstance
from routing.index import LocationIndex

KEEP_DELETED = 7 * 24 * 3600.0  # seconds a deleted instance's actions are kept
MAX_PER_INSTANCE = 1000  # actions kept per instance, the newest
PRUNE_EVERY = 60.0  # seconds between prunings
_STORE = "instance actions"
# Errors that mean the action was refused before anything was applied.
REFUSED = (FailedPrecondition, InvalidArgument, UnknownInstance)

# The table in its current shape (celldb.schema's v11 made it).
instance_actions = Table(
    "instance_actions",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("request_id", String(255), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("project", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),  # "": the call did not say
    Column("start_time", Float, nullable=False),
    Column("finish_time", Float, nullable=True),  # NULL while under way
    Column("event", String(64), nullable=False),  # "": the action has no event
    Column("result", String(16), nullable=True),
    Column("message", Text, nullable=True),
    Column("host", String(255), nullable=False),
    Column("deleted_at", Float, nullable=True, index=True),  # when the instance went
)


class InstanceActions:
    """The `instance_actions` table of one leaf's database; only the active
    process of a leaf writes it."""

    def __init__(self, index: LocationIndex, keep_deleted: float = KEEP_DELETED,
                 most: int = MAX_PER_INSTANCE) -> None:
        self._index = index
        self._keep_deleted = keep_deleted
        self._most = most
        self._last_prune = 0.0
        m = index.mark
        self._begin_sql = (
            "INSERT INTO instance_actions (uuid, request_id, action, project, user_id,"
            " start_time, finish_time, event, result, message, host, deleted_at)"
            f" VALUES ({m}, {m}, {m}, {m}, '', {m}, {m}, {m}, {m}, NULL, {m}, NULL)"
            " ON CONFLICT (uuid, request_id) DO NOTHING")
        self._finish_sql = (
            f"UPDATE instance_actions SET finish_time = {m}, result = {m}, message = {m},"
            f" host = {m} WHERE uuid = {m} AND request_id = {m}")
        self._drop_sql = f"DELETE FROM instance_actions WHERE uuid = {m} AND request_id = {m}"
        self._deleted_sql = (f"UPDATE instance_actions SET deleted_at = {m}"
                             f" WHERE uuid = {m} AND deleted_at IS NULL")
        self._prune_sql = f"DELETE FROM instance_actions WHERE deleted_at < {m}"
        self._trim_sql = (
            "DELETE FROM instance_actions WHERE (uuid, request_id) IN (SELECT uuid,"
            " request_id FROM (SELECT uuid, request_id, ROW_NUMBER() OVER (PARTITION BY"
            " uuid ORDER BY start_time DESC) AS n FROM instance_actions) AS ranked"
            f" WHERE n > {m})")

    def begin(self, uuid: str, request_id: str, action: str, project: str,
              host: str = "") -> bool:
        """Record that `action` starts; False when the request id has a row already."""
        _, added = self._index.statement(
            self._begin_sql,
            (uuid, request_id, action, project, time.time(), None, EVENTS.get(action, ""),
             None, host), _STORE)
        return bool(added)

    def record(self, uuid: str, request_id: str, action: str, project: str) -> None:
        """An action without an event (lock, unlock, resetState), done as it is recorded."""
        now = time.time()
        self._index.statement(self._begin_sql, (uuid, request_id, action, project, now, now,
                                                "", None, ""), _STORE)

    def finish(self, uuid: str, request_id: str, error: str | None = None,
               host: str = "") -> None:
        """The action ended: in success, or in an error saying `error`."""
        self._index.statement(
            self._finish_sql, (time.time(), ERROR if error is not None else SUCCESS, error,
                               host, uuid, request_id), _STORE)

    def drop(self, uuid: str, request_id: str) -> None:
        """Forget an action that was refused (nothing was applied)."""
        self._index.statement(self._drop_sql, (uuid, request_id), _STORE)

    def deleted(self, uuid: str, now: float | None = None) -> None:
        """The instance is gone: its rows are kept KEEP_DELETED from now."""
        self._index.statement(self._deleted_sql, (now or time.time(), uuid), _STORE)

    def prune(self, now: float | None = None) -> int:
        """Forget what the bounds leave out; how many rows went."""
        cutoff = (time.time() if now is None else now) - self._keep_deleted
        _, old = self._index.statement(self._prune_sql, (cutoff,), _STORE)
        _, many = self._index.statement(self._trim_sql, (self._most,), _STORE)
        return int(old) + int(many)

    def prune_when_due(self) -> None:
        """Prune, when PRUNE_EVERY has passed since the last time."""
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            self.prune()

    async def log(self, uuid: str, request_id: str,
                  project_of: Callable[[], Awaitable[str]]) -> ActionLog:
        """What `of` has; for an instance here with none recorded (adopted, or
        older than the log), an empty log in its project (`project_of`, which
        raises UnknownInstance when the instance is not here either)."""
        found = self.of(uuid, request_id)
        return found if found is not None else ActionLog(uuid, await project_of())

    def of(self, uuid: str, request_id: str = "") -> ActionLog | None:
        """The instance's actions, newest first (only `request_id`'s, when
        given); None when this leaf has no row of the instance."""
        t = instance_actions.c
        query = select(t.action, t.request_id, t.project, t.user_id, t.start_time,
                       t.finish_time, t.event, t.result, t.message, t.host,
                       t.deleted_at).where(t.uuid == uuid)
        with transaction(self._index.engine, _STORE) as conn:
            rows = conn.execute(query.order_by(t.start_time.desc(), t.request_id)).all()
        if not rows:
            return None
        deleted = any(row.deleted_at is not None for row in rows)
        picked = [_record(row) for row in rows
                  if not request_id or row.request_id == request_id]
        return ActionLog(uuid, rows[0].project, deleted, tuple(picked))

    async def track(self, uuid: str, request_id: str, action: str, project: str,
                    host: str, work: Callable[[], Awaitable[Instance]]) -> Instance:
        """`work` done as `action` of `uuid`, recorded from start to end: a
        refusal (REFUSED) leaves no row; any other error ends it in ERROR."""
        began = self.begin(uuid, request_id, action, project, host)
        return await self.settle(uuid, request_id if began else "", host, work)

    async def settle(self, uuid: str, request_id: str, host: str,
                     work: Callable[[], Awaitable[Instance]]) -> Instance:
        """`work` done as the action begun under `request_id` (empty: begun
        before, under that id: only done), its row completed as `track` says."""
        began = bool(request_id)
        try:
            result = await work()
        except REFUSED:
            if began:
                self.drop(uuid, request_id)
            raise
        except Exception as exc:
            if began:
                self.finish(uuid, request_id, str(exc) or type(exc).__name__, host)
            raise
        if began:
            self.finish(uuid, request_id, None, result.host or host)
        return result


def _record(row: Any) -> ActionRecord:
    return ActionRecord(
        row.action, row.request_id, row.project, row.user_id, row.start_time,
        row.finish_time or 0.0, row.event, row.result or "", row.message or "", row.host)
