"""Translation between the protobuf messages and the plain dataclasses.

This module and the gRPC glue (`cells.server`, `cells.client`) are the only
places that import the generated code in `cellrouter.v1`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from cellrouter.v1 import cells_pb2 as pb
from model.agents import (
    Agent,
    AgentReport,
    BindingEvent,
    Heard,
    ObjectState,
    PlaceSpec,
    ServiceObject,
)
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
from model.compute import Action, BootSpec, Instance, InstanceState, Port, Resources
from model.errors import InvalidArgument

# --------------------------------------------------------------- scalars


def resources_to_pb(r: Resources) -> pb.Flavor:
    return pb.Flavor(vcpus=r.vcpus, memory_mb=r.memory_mb, disk_gb=r.disk_gb)


def resources_from_pb(f: pb.Flavor) -> Resources:
    return Resources(f.vcpus, f.memory_mb, f.disk_gb)


# Lists carry thousands of instances through every level, so the timestamp
# and enum conversions below avoid the slower generic helpers.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATE_TO_PB = {s: pb.InstanceState.Value(s.value) for s in InstanceState}
_STATE_FROM_PB = {v: k for k, v in _STATE_TO_PB.items()}


def state_to_pb(state: InstanceState | None) -> pb.InstanceState:
    return _STATE_TO_PB[state] if state else pb.STATE_UNSPECIFIED  # type: ignore[return-value]


def state_from_pb(value: int) -> InstanceState | None:
    """None for STATE_UNSPECIFIED; InvalidArgument for a number no state has."""
    if value == pb.STATE_UNSPECIFIED:
        return None
    try:
        return _STATE_FROM_PB[value]
    except KeyError:
        raise InvalidArgument(f"unknown instance state number {value}") from None


def _time_to_pb(when: datetime | None) -> Timestamp | None:
    if when is None:
        return None
    delta = when - _EPOCH if when.tzinfo else when.replace(tzinfo=UTC) - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def _time_from_pb(msg: pb.Instance | pb.CellNode | pb.AgentInfo, name: str) -> datetime | None:
    if not msg.HasField(name):
        return None
    stamp: Timestamp = getattr(msg, name)
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


# -------------------------------------------------------------- instances


def instance_to_pb(i: Instance) -> pb.Instance:
    return pb.Instance(
        uuid=i.uuid,
        name=i.name,
        state=state_to_pb(i.state),
        cell_path=i.cell_path,
        host=i.host,
        flavor=resources_to_pb(i.flavor),
        image=i.image,
        ports=[pb.Port(network=p.network, mac=p.mac, ip=p.ip) for p in i.ports],
        created_at=_time_to_pb(i.created_at),
        updated_at=_time_to_pb(i.updated_at),
        project=i.project,
        request_id=i.request_id,
        fault=i.fault,
    )


def instance_from_pb(m: pb.Instance) -> Instance:
    return Instance(
        uuid=m.uuid,
        name=m.name,
        state=state_from_pb(m.state) or InstanceState.UNKNOWN,
        flavor=resources_from_pb(m.flavor),
        image=m.image,
        ports=tuple(Port(p.network, p.mac, p.ip) for p in m.ports),
        host=m.host,
        cell_path=m.cell_path,
        project=m.project,
        request_id=m.request_id,
        created_at=_time_from_pb(m, "created_at"),
        updated_at=_time_from_pb(m, "updated_at"),
        fault=m.fault,
    )


def boot_to_pb(spec: BootSpec) -> pb.BootRequest:
    return pb.BootRequest(
        request_id=spec.request_id,
        name=spec.name,
        flavor=resources_to_pb(spec.flavor),
        image=spec.image,
        ports=[pb.Port(network=p.network, mac=p.mac, ip=p.ip) for p in spec.ports],
        hints=dict(spec.hints),
        target_cell=spec.target_cell,
        project=spec.project,
        uuid=spec.uuid,
    )


def boot_from_pb(m: pb.BootRequest) -> BootSpec:
    """The spec as sent, unchecked: `routing.validate` decides if it is acceptable."""
    return BootSpec(
        uuid=m.uuid,
        request_id=m.request_id,
        name=m.name,
        flavor=resources_from_pb(m.flavor) if m.HasField("flavor") else Resources(),
        image=m.image,
        ports=tuple(Port(p.network, p.mac, p.ip) for p in m.ports),
        hints=tuple(sorted(m.hints.items())),
        project=m.project,
        target_cell=m.target_cell,
    )


# RPC method name for each action, and back.
CELLS = "/cellrouter.v1.Cells"  # the full name of the Cells service, as gRPC paths start

ACTION_METHODS: dict[Action, str] = {
    Action.PAUSE: "Pause",
    Action.UNPAUSE: "Unpause",
    Action.SUSPEND: "Suspend",
    Action.RESUME: "Resume",
    Action.REBOOT: "Reboot",
    Action.REBOOT_HARD: "Reboot",
    Action.STOP: "Stop",
    Action.START: "Start",
    Action.DELETE: "Delete",
}


_METHOD_ACTIONS = {name: action for action, name in ACTION_METHODS.items() if name != "Reboot"}


def action_of(method: str, request: object) -> Action | None:
    """The action a request of the Cells method `method` asks for; None for a
    read (Get, Locate)."""
    if isinstance(request, pb.RebootRequest):
        return Action.REBOOT_HARD if request.hard else Action.REBOOT
    return _METHOD_ACTIONS.get(method)


def action_request(uuid: str, action: Action, wait: bool) -> pb.ActionRequest | pb.RebootRequest:
    if action in (Action.REBOOT, Action.REBOOT_HARD):
        return pb.RebootRequest(uuid=uuid, wait=wait, hard=action is Action.REBOOT_HARD)
    return pb.ActionRequest(uuid=uuid, wait=wait)


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
        last_seen=_time_to_pb(n.last_seen),
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
        last_seen=_time_from_pb(m, "last_seen"),
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


# ---------------------------------------------------------------- agents

_HEARD: dict[Heard, pb.AgentHeard] = {
    Heard.NEW: pb.AGENT_NEW, Heard.ALIVE: pb.AGENT_ALIVE, Heard.REVIVED: pb.AGENT_REVIVED}
_HEARD_BACK: dict[int, Heard] = {int(v): k for k, v in _HEARD.items()}


def agent_report_to_pb(r: AgentReport) -> pb.AgentReport:
    return pb.AgentReport(id=r.id, host=r.host, kind=r.kind, capabilities=list(r.capabilities),
                          availability_zone=r.availability_zone, admin_up=r.admin_up,
                          load=r.load)


def agent_report_from_pb(m: pb.AgentReport) -> AgentReport:
    return AgentReport(m.id, m.host, m.kind, tuple(m.capabilities), m.availability_zone,
                       m.admin_up if m.HasField("admin_up") else True, m.load)


def heard_to_pb(heard: Heard) -> pb.AgentHeard:
    return _HEARD[heard]


def heard_from_pb(value: int) -> Heard:
    """InvalidArgument for a number no answer has."""
    if value not in _HEARD_BACK:
        raise InvalidArgument(f"unknown agent report answer number {value}")
    return _HEARD_BACK[value]


def agent_to_pb(a: Agent, cell_path: str) -> pb.AgentInfo:
    first = datetime.fromtimestamp(a.first_heard, UTC) if a.first_heard else None
    return pb.AgentInfo(report=agent_report_to_pb(a.report), alive=a.alive, enabled=a.enabled,
                        heard_ago_s=a.heard_ago, first_heard=_time_to_pb(first),
                        cell_path=cell_path)


def agent_from_pb(m: pb.AgentInfo) -> tuple[Agent, str]:
    """The agent, and the path of the leaf it reports to."""
    first = _time_from_pb(m, "first_heard")
    return (Agent(agent_report_from_pb(m.report), m.alive, m.enabled, m.heard_ago_s,
                  first.timestamp() if first else 0.0), m.cell_path)


# --------------------------------------------------------- service objects

_OBJECT_STATE: dict[ObjectState, pb.ObjectState] = {
    ObjectState.PENDING: pb.OBJECT_PENDING, ObjectState.ACTIVE: pb.OBJECT_ACTIVE,
    ObjectState.ERROR: pb.OBJECT_ERROR, ObjectState.DELETED: pb.OBJECT_DELETED}
_OBJECT_STATE_BACK: dict[int, ObjectState] = {int(v): k for k, v in _OBJECT_STATE.items()}


def object_state_from_pb(value: int) -> ObjectState:
    """InvalidArgument for a number no state has (UNSPECIFIED included)."""
    if value not in _OBJECT_STATE_BACK:
        raise InvalidArgument(f"unknown object state number {value}")
    return _OBJECT_STATE_BACK[value]


def object_state_to_pb(state: ObjectState) -> pb.ObjectState:
    return _OBJECT_STATE[state]


def place_to_pb(s: PlaceSpec) -> pb.PlaceRequest:
    return pb.PlaceRequest(request_id=s.request_id, name=s.name, kind=s.kind,
                           needs=list(s.needs), hints=dict(s.hints), project=s.project)


def place_from_pb(m: pb.PlaceRequest) -> PlaceSpec:
    return PlaceSpec(m.request_id, m.name, m.kind, tuple(m.needs), tuple(sorted(m.hints.items())),
                     m.project)


def object_to_pb(o: ServiceObject) -> pb.ServiceObject:
    s = o.spec
    return pb.ServiceObject(uuid=o.uuid, request_id=s.request_id, name=s.name, kind=s.kind,
                            needs=list(s.needs), hints=dict(s.hints), project=s.project,
                            agent=o.agent, cell_path=o.cell_path,
                            state=object_state_to_pb(o.state), fault=o.fault,
                            revision=o.revision)


def object_from_pb(m: pb.ServiceObject) -> ServiceObject:
    spec = PlaceSpec(m.request_id, m.name, m.kind, tuple(m.needs),
                     tuple(sorted(m.hints.items())), m.project)
    return ServiceObject(m.uuid, spec, m.agent, m.cell_path, object_state_from_pb(m.state),
                         m.fault, m.revision)


def binding_to_pb(e: BindingEvent) -> pb.BindingEvent:
    return pb.BindingEvent(revision=e.revision, bound=e.bound, caught_up=e.caught_up,
                           object=object_to_pb(e.object) if e.object is not None else None)


def binding_from_pb(m: pb.BindingEvent) -> BindingEvent:
    return BindingEvent(m.revision, object_from_pb(m.object) if m.HasField("object") else None,
                        m.bound, m.caught_up)
