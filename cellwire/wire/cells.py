"""The cells API on the wire: lists and locations, the tree's topology, a
child's registration and reports, and placements."""

from __future__ import annotations

from cellrouter.v1 import cells_pb2 as pb
from cellwire.wire.compute import instance_from_pb, instance_to_pb, state_from_pb, state_to_pb
from cellwire.wire.scalars import resources_from_pb, resources_to_pb, time_from_pb, time_to_pb
from model.cells import (
    CellCapacity,
    CellKind,
    CellNode,
    ChildReport,
    HostSummary,
    InstanceChange,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
    PlacementOption,
    Registration,
    Replica,
)
from model.compute import InstanceState
from model.errors import InvalidArgument

# ------------------------------------------------------------ list, locate


def query_to_pb(q: ListQuery) -> pb.ListRequest:
    return pb.ListRequest(
        limit=q.limit,
        page_token=q.page_token,
        project=q.project,
        state=state_to_pb(q.state),
        name_prefix=q.name_prefix,
        sort=q.sort,
        cell=q.cell,
    )


def query_from_pb(m: pb.ListRequest) -> ListQuery:
    return ListQuery(
        limit=m.limit,
        page_token=m.page_token,
        project=m.project,
        state=state_from_pb(m.state),
        name_prefix=m.name_prefix,
        sort=m.sort or "name",
        cell=m.cell,
    )


def page_to_pb(p: InstancePage) -> pb.ListResponse:
    return pb.ListResponse(
        instances=[instance_to_pb(i) for i in p.instances],
        next_page_token=p.next_page_token,
        unreachable_cells=list(p.unreachable_cells),
    )


def page_from_pb(m: pb.ListResponse) -> InstancePage:
    return InstancePage(
        instances=tuple(instance_from_pb(i) for i in m.instances),
        next_page_token=m.next_page_token,
        unreachable_cells=tuple(m.unreachable_cells),
    )


def located_to_pb(loc: Located) -> pb.LocateResponse:
    return pb.LocateResponse(uuid=loc.uuid, cell_path=loc.cell_path, host=loc.host,
                            project=loc.project)


def located_from_pb(m: pb.LocateResponse) -> Located:
    return Located(m.uuid, m.cell_path, m.host, m.project)


# -------------------------------------------------------------- topology

_KIND_TO_PB: dict[CellKind, pb.CellKind] = {
    CellKind.ROUTER: pb.CELL_KIND_ROUTER,
    CellKind.LEAF: pb.CELL_KIND_LEAF,
}
_KIND_FROM_PB: dict[int, CellKind] = {v: k for k, v in _KIND_TO_PB.items()}


def kind_to_pb(kind: CellKind) -> pb.CellKind:
    return _KIND_TO_PB[kind]


def kind_from_pb(value: int) -> CellKind | None:
    return _KIND_FROM_PB.get(value)


def capacity_to_pb(c: CellCapacity) -> pb.Capacity:
    return pb.Capacity(
        total=resources_to_pb(c.total),
        used=resources_to_pb(c.used),
        largest_free=resources_to_pb(c.largest_free),
        hosts=c.hosts,
        hosts_up=c.hosts_up,
        instances=c.instances,
        flavor_fits=dict(c.flavor_fits),
        states=dict(c.states),
        agents=dict(c.agents),
    )


def capacity_from_pb(m: pb.Capacity) -> CellCapacity:
    return CellCapacity(
        total=resources_from_pb(m.total),
        used=resources_from_pb(m.used),
        largest_free=resources_from_pb(m.largest_free),
        hosts=m.hosts,
        hosts_up=m.hosts_up,
        instances=m.instances,
        flavor_fits=tuple(sorted(m.flavor_fits.items())),
        states=tuple(sorted(m.states.items())),
        agents=tuple(sorted(m.agents.items())),
    )


def node_to_pb(n: CellNode) -> pb.CellNode:
    return pb.CellNode(
        name=n.name,
        path=n.path,
        kind=kind_to_pb(n.kind),
        address=n.address,
        status=pb.CELL_UP if n.up else pb.CELL_DOWN,
        capacity=capacity_to_pb(n.capacity),
        capabilities=list(n.capabilities),
        children=[node_to_pb(c) for c in n.children],
        hosts=[pb.HostInfo(name=h.name, capacity=capacity_to_pb(h.capacity)) for h in n.hosts],
        last_seen=time_to_pb(n.last_seen),
        replicas=[pb.Replica(address=r.address, heard_ago_s=r.heard_ago, standby=r.standby)
                  for r in n.replicas],
        unreachable=n.unreachable,
        driver=n.driver,
        open_client_port=n.open_client_port,
    )


def node_from_pb(m: pb.CellNode) -> CellNode:
    return CellNode(
        name=m.name,
        path=m.path,
        kind=kind_from_pb(m.kind) or CellKind.ROUTER,
        address=m.address,
        up=m.status == pb.CELL_UP,
        capacity=capacity_from_pb(m.capacity),
        capabilities=tuple(m.capabilities),
        children=tuple(node_from_pb(c) for c in m.children),
        hosts=tuple(HostSummary(h.name, capacity_from_pb(h.capacity)) for h in m.hosts),
        last_seen=time_from_pb(m, "last_seen"),
        replicas=tuple(Replica(r.address, r.heard_ago_s, r.standby) for r in m.replicas),
        unreachable=m.unreachable,
        driver=m.driver,
        open_client_port=m.open_client_port,
    )


# ---------------------------------------------------------- parent/child


def registration_to_pb(r: Registration) -> pb.RegisterRequest:
    return pb.RegisterRequest(
        name=r.name,
        address=r.address,
        kind=kind_to_pb(r.kind),
        capabilities=list(r.capabilities),
    )


def registration_from_pb(m: pb.RegisterRequest) -> Registration:
    """InvalidArgument for a kind number no kind has (UNSPECIFIED is a router)."""
    kind = kind_from_pb(m.kind)
    if kind is None and m.kind != pb.CELL_KIND_UNSPECIFIED:
        raise InvalidArgument(f"unknown cell kind number {m.kind}")
    return Registration(
        name=m.name,
        address=m.address,
        kind=kind or CellKind.ROUTER,
        capabilities=tuple(m.capabilities),
    )


def report_to_pb(r: ChildReport) -> pb.ReportRequest:
    return pb.ReportRequest(
        name=r.name,
        capacity=capacity_to_pb(r.capacity),
        changes=[
            pb.InstanceChange(
                uuid=c.uuid, state=state_to_pb(c.state), cell_path=c.cell_path, host=c.host
            )
            for c in r.changes
        ],
        leaves={
            leaf.path: pb.LeafInfo(address=leaf.address, actions=list(leaf.actions),
                                   refusals=dict(leaf.refusals), driver=leaf.driver)
            for leaf in r.leaves
        },
        address=r.address,
        standby=r.standby,
    )


def report_from_pb(m: pb.ReportRequest) -> ChildReport:
    return ChildReport(
        name=m.name,
        capacity=capacity_from_pb(m.capacity),
        changes=tuple(
            InstanceChange(c.uuid, state_from_pb(c.state) or InstanceState.UNKNOWN,
                           c.cell_path, c.host)
            for c in m.changes
        ),
        leaves=tuple(
            LeafInfo(path, leaf.address, tuple(leaf.actions),
                     tuple(sorted(leaf.refusals.items())), leaf.driver)
            for path, leaf in sorted(m.leaves.items())
        ),
        address=m.address,
        standby=m.standby,
    )


# ------------------------------------------------------------- placement


def placement_to_pb(p: Placement) -> pb.Placement:
    return pb.Placement(
        ranked=[pb.PlacementOption(cell_path=o.cell_path, host=o.host) for o in p.ranked],
        explanations=list(p.explanations),
    )


def placement_from_pb(m: pb.Placement) -> Placement:
    return Placement(
        tuple(PlacementOption(o.cell_path, o.host) for o in m.ranked), tuple(m.explanations)
    )
