"""What users set on a leaf's instances (`model.compute.Attributes`, and a
name that replaces the one the instance was built with), kept in the leaf's
database beside its location index, in the `instance_attributes` table.

The hypervisor keeps the guest; this keeps what only people read: a rename
never touches the guest's domain. Every row is held in memory as well (one
entry per instance that has any), read in full when the leaf starts or takes
over (`load`) and written through on each change, so reading an instance
costs no statement. Only the active process of a leaf writes its rows.
Methods raise DatabaseUnavailable (celldb) when the database fails; the
change is then not made.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import Column, Float, String, Table, Text, select

from celldb.schema import metadata
from celldb.store import transaction
from model.compute import NO_ATTRIBUTES, Attributes
from routing.index import LocationIndex

_STORE = "instance attributes"

# The table in its current shape (celldb.schema's v9 made it).
instance_attributes = Table(
    "instance_attributes",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("name", Text, nullable=True),  # NULL: the name it was built with
    Column("attributes", Text, nullable=False),  # JSON
    Column("updated_at", Float, nullable=False),
)

Entry = tuple[str | None, Attributes]  # (the name users gave it, or None; attributes)
NOTHING: Entry = (None, NO_ATTRIBUTES)


class InstanceAttributes:
    def __init__(self, index: LocationIndex) -> None:
        self._index = index
        self._entries: dict[str, Entry] | None = None
        m = index.mark
        self._upsert_sql = (
            "INSERT INTO instance_attributes (uuid, name, attributes, updated_at)"
            f" VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (uuid) DO UPDATE SET"
            " name = excluded.name, attributes = excluded.attributes,"
            " updated_at = excluded.updated_at")
        self._delete_sql = f"DELETE FROM instance_attributes WHERE uuid = {m}"

    def load(self) -> None:
        """Read every row (at start, and when a standby takes over)."""
        with transaction(self._index.engine, _STORE) as conn:
            rows = conn.execute(select(instance_attributes.c.uuid, instance_attributes.c.name,
                                       instance_attributes.c.attributes)).all()
        self._entries = {uuid: (name, decode(text)) for uuid, name, text in rows}

    def of(self, uuid: str) -> Entry:
        return self._all().get(uuid, NOTHING)

    def put(self, uuid: str, name: str | None, attributes: Attributes) -> None:
        if (name, attributes) == NOTHING:
            self.drop(uuid)
            return
        self._index.statement(self._upsert_sql, (uuid, name, encode(attributes), time.time()),
                              _STORE)
        self._all()[uuid] = (name, attributes)

    def drop(self, uuid: str) -> None:
        if uuid in self._all():
            self._index.statement(self._delete_sql, (uuid,), _STORE)
            del self._all()[uuid]

    def _all(self) -> dict[str, Entry]:
        if self._entries is None:
            self.load()
        assert self._entries is not None
        return self._entries


def encode(a: Attributes) -> str:
    return json.dumps({
        "description": a.description, "metadata": dict(a.metadata), "tags": list(a.tags),
        "locked": a.locked, "locked_reason": a.locked_reason,
        "access_ipv4": a.access_ipv4, "access_ipv6": a.access_ipv6,
        "reservation_id": a.reservation_id, "reset_to_error": a.reset_to_error,
        "key_name": a.key_name,  # null: not kept with the instance
    }, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> Attributes:
    data = json.loads(text)
    return Attributes(
        description=data["description"], metadata=tuple(sorted(data["metadata"].items())),
        tags=tuple(data["tags"]), locked=data["locked"], locked_reason=data["locked_reason"],
        access_ipv4=data["access_ipv4"], access_ipv6=data["access_ipv6"],
        reservation_id=data.get("reservation_id", ""),
        reset_to_error=data.get("reset_to_error", False),
        key_name=data.get("key_name"),  # rows written before it was kept: None
    )
