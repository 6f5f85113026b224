"""The security groups of a port: the ones it is made or updated with, all of
its own project's, or its project's default group when it is made without any
(as Neutron gives them). Kept only: no host enforces them yet."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, insert, select

from network import tables
from network.errors import group_not_found
from network.security_groups import ensure_default

pg, g = tables.port_security_groups, tables.security_groups


def assign(conn: Connection, port_id: str, project: str, asked: Sequence[str] | None
           ) -> tuple[str, ...]:
    """Give port `port_id` (of `project`) the groups `asked` (None: the
    project's default), replacing those it had; their ids. NotFound (Neutron's
    SecurityGroupNotFound) for a group that is not the project's. The groups
    are locked FOR SHARE: a delete of one waits, then sees the port."""
    ids = (ensure_default(conn, project),) if asked is None else tuple(dict.fromkeys(asked))
    if ids:
        found = set(conn.execute(select(g.c.id).where(g.c.id.in_(ids), g.c.project == project)
                                 .with_for_update(read=True)).scalars())
        missing = [ident for ident in ids if ident not in found]
        if missing:
            raise group_not_found(", ".join(missing))
    conn.execute(delete(pg).where(pg.c.port_id == port_id))
    if ids:
        conn.execute(insert(pg), [{"port_id": port_id, "security_group_id": i} for i in ids])
    return ids


def forget(conn: Connection, port_id: str) -> None:
    """The port is gone: so are its groups."""
    conn.execute(delete(pg).where(pg.c.port_id == port_id))
