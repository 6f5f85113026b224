"""Server groups, a project's, and their members (server uuids). A group's
count and a member's count are taken under the project's lock
(api.db.locks), so two API processes cannot both grant the last unit."""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select

from api.db import tables
from api.db.locks import lock_scope
from celldb.store import transaction

g, m = tables.server_groups, tables.server_group_members


@dataclass(frozen=True, slots=True)
class ServerGroup:
    id: int
    uuid: str
    name: str
    project: str
    user_id: str
    policy: str
    rules: Mapping[str, int] = field(default_factory=dict)
    members: tuple[str, ...] = ()


class ServerGroupNotFound(Exception):
    """No server group has that uuid (in that project)."""


class ServerGroupQuotaExceeded(Exception):
    """The project has as many groups, or the group as many members, as allowed."""


class ServerGroupStore:
    """The server group tables. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, project: str, user_id: str, name: str, policy: str,
               rules: Mapping[str, int], limit: int) -> ServerGroup:
        """A new group; ServerGroupQuotaExceeded when the project has `limit`
        (-1: no limit) already."""
        with transaction(self.engine, "server groups") as conn:
            lock_scope(conn, f"project:{project}")
            if 0 <= limit <= _count(conn, project):
                raise ServerGroupQuotaExceeded(project)
            made = conn.execute(insert(g).values(
                uuid=str(uuidlib.uuid4()), name=name, project=project, user_id=user_id,
                policy=policy, rules=json.dumps(dict(rules)), created_at=time.time()))
            key = made.inserted_primary_key
            return _with_members(conn, _row(conn, g.c.id == (int(key[0]) if key else 0)))

    def count(self, project: str) -> int:
        with transaction(self.engine, "server groups") as conn:
            return _count(conn, project)

    def get(self, group_uuid: str, project: str | None = None) -> ServerGroup:
        """The group (only if `project`'s, when given); ServerGroupNotFound."""
        where = g.c.uuid == group_uuid
        if project is not None:
            where = where & (g.c.project == project)
        with transaction(self.engine, "server groups") as conn:
            return _with_members(conn, _row(conn, where))

    def all(self, project: str | None = None) -> list[ServerGroup]:
        """The groups of `project` (None: every project's), oldest first."""
        query = select(g).order_by(g.c.id)
        if project is not None:
            query = query.where(g.c.project == project)
        with transaction(self.engine, "server groups") as conn:
            return [_with_members(conn, row) for row in conn.execute(query)]

    def delete(self, group_uuid: str) -> None:
        """ServerGroupNotFound when there is none."""
        with transaction(self.engine, "server groups") as conn:
            found = _row(conn, g.c.uuid == group_uuid)
            conn.execute(delete(m).where(m.c.group_id == found.id))
            conn.execute(delete(g).where(g.c.id == found.id))

    def check_room(self, group_uuid: str, adding: int, limit: int) -> None:
        """ServerGroupQuotaExceeded when `adding` members would take the group
        over `limit` (-1: no limit)."""
        group = self.get(group_uuid)
        if 0 <= limit < len(group.members) + adding:
            raise ServerGroupQuotaExceeded(group_uuid)

    def add_members(self, group_uuid: str, uuids: Sequence[str]) -> None:
        """Record `uuids` as members (again: no change); ServerGroupNotFound."""
        with transaction(self.engine, "server groups") as conn:
            found = _row(conn, g.c.uuid == group_uuid)
            conn.execute(delete(m).where(m.c.uuid.in_(uuids)))
            for uuid in uuids:
                conn.execute(insert(m).values(uuid=uuid, group_id=found.id))

    def forget_members(self, uuids: Collection[str]) -> None:
        """Servers deleted: no group has them any more."""
        with transaction(self.engine, "server groups") as conn:
            conn.execute(delete(m).where(m.c.uuid.in_(list(uuids))))


def _count(conn: Connection, project: str) -> int:
    return int(conn.execute(select(func.count()).select_from(g)
                            .where(g.c.project == project)).scalar() or 0)


def _row(conn: Connection, where: object) -> Row[object]:
    row = conn.execute(select(g).where(where)).first()  # type: ignore[arg-type]
    if row is None:
        raise ServerGroupNotFound()
    return row


def _with_members(conn: Connection, row: Row[object]) -> ServerGroup:
    members = conn.execute(select(m.c.uuid).where(m.c.group_id == row.id)
                           .order_by(m.c.uuid)).scalars().all()
    return ServerGroup(row.id, row.uuid, row.name, row.project, row.user_id, row.policy,
                       json.loads(row.rules), tuple(members))
