"""Security group rules: added to a group of the caller's (validated as
Neutron does: network.rule_checks), never two alike in one group
(SecurityGroupRuleExists), seen by the group's project; a rule's only
changeable field is its description, as in Neutron.

NOT ENFORCED: rules are kept and served; no host filters traffic by them yet
(network.security_groups says so too).
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select, true, update

from celldb.store import transaction
from network import tables
from network.errors import SecurityGroupRuleExists, group_not_found, invalid, rule_not_found
from network.listing import filtered, paged
from network.resources import Caller, Changes, ListQuery, RuleSpec, SecurityGroupRule
from network.rows import locked, marker_row, rule_of, writing
from network.rule_checks import checked

r, g = tables.security_group_rules, tables.security_groups
COLUMNS = {c.name: c for c in r.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"description"})
# What makes two rules alike (Neutron's key, less its address groups).
SAME = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
        "remote_ip_prefix", "remote_group_id")


class SecurityGroupRuleStore:
    """The rules table. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, caller: Caller, spec: RuleSpec) -> SecurityGroupRule:
        """A new rule of `spec.security_group_id`. NotFound for a group (or
        remote group) the caller does not see; SecurityGroupRuleInvalid;
        SecurityGroupRuleExists for one the group has already."""
        spec = checked(spec)
        with writing(self.engine, "security group rules") as conn:
            group = locked(conn, g, spec.security_group_id)  # rules of a group take turns
            if group is None or not caller.sees(group["project"]):
                raise group_not_found(spec.security_group_id)
            if spec.project and spec.project != group["project"]:
                raise invalid("The rule's project must be its group's")
            if spec.remote_group_id:
                remote = conn.execute(select(g.c.project).where(
                    g.c.id == spec.remote_group_id)).first()
                if remote is None or not caller.sees(remote.project):
                    raise group_not_found(spec.remote_group_id)
            values = {name: getattr(spec, name) for name in SAME}
            same = conn.execute(select(r.c.id).where(
                r.c.security_group_id == spec.security_group_id,
                *(COLUMNS[k].is_(None) if v is None else COLUMNS[k] == v
                  for k, v in values.items()))).scalar()
            if same is not None:
                raise SecurityGroupRuleExists(
                    f"Security group rule already exists. Rule id is {same}.")
            now = time.time()
            row = {**values, "id": str(uuid.uuid4()), "project": group["project"],
                   "security_group_id": spec.security_group_id,
                   "description": spec.description, "created_at": now, "updated_at": now}
            conn.execute(insert(r).values(row))
        return rule_of(row)

    def show(self, caller: Caller, ident: str) -> SecurityGroupRule:
        with transaction(self.engine, "security group rules") as conn:
            row = conn.execute(select(r).where(r.c.id == ident, _visible(caller))).first()
            if row is None:
                raise rule_not_found(ident)
            return rule_of(row._mapping)

    def list(self, caller: Caller, ask: ListQuery) -> list[SecurityGroupRule]:
        query = filtered(select(r).where(_visible(caller)), COLUMNS, ask.filters)
        with transaction(self.engine, "security group rules") as conn:
            marker = marker_row(conn, r, ask.marker)
            if ask.marker and marker is None:
                raise rule_not_found(ask.marker)
            rows = conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))
            found = [rule_of(x._mapping) for x in rows]
        return found[::-1] if ask.page_reverse else found

    def update(self, caller: Caller, ident: str, changes: Changes) -> SecurityGroupRule:
        """Change the description (nothing else of a rule changes, as in Neutron)."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        with writing(self.engine, "security group rules") as conn:
            self._owned(conn, caller, ident)
            conn.execute(update(r).where(r.c.id == ident).values(**values,
                                                                  updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        with writing(self.engine, "security group rules") as conn:
            self._owned(conn, caller, ident)
            conn.execute(delete(r).where(r.c.id == ident))

    def _owned(self, conn: Connection, caller: Caller, ident: str) -> None:
        row = locked(conn, r, ident)
        if row is None or not caller.sees(row["project"]):
            raise rule_not_found(ident)


def _visible(caller: Caller) -> ColumnElement[bool]:
    return true() if caller.admin else r.c.project == caller.project
