"""Flavors made by admins (beside the configured ones, which are read-only and
not here), their extra specs, and the projects a private flavor is for."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from api.db import tables
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction

f, specs, access = tables.flavors, tables.flavor_extra_specs, tables.flavor_projects


@dataclass(frozen=True, slots=True)
class StoredFlavor:
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)


class FlavorExists(Exception):
    """A flavor with that id or name is stored already."""


class FlavorStore:
    """The flavors table and its two companions. Every method may raise
    DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, flavor: StoredFlavor) -> None:
        """FlavorExists for an id or a name taken."""
        row = {k: getattr(flavor, k) for k in StoredFlavor.__slots__ if k != "extra_specs"}
        try:
            with transaction(self.engine, "flavors") as conn:
                conn.execute(insert(f).values({**row, "created_at": time.time()}))
        except DatabaseUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise FlavorExists(flavor.id) from None
            raise

    def describe(self, flavor_id: str, description: str | None) -> bool:
        """Set a flavor's description; whether the flavor is there."""
        with transaction(self.engine, "flavors") as conn:
            return bool(conn.execute(update(f).where(f.c.id == flavor_id).values(
                description=description)).rowcount)

    def remove(self, flavor_id: str) -> bool:
        with transaction(self.engine, "flavors") as conn:
            conn.execute(delete(specs).where(specs.c.flavor_id == flavor_id))
            conn.execute(delete(access).where(access.c.flavor_id == flavor_id))
            return bool(conn.execute(delete(f).where(f.c.id == flavor_id)).rowcount)

    def all(self, project: str | None = None) -> list[StoredFlavor]:
        """Every flavor, or (for `project`) the public ones and those it may use."""
        query = select(f).order_by(f.c.created_at)
        if project is not None:
            mine = select(access.c.flavor_id).where(access.c.project == project)
            query = query.where(or_(f.c.is_public, f.c.id.in_(mine)))
        with transaction(self.engine, "flavors") as conn:
            rows = list(conn.execute(query))
            extra = self._specs(conn, [row.id for row in rows])
        return [_flavor(row._mapping, extra.get(row.id, {})) for row in rows]

    def get(self, flavor_id: str) -> StoredFlavor | None:
        with transaction(self.engine, "flavors") as conn:
            row = conn.execute(select(f).where(f.c.id == flavor_id)).first()
            extra = self._specs(conn, [flavor_id]) if row else {}
        return _flavor(row._mapping, extra.get(flavor_id, {})) if row else None

    @staticmethod
    def _specs(conn: Connection, ids: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for row in conn.execute(select(specs).where(specs.c.flavor_id.in_(ids))):
            found.setdefault(row.flavor_id, {})[row.key] = row.value
        return found

    def set_specs(self, flavor_id: str, values: dict[str, str]) -> None:
        with transaction(self.engine, "flavor extra specs") as conn:
            conn.execute(delete(specs).where(specs.c.flavor_id == flavor_id,
                                             specs.c.key.in_(list(values))))
            conn.execute(insert(specs), [{"flavor_id": flavor_id, "key": k, "value": v}
                                         for k, v in values.items()])

    def unset_spec(self, flavor_id: str, key: str) -> bool:
        with transaction(self.engine, "flavor extra specs") as conn:
            return bool(conn.execute(delete(specs).where(
                specs.c.flavor_id == flavor_id, specs.c.key == key)).rowcount)

    def projects(self, flavor_id: str) -> list[str]:
        with transaction(self.engine, "flavor access") as conn:
            return list(conn.execute(select(access.c.project).where(
                access.c.flavor_id == flavor_id).order_by(access.c.project)).scalars())

    def grant(self, flavor_id: str, project: str) -> bool:
        """Whether the project was not granted already."""
        try:
            with transaction(self.engine, "flavor access") as conn:
                conn.execute(insert(access).values(flavor_id=flavor_id, project=project))
        except DatabaseUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False
            raise
        return True

    def revoke(self, flavor_id: str, project: str) -> bool:
        with transaction(self.engine, "flavor access") as conn:
            return bool(conn.execute(delete(access).where(
                access.c.flavor_id == flavor_id, access.c.project == project)).rowcount)


def _flavor(row: RowMapping, extra: dict[str, str]) -> StoredFlavor:
    values = {k: row[k] for k in StoredFlavor.__slots__ if k != "extra_specs"}
    return StoredFlavor(**values, extra_specs=extra)
