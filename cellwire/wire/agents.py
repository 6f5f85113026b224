"""Agents and service objects on the wire: an agent's report and the cell's
answer, what a cell knows of an agent, objects and their binding events."""

from __future__ import annotations

from datetime import UTC, datetime

from cellrouter.v1 import cells_pb2 as pb
from cellwire.wire.scalars import time_from_pb, time_to_pb
from model.agents import (
    Agent,
    AgentReport,
    BindingEvent,
    Heard,
    ObjectState,
    PlaceSpec,
    ServiceObject,
)
from model.errors import InvalidArgument

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
                        heard_ago_s=a.heard_ago, first_heard=time_to_pb(first),
                        cell_path=cell_path)


def agent_from_pb(m: pb.AgentInfo) -> tuple[Agent, str]:
    """The agent, and the path of the leaf it reports to."""
    first = time_from_pb(m, "first_heard")
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
