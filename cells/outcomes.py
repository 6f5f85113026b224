"""What a leaf answered to each action, by request id: an action sent again
with the same request id (its answer was lost on the way up, with a router
replica that died or a connection that broke) is answered without acting twice.

A row is written before the leaf acts (`begin`), and completed with the answer
(`finish`). What a retry then meets (`LeafCell.act` decides):

    a finished row    the stored answer; nothing is applied
    an open row       the process that took the action died while acting (a
                      standby took over): the instance's state tells whether
                      the hypervisor applied it (`model.states.reached`)
    no row            the action is applied

A refused action leaves no row (`drop`): nothing was applied, so a retry is
judged afresh. Rows are kept `KEEP` seconds. Clients retry a lost answer
within seconds (the CLI and `CellClient` for about 1.5 s, the API for a
request's lifetime); an hour covers any retry a client still makes while its
user waits, and the API's tokens live that long, so no request outlives it.
At a thousand actions a second that is 3.6 million short rows, pruned as the
leaf reports (`prune`).

The table lives in the leaf's database, so a standby that takes over (on the
same PostgreSQL database) knows what its predecessor answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from model.compute import Action, Instance, InstanceState, Port, Resources
from model.errors import Unavailable
from routing.db import action_outcomes

KEEP = 3600.0  # seconds a request id is remembered


@dataclass(frozen=True, slots=True)
class Outcome:
    """An action as first taken under a request id; `answer` is None while open."""

    uuid: str
    action: Action
    answer: Instance | None


class Taken(Exception):
    """Another process began an action under this request id first."""


class ActionOutcomes:
    """The `action_outcomes` table of a leaf's database. Its methods raise
    Unavailable when the database fails (the action is then not applied)."""

    def __init__(self, engine: Engine, keep: float = KEEP) -> None:
        self._engine = engine
        self._keep = keep

    def get(self, request_id: str) -> Outcome | None:
        with self._failing("reading"), self._engine.connect() as conn:
            row = conn.execute(
                select(action_outcomes.c.uuid, action_outcomes.c.action,
                       action_outcomes.c.answer)
                .where(action_outcomes.c.request_id == request_id)).first()
        if row is None:
            return None
        uuid, action, answer = row
        return Outcome(uuid, Action(action), decode(answer) if answer is not None else None)

    def begin(self, request_id: str, uuid: str, action: Action) -> None:
        """Record that the action starts; Taken if the request id has a row."""
        try:
            with self._engine.begin() as conn:
                conn.execute(action_outcomes.insert().values(
                    request_id=request_id, uuid=uuid, action=action.value, answer=None,
                    created_at=time.time()))
        except IntegrityError:
            raise Taken(request_id) from None
        except SQLAlchemyError as exc:
            raise _unavailable("recording", exc) from exc

    def finish(self, request_id: str, answer: Instance) -> None:
        with self._failing("recording"), self._engine.begin() as conn:
            conn.execute(update(action_outcomes)
                         .where(action_outcomes.c.request_id == request_id)
                         .values(answer=encode(answer)))

    def drop(self, request_id: str) -> None:
        """Forget a request id whose action was refused (nothing was applied)."""
        with self._failing("recording"), self._engine.begin() as conn:
            conn.execute(delete(action_outcomes)
                         .where(action_outcomes.c.request_id == request_id))

    def prune(self, now: float | None = None) -> int:
        """Forget the request ids older than the keep time; how many went."""
        cutoff = (time.time() if now is None else now) - self._keep
        with self._failing("pruning"), self._engine.begin() as conn:
            gone = conn.execute(delete(action_outcomes)
                                .where(action_outcomes.c.created_at < cutoff))
        return int(gone.rowcount or 0)

    @contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        """SQLAlchemy's errors as Unavailable (the one place for this table)."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise _unavailable(doing, exc) from exc


def _unavailable(doing: str, exc: SQLAlchemyError) -> Unavailable:
    return Unavailable(f"the leaf's database failed {doing} an action's request id:"
                       f" {type(exc).__name__}")


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
