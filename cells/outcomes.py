"""What a leaf answered to each action, by request id: an action sent again
with the same request id (its answer was lost on the way up, with a router
replica that died or a connection that broke) is answered without acting twice.

A row is written before the leaf acts (`begin`, which finds the row a request
id already has), and completed with the answer (`finish`). What a retry then
meets (`LeafCell.act` decides):

    a finished row    the stored answer; nothing is applied
    an open row       the process that took the action died while acting (a
                      standby took over): the instance's state tells whether
                      the hypervisor applied it (`model.states.shows_applied`)
    no row            the action is applied

A refused action leaves no row (`drop`): nothing was applied, so a retry is
judged afresh. Rows are kept `KEEP` seconds. Clients send a lost answer's call
again within the call's timeout (the CLI's, `CellClient`'s and the API
process's: 30 s by default); an hour covers any retry a client still makes
while its user waits, and the API's tokens live that long, so no request
outlives it.
At a thousand actions a second that is 3.6 million short rows, pruned as the
leaf reports (`prune`).

The table lives in the leaf's database, so a standby that takes over (on the
same PostgreSQL database) knows what its predecessor answered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, String, Table, Text

from celldb.schema import metadata
from model.compute import Action, Instance, InstanceState, Port, Resources
from routing.index import LocationIndex

KEEP = 3600.0  # seconds a request id is remembered
_STORE = "action outcomes"  # what a database failure names

# The table in its current shape (celldb.schema's v8 made it). The statements
# below name its columns by hand: they run on the index's hot-path connection.
action_outcomes = Table(
    "action_outcomes",
    metadata,
    Column("request_id", String(255), primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("action", String(16), nullable=False),
    Column("answer", Text, nullable=True),  # JSON of the instance; NULL while under way
    Column("created_at", Float, nullable=False, index=True),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """An action as first taken under a request id; `answer` is None while open."""

    uuid: str
    action: Action
    answer: Instance | None


class ActionOutcomes:
    """The `action_outcomes` table of a leaf's database, beside its location
    index and written through the index's hot-path connection (an action costs
    two short statements). Its methods raise DatabaseUnavailable (celldb) when
    the database fails (the action is then not applied)."""

    def __init__(self, index: LocationIndex, keep: float = KEEP) -> None:
        self._index = index
        self._keep = keep
        m = index.mark
        self._begin_sql = ("INSERT INTO action_outcomes (request_id, uuid, action, answer,"
                           f" created_at) VALUES ({m}, {m}, {m}, NULL, {m})"
                           " ON CONFLICT (request_id) DO NOTHING")
        self._get_sql = f"SELECT uuid, action, answer FROM action_outcomes WHERE request_id = {m}"
        self._finish_sql = f"UPDATE action_outcomes SET answer = {m} WHERE request_id = {m}"
        self._drop_sql = f"DELETE FROM action_outcomes WHERE request_id = {m}"
        self._prune_sql = f"DELETE FROM action_outcomes WHERE created_at < {m}"

    def begin(self, request_id: str, uuid: str, action: Action) -> Outcome | None:
        """Record that `action` of `uuid` starts under `request_id`: None when the
        request id is new, else how it was first used (its answer None while
        the action it named is under way, or was cut short)."""
        _, added = self._run(self._begin_sql, (request_id, uuid, action.value, time.time()))
        if added:
            return None
        row, _ = self._run(self._get_sql, (request_id,))
        if row is None:  # pruned between the two statements: it is new again
            return self.begin(request_id, uuid, action)
        first_uuid, first_action, answer = row
        return Outcome(first_uuid, Action(first_action),
                       decode(answer) if answer is not None else None)

    def get(self, request_id: str) -> Outcome | None:
        row, _ = self._run(self._get_sql, (request_id,))
        if row is None:
            return None
        uuid, action, answer = row
        return Outcome(uuid, Action(action), decode(answer) if answer is not None else None)

    def finish(self, request_id: str, answer: Instance) -> None:
        self._run(self._finish_sql, (encode(answer), request_id))

    def drop(self, request_id: str) -> None:
        """Forget a request id whose action was refused (nothing was applied)."""
        self._run(self._drop_sql, (request_id,))

    def prune(self, now: float | None = None) -> int:
        """Forget the request ids older than the keep time; how many went."""
        cutoff = (time.time() if now is None else now) - self._keep
        _, gone = self._run(self._prune_sql, (cutoff,))
        return int(gone)

    def _run(self, sql: str, params: tuple[object, ...]) -> tuple[Any, int]:
        return self._index.statement(sql, params, _STORE)


def encode(instance: Instance) -> str:
    return json.dumps({
        "uuid": instance.uuid, "name": instance.name, "state": instance.state.value,
        "flavor": [instance.flavor.vcpus, instance.flavor.memory_mb, instance.flavor.disk_gb],
        "image": instance.image, "ports": [[p.network, p.mac, p.ip] for p in instance.ports],
        "host": instance.host, "cell_path": instance.cell_path, "project": instance.project,
        "request_id": instance.request_id, "fault": instance.fault,
    }, separators=(",", ":"))


def decode(text: str) -> Instance:
    data = json.loads(text)
    return Instance(
        data["uuid"], data["name"], InstanceState(data["state"]), Resources(*data["flavor"]),
        image=data["image"], ports=tuple(Port(*p) for p in data["ports"]), host=data["host"],
        cell_path=data["cell_path"], project=data["project"],
        request_id=data["request_id"], fault=data["fault"])
