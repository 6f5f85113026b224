"""Security groups: a project's named sets of rules that its ports are given.

As in Neutron, each project has one group named "default", made the first
time the project needs one (its first port, its first list of groups, its
first group of its own), with Neutron's default rules: egress anywhere
(IPv4 and IPv6) and ingress from the ports of the group itself (IPv4 and
IPv6). Every other group is made with the two egress rules. A group that a
port has is not deleted (SecurityGroupInUse); a member neither deletes nor
renames its project's default group. Deleting a group deletes its rules and
the rules of other groups that name it as their remote group.

NOT ENFORCED: no host applies these rules yet (the network agent wires a
port into its bridge and filters nothing). The service keeps and serves
groups, rules and the groups of each port, as Neutron's API does, so that
clients can manage them; the traffic of a guest is not filtered by them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from celldb.store import transaction
from network import tables
from network.errors import DefaultSecurityGroup, SecurityGroupInUse, group_not_found, invalid
from network.listing import filtered, paged
from network.policy import project_for
from network.resources import (
    Caller,
    Changes,
    Direction,
    EtherType,
    ListQuery,
    SecurityGroup,
    SecurityGroupSpec,
)
from network.rows import group_of, group_rules, locked, marker_row, writing

g, r = tables.security_groups, tables.security_group_rules
COLUMNS = {c.name: c for c in g.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"name", "description"})
DEFAULT = "default"
Names = list[str]  # (`list` is also a method of the store below)


class SecurityGroupStore:
    """The security groups table (with their rules). Every method may raise
    DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, caller: Caller, spec: SecurityGroupSpec) -> SecurityGroup:
        """A new group with the two egress rules (the project's default made
        first when it has none). DefaultSecurityGroup for one named "default"."""
        project = project_for(caller, spec.project, "create_security_group")
        _not_default(spec.name)
        with writing(self.engine, "security groups") as conn:
            ensure_default(conn, project)
            ident = _insert(conn, project, spec.name, spec.description, default=False)
        return self.show(caller, ident)

    def show(self, caller: Caller, ident: str) -> SecurityGroup:
        with transaction(self.engine, "security groups") as conn:
            row = conn.execute(select(g).where(g.c.id == ident, _visible(caller))).first()
            if row is None:
                raise group_not_found(ident)
            return group_of(row._mapping, group_rules(conn, [ident])[ident])

    def list(self, caller: Caller, ask: ListQuery) -> list[SecurityGroup]:
        """The groups asked for; the project asked of (the caller's, unless a
        project filter names one) gets its default group first if it has none."""
        projects = ask.filters.get("project") or (caller.project,)
        if caller.project and len(projects) == 1 and caller.owns(projects[0]):
            self._ensure_default(projects[0])
        query = filtered(select(g).where(_visible(caller)), COLUMNS, ask.filters)
        with transaction(self.engine, "security groups") as conn:
            marker = marker_row(conn, g, ask.marker)
            if ask.marker and marker is None:
                raise group_not_found(ask.marker)
            rows = [x._mapping for x in conn.execute(paged(query, COLUMNS, SORTABLE, ask,
                                                           marker))]
            rules = group_rules(conn, [x["id"] for x in rows])
        found = [group_of(x, rules[x["id"]]) for x in rows]
        return found[::-1] if ask.page_reverse else found

    def _ensure_default(self, project: str) -> None:
        """Make `project`'s default group when it has none (looked for first
        without the write lock, which a list would otherwise always take)."""
        d = tables.default_security_groups
        with transaction(self.engine, "security groups") as conn:
            if conn.execute(select(d.c.project).where(d.c.project == project)).first():
                return
        with writing(self.engine, "security groups") as conn:
            ensure_default(conn, project)

    def names_of_ports(self, port_ids: Sequence[str]) -> dict[str, Names]:
        """The names of each port's groups (a group without one by its id), by
        name; for server bodies, which name a server's groups."""
        p = tables.port_security_groups
        found: dict[str, Names] = {ident: [] for ident in port_ids}
        if not port_ids:
            return found
        with transaction(self.engine, "security groups") as conn:
            rows = conn.execute(select(p.c.port_id, g.c.id, g.c.name)
                                .join(g, g.c.id == p.c.security_group_id)
                                .where(p.c.port_id.in_(port_ids)).order_by(g.c.name, g.c.id))
            for port_id, ident, name in rows:
                found[port_id].append(name or ident)
        return found

    def update(self, caller: Caller, ident: str, changes: Changes) -> SecurityGroup:
        """Change name or description; a default group keeps its name."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        with writing(self.engine, "security groups") as conn:
            row = _owned(conn, caller, ident)
            if "name" in values and values["name"] != row["name"]:
                if _is_default(conn, ident):
                    raise DefaultSecurityGroup("Updating default security group not allowed.",
                                               "SecurityGroupCannotUpdateDefault")
                _not_default(str(values["name"]))
            conn.execute(update(g).where(g.c.id == ident).values(**values,
                                                                  updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the group, its rules and the rules that name it as their
        remote group. SecurityGroupInUse while a port has it; a member may
        not delete its project's default group."""
        with writing(self.engine, "security groups") as conn:
            _owned(conn, caller, ident)
            if _is_default(conn, ident) and not caller.admin:
                raise DefaultSecurityGroup("Insufficient rights for removing default security"
                                           " group.")
            p = tables.port_security_groups
            if conn.execute(select(p.c.port_id).where(p.c.security_group_id == ident)
                            .limit(1)).first() is not None:
                raise SecurityGroupInUse(f"Security Group {ident} in use.")
            conn.execute(delete(r).where(or_(r.c.security_group_id == ident,
                                             r.c.remote_group_id == ident)))
            d = tables.default_security_groups
            conn.execute(delete(d).where(d.c.security_group_id == ident))
            conn.execute(delete(g).where(g.c.id == ident))


def ensure_default(conn: Connection, project: str) -> str:
    """The id of `project`'s default group, made now (with its rules) when it
    has none. Two makers at once: the second's is rolled back and it reads
    the first's."""
    d = tables.default_security_groups
    found = conn.execute(select(d.c.security_group_id).where(d.c.project == project)).scalar()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            ident = _insert(conn, project, DEFAULT, "Default security group", default=True)
            conn.execute(insert(d).values(project=project, security_group_id=ident))
            return ident
    except IntegrityError:
        return str(conn.execute(select(d.c.security_group_id)
                                .where(d.c.project == project)).scalar_one())


def _insert(conn: Connection, project: str, name: str, description: str, default: bool) -> str:
    """A group and its first rules: egress anywhere, and for a default group
    ingress from its own ports (Neutron's), each for IPv4 and IPv6."""
    now, ident = time.time(), str(uuid.uuid4())
    conn.execute(insert(g).values(id=ident, name=name, description=description,
                                  project=project, created_at=now, updated_at=now))
    rules: list[dict[str, Any]] = []
    for ethertype in EtherType:
        base = {"security_group_id": ident, "project": project, "ethertype": ethertype.value,
                "protocol": None, "port_range_min": None, "port_range_max": None,
                "remote_ip_prefix": None, "description": "", "created_at": now,
                "updated_at": now}
        rules.append({**base, "id": str(uuid.uuid4()), "direction": Direction.EGRESS.value,
                      "remote_group_id": None})
        if default:
            rules.append({**base, "id": str(uuid.uuid4()),
                          "direction": Direction.INGRESS.value, "remote_group_id": ident})
    conn.execute(insert(r), rules)
    return ident


def _not_default(name: str) -> None:
    """Neutron's word for another group named "default" (any case)."""
    if name.lower() == DEFAULT:
        raise DefaultSecurityGroup("Default security group already exists.",
                                   "SecurityGroupDefaultAlreadyExists")


def _is_default(conn: Connection, ident: str) -> bool:
    d = tables.default_security_groups
    return conn.execute(select(d.c.project).where(d.c.security_group_id == ident)
                        ).first() is not None


def _owned(conn: Connection, caller: Caller, ident: str) -> Any:
    row = locked(conn, g, ident)
    if row is None or not caller.sees(row["project"]):
        raise group_not_found(ident)
    return row


def _visible(caller: Caller) -> ColumnElement[bool]:
    return true() if caller.admin else g.c.project == caller.project
