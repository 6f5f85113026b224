"""Networks: made on a segment their type driver says is valid (a tenant
network on one the driver picks), seen by their project, or by all when
shared; deleted only when no port is on them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from celldb.store import transaction
from network import tables
from network.errors import NetworkInUse, NoNetworkAvailable, invalid, not_found
from network.ipam import IpamDriver
from network.listing import filtered, paged
from network.policy import admin_only, project_for, refused
from network.resources import Caller, Changes, ListQuery, Network, NetworkSpec, NetworkType
from network.rows import locked, marker_row, network_of, subnet_ids, writing
from network.segments import Segment, TypeDriver, segment_in_use
from network.settings import NetworkSettings

n = tables.networks
COLUMNS = {c.name: c for c in n.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"name", "description", "admin_state_up", "shared"})
_TRIES = 8  # tenant segments picked again when a concurrent create took the one picked


class NetworkStore:
    """The networks table. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine, settings: NetworkSettings,
                 drivers: Mapping[NetworkType, TypeDriver], ipam: IpamDriver) -> None:
        self.engine, self.settings, self.drivers, self.ipam = engine, settings, drivers, ipam

    def create(self, caller: Caller, spec: NetworkSpec) -> Network:
        """A new network; NotAuthorized for a member asking for provider
        attributes, shared, or another project; SegmentInUse; InvalidInput."""
        return self.create_many(caller, [spec])[0]

    def create_many(self, caller: Caller, specs: Sequence[NetworkSpec]) -> list[Network]:
        """The networks `specs` ask for (Neutron's bulk create), all made in
        one transaction or, when one is refused as `create` says, none."""
        with writing(self.engine, "networks") as conn:
            return [self._create(conn, caller, spec) for spec in specs]

    def _create(self, conn: Connection, caller: Caller, spec: NetworkSpec) -> Network:
        project = project_for(caller, spec.project, "create_network")
        admin_only(caller, "create_network:shared", spec.shared)
        admin_only(caller, "create_network:provider:network_type",
                   (spec.type, spec.physical_network, spec.segmentation_id) != (None,) * 3)
        physical = spec.physical_network or self.settings.physical_network
        for _ in range(_TRIES):  # a segment taken meanwhile: its insert is rolled back alone
            segment = (self._driver(spec.type).provider(physical, spec.segmentation_id)
                       if spec.type else self._tenant_segment(conn))
            made = _insert(conn, spec, project, segment)
            if made is not None:
                return made
            if spec.type:
                raise segment_in_use(segment)
        raise segment_in_use(segment)

    def show(self, caller: Caller, ident: str) -> Network:
        with transaction(self.engine, "networks") as conn:
            row = conn.execute(select(n).where(n.c.id == ident)).first()
            if row is None or not caller.sees(row.project, row.shared):
                raise not_found("Network", ident)
            return network_of(row._mapping, subnet_ids(conn, [ident])[ident])

    def list(self, caller: Caller, ask: ListQuery) -> list[Network]:
        query = filtered(select(n).where(_visible(caller)), COLUMNS, ask.filters)
        with transaction(self.engine, "networks") as conn:
            marker = marker_row(conn, n, ask.marker)
            if ask.marker and marker is None:
                raise not_found("Network", ask.marker)
            rows = [r._mapping for r in conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))]
            subnets = subnet_ids(conn, [r["id"] for r in rows])
        found = [network_of(r, subnets[r["id"]]) for r in rows]
        return found[::-1] if ask.page_reverse else found

    def update(self, caller: Caller, ident: str, changes: Changes) -> Network:
        """Change name, description, admin_state_up, or (admins) shared."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        admin_only(caller, "update_network:shared", "shared" in values)
        with writing(self.engine, "networks") as conn:
            row = locked(conn, n, ident)
            _check_owner(caller, row, ident, "update_network")
            conn.execute(update(n).where(n.c.id == ident).values(**values, updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the network and its subnets; NetworkInUse while ports are on it."""
        with writing(self.engine, "networks") as conn:
            row = locked(conn, n, ident)
            _check_owner(caller, row, ident, "delete_network")
            p = tables.ports
            if conn.execute(select(func.count()).where(p.c.network_id == ident)).scalar():
                raise NetworkInUse(f"Unable to complete operation on network {ident}. There are"
                                   " one or more ports still in use on the network.")
            for subnet in subnet_ids(conn, [ident])[ident]:
                self.ipam.remove(conn, subnet)
            conn.execute(delete(tables.subnets).where(tables.subnets.c.network_id == ident))
            conn.execute(delete(n).where(n.c.id == ident))

    def _driver(self, kind: NetworkType) -> TypeDriver:
        driver = self.drivers.get(kind)
        if driver is None:
            raise invalid(f"network_type value '{kind}' not supported")
        return driver

    def _tenant_segment(self, conn: Connection) -> Segment:
        physical = self.settings.physical_network
        taken = {int(v) for v in conn.execute(select(n.c.segmentation_id)
                                              .where(n.c.physical_network == physical))
                 .scalars()}
        segment = self._driver(self.settings.tenant_network_type).tenant(physical, taken)
        if segment is None:
            raise NoNetworkAvailable("Unable to create the network. No tenant network is"
                                     " available for allocation.")
        return segment


def _insert(conn: Connection, spec: NetworkSpec, project: str, segment: Segment
            ) -> Network | None:
    """The network made, or None when its segment is taken."""
    now = time.time()
    row = {"id": str(uuid.uuid4()), "name": spec.name, "project": project,
           "shared": spec.shared, "admin_state_up": spec.admin_state_up,
           "type": segment.type.value, "physical_network": segment.physical_network,
           "segmentation_id": segment.segmentation_id, "status": "ACTIVE",
           "created_at": now, "updated_at": now, "description": spec.description}
    try:
        with conn.begin_nested():
            conn.execute(insert(n).values(row))
    except IntegrityError:
        return None
    return network_of(row)


def _visible(caller: Caller) -> ColumnElement[bool]:
    if caller.admin:
        return true()
    return or_(n.c.project == caller.project, n.c.shared.is_(True))


def _check_owner(caller: Caller, row: RowMapping | None, ident: str, action: str) -> None:
    """NotFound unless the caller sees the network; NotAuthorized unless it owns it."""
    if row is None or not caller.sees(row["project"], row["shared"]):
        raise not_found("Network", ident)
    if not caller.owns(row["project"]):
        raise refused(f"rule:{action}")
