"""Quota limits per project, and the reservations that keep two API processes
from both granting the last unit.

Instances, cores and RAM in use are the tree's to count (the caller lists the
project's instances); what the tree cannot see yet is here, as reservations:

    a boot in flight      uuid NULL, counted until expires_at (a process that
                          died mid-boot stops holding units then)
    a boot that returned  uuid set at settled_at, counted while a tree list
                          might have begun before it (and so not show it):
                          until a list begun after settled_at (less a margin
                          for clocks) leaves it to the tree's count

`reserve` counts and takes in one transaction under the project's lock
(api.db.locks), so the second of two racing processes sees the first's rows.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, or_, select, update

from api.db import tables
from api.db.locks import lock_scope
from celldb.store import transaction

# Nova's defaults (nova.conf [quota]); -1 is no limit.
DEFAULTS: Mapping[str, int] = {
    "instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
    "server_groups": 10, "server_group_members": 10, "injected_files": 5,
    "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
    "floating_ips": 10, "fixed_ips": -1, "security_groups": 10, "security_group_rules": 20,
}
CLOCK_MARGIN = 5.0      # seconds: how far apart API processes' clocks may be
RESERVATION_TTL = 300.0  # seconds a boot in flight holds its units
_FORGET_AFTER = 600.0   # seconds after which a settled row can matter to no list

r = tables.quota_reservations
limits_t = tables.quota_limits
classes_t = tables.quota_classes
DEFAULT_CLASS = "default"


@dataclass(frozen=True, slots=True)
class Usage:
    """Instances, cores and RAM (MB): in use, asked for, or allowed."""

    instances: int = 0
    cores: int = 0
    ram: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.instances + other.instances, self.cores + other.cores,
                     self.ram + other.ram)

    def times(self, n: int) -> Usage:
        return Usage(self.instances * n, self.cores * n, self.ram * n)

    def as_dict(self) -> dict[str, int]:
        return {"instances": self.instances, "cores": self.cores, "ram": self.ram}


@dataclass(frozen=True, slots=True)
class TreeCount:
    """What a list of the project's instances in the tree showed, and when the
    list began (time.time())."""

    usage: Usage
    uuids: frozenset[str]
    listed_at: float


class QuotaExceeded(Exception):
    """`resources` would go over their limits; the numbers say by how much."""

    def __init__(self, resources: list[str], requested: dict[str, int],
                 used: dict[str, int], allowed: dict[str, int]) -> None:
        super().__init__(", ".join(resources))
        self.resources, self.requested, self.used, self.allowed = (
            resources, requested, used, allowed)

    def nova_message(self) -> str:
        """Nova's words: 'Quota exceeded for instances: Requested 1, but already
        used 10 of 10 instances'."""
        overs = ", ".join(self.resources)

        def each(values: dict[str, int]) -> str:
            return ", ".join(str(values[name]) for name in self.resources)
        return (f"Quota exceeded for {overs}: Requested {each(self.requested)}, but already"
                f" used {each(self.used)} of {each(self.allowed)} {overs}")


class QuotaStore:
    """Limits and reservations. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def defaults(self) -> dict[str, int]:
        """Every resource's default: the quota class "default", else DEFAULTS."""
        return self.class_limits(DEFAULT_CLASS)

    def limits(self, project: str) -> dict[str, int]:
        """Every resource's limit for `project`: its own, else the default."""
        with transaction(self.engine, "quotas") as conn:
            return _limits(conn, project)

    def set_limits(self, project: str, values: Mapping[str, int]) -> dict[str, int]:
        with transaction(self.engine, "quotas") as conn:
            lock_scope(conn, f"project:{project}")
            for name, limit in values.items():
                upsert_limit(conn, project, name, limit)
            return _limits(conn, project)

    def class_limits(self, name: str) -> dict[str, int]:
        """Every resource's limit in quota class `name`: its own, else the default."""
        with transaction(self.engine, "quotas") as conn:
            return _class_limits(conn, name)

    def set_class_limits(self, name: str, values: Mapping[str, int]) -> dict[str, int]:
        with transaction(self.engine, "quotas") as conn:
            for resource, limit in values.items():
                where = (classes_t.c.class_name == name) & (classes_t.c.resource == resource)
                if not conn.execute(update(classes_t).where(where)
                                    .values(hard_limit=limit)).rowcount:
                    conn.execute(classes_t.insert().values(
                        class_name=name, resource=resource, hard_limit=limit))
            return _class_limits(conn, name)

    def reset(self, project: str) -> None:
        """Back to the defaults."""
        with transaction(self.engine, "quotas") as conn:
            conn.execute(delete(limits_t).where(limits_t.c.project == project))

    def reserved(self, project: str, seen: TreeCount) -> Usage:
        """What boots the tree's count `seen` does not show yet hold."""
        with transaction(self.engine, "quotas") as conn:
            return _reserved(conn, project, seen, time.time())

    def reserve(self, project: str, seen: TreeCount, each: Usage, low: int,
                high: int) -> list[str]:
        """Reserve room for between `low` and `high` instances of `each`, as
        many as fit; their reservation ids. QuotaExceeded (asking for `high`)
        when not even `low` fit."""
        now = time.time()
        with transaction(self.engine, "quotas") as conn:
            lock_scope(conn, f"project:{project}")
            conn.execute(delete(r).where(r.c.project == project, or_(
                (r.c.settled_at.is_(None) & (r.c.expires_at < now)),
                r.c.settled_at < now - _FORGET_AFTER)))
            used = seen.usage + _reserved(conn, project, seen, now)
            limits = _limits(conn, project)
            fits = next((n for n in range(high, low - 1, -1)
                         if not _overs(limits, used, each.times(n))), 0)
            if not fits:
                raise _exceeded(limits, used, each.times(high))
            ids = [str(uuidlib.uuid4()) for _ in range(fits)]
            conn.execute(r.insert(), [
                {"id": i, "project": project, "uuid": None, "settled_at": None,
                 "expires_at": now + RESERVATION_TTL, **each.as_dict()} for i in ids])
        return ids

    def settle(self, reservation: str, uuid: str) -> None:
        """The boot of `reservation` made server `uuid`: the tree counts it soon."""
        with transaction(self.engine, "quotas") as conn:
            conn.execute(update(r).where(r.c.id == reservation).values(
                uuid=uuid, settled_at=time.time()))

    def forget(self, uuid: str) -> None:
        """Server `uuid` is being deleted: its settled boot holds nothing more."""
        with transaction(self.engine, "quotas") as conn:
            conn.execute(delete(r).where(r.c.uuid == uuid))

    def release(self, reservations: Collection[str]) -> None:
        """Boots that made nothing: their units are free again."""
        if reservations:
            with transaction(self.engine, "quotas") as conn:
                conn.execute(delete(r).where(r.c.id.in_(list(reservations))))


def upsert_limit(conn: Connection, project: str, resource: str, limit: int) -> None:
    where = (limits_t.c.project == project) & (limits_t.c.resource == resource)
    if conn.execute(update(limits_t).where(where).values(hard_limit=limit)).rowcount == 0:
        conn.execute(limits_t.insert().values(project=project, resource=resource,
                                              hard_limit=limit))


def _limits(conn: Connection, project: str) -> dict[str, int]:
    rows = conn.execute(select(limits_t.c.resource, limits_t.c.hard_limit)
                        .where(limits_t.c.project == project))
    return _class_limits(conn, DEFAULT_CLASS) | {row.resource: row.hard_limit for row in rows
                                                 if row.resource in DEFAULTS}


def _class_limits(conn: Connection, name: str) -> dict[str, int]:
    """DEFAULTS, then quota class `name`'s own (its class, for "default",
    changes every project's defaults, as Nova's)."""
    rows = conn.execute(select(classes_t.c.resource, classes_t.c.hard_limit)
                        .where(classes_t.c.class_name == name))
    return dict(DEFAULTS) | {row.resource: row.hard_limit for row in rows
                             if row.resource in DEFAULTS}


def _reserved(conn: Connection, project: str, seen: TreeCount, now: float) -> Usage:
    total = Usage()
    for row in conn.execute(select(r).where(r.c.project == project)):
        in_flight = row.settled_at is None and row.expires_at >= now
        unseen = (row.settled_at is not None and row.uuid not in seen.uuids
                  and row.settled_at >= seen.listed_at - CLOCK_MARGIN)
        if in_flight or unseen:
            total += Usage(row.instances, row.cores, row.ram)
    return total


def _overs(limits: Mapping[str, int], used: Usage, asked: Usage) -> list[str]:
    want, have = asked.as_dict(), used.as_dict()
    return [name for name, n in want.items()
            if n and limits[name] >= 0 and have[name] + n > limits[name]]


def _exceeded(limits: Mapping[str, int], used: Usage, asked: Usage) -> QuotaExceeded:
    overs = _overs(limits, used, asked)
    return QuotaExceeded(overs, asked.as_dict(), used.as_dict(),
                         {name: limits[name] for name in ("instances", "cores", "ram")})
