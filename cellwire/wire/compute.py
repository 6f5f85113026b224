"""Compute on the wire: instance states, instances, boots, and actions."""

from __future__ import annotations

from cellrouter.v1 import cells_pb2 as pb
from cellwire.wire.attributes import attributes_from_pb, attributes_to_pb
from cellwire.wire.scalars import resources_from_pb, resources_to_pb, time_from_pb, time_to_pb
from model.compute import (
    NO_ATTRIBUTES,
    Action,
    BootSpec,
    Instance,
    InstanceState,
    Port,
    Resources,
)
from model.errors import InvalidArgument

# --------------------------------------------------------------- states

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


# -------------------------------------------------------------- instances


def instance_to_pb(i: Instance) -> pb.Instance:
    m = pb.Instance(
        uuid=i.uuid,
        name=i.name,
        state=state_to_pb(i.state),
        cell_path=i.cell_path,
        host=i.host,
        flavor=resources_to_pb(i.flavor),
        image=i.image,
        ports=[port_to_pb(p) for p in i.ports],
        created_at=time_to_pb(i.created_at),
        updated_at=time_to_pb(i.updated_at),
        project=i.project,
        request_id=i.request_id,
        fault=i.fault,
    )
    if i.attributes is not NO_ATTRIBUTES:
        m.attributes.CopyFrom(attributes_to_pb(i.attributes))
    return m


def instance_from_pb(m: pb.Instance) -> Instance:
    return Instance(
        uuid=m.uuid,
        name=m.name,
        state=state_from_pb(m.state) or InstanceState.UNKNOWN,
        flavor=resources_from_pb(m.flavor),
        image=m.image,
        ports=tuple(port_from_pb(p) for p in m.ports),
        host=m.host,
        cell_path=m.cell_path,
        project=m.project,
        request_id=m.request_id,
        created_at=time_from_pb(m, "created_at"),
        updated_at=time_from_pb(m, "updated_at"),
        fault=m.fault,
        attributes=attributes_from_pb(m.attributes) if m.HasField("attributes")
        else NO_ATTRIBUTES,
    )


def port_to_pb(p: Port) -> pb.Port:
    return pb.Port(network=p.network, mac=p.mac, ip=p.ip, id=p.port_id)


def port_from_pb(m: pb.Port) -> Port:
    return Port(m.network, m.mac, m.ip, port_id=m.id)


def boot_to_pb(spec: BootSpec) -> pb.BootRequest:
    m = pb.BootRequest(
        request_id=spec.request_id,
        name=spec.name,
        flavor=resources_to_pb(spec.flavor),
        image=spec.image,
        ports=[port_to_pb(p) for p in spec.ports],
        hints=dict(spec.hints),
        target_cell=spec.target_cell,
        project=spec.project,
        uuid=spec.uuid,
    )
    if spec.attributes is not NO_ATTRIBUTES:
        m.attributes.CopyFrom(attributes_to_pb(spec.attributes))
    return m


def boot_from_pb(m: pb.BootRequest) -> BootSpec:
    """The spec as sent, unchecked: `routing.validate` decides if it is acceptable."""
    return BootSpec(
        uuid=m.uuid,
        request_id=m.request_id,
        name=m.name,
        flavor=resources_from_pb(m.flavor) if m.HasField("flavor") else Resources(),
        image=m.image,
        ports=tuple(port_from_pb(p) for p in m.ports),
        hints=tuple(sorted(m.hints.items())),
        project=m.project,
        target_cell=m.target_cell,
        attributes=attributes_from_pb(m.attributes) if m.HasField("attributes")
        else NO_ATTRIBUTES,
    )


# ---------------------------------------------------------------- actions

# RPC method name for each action, and back.
ACTION_METHODS: dict[Action, str] = {
    Action.PAUSE: "Pause",
    Action.UNPAUSE: "Unpause",
    Action.SUSPEND: "Suspend",
    Action.RESUME: "Resume",
    Action.REBOOT: "Reboot",
    Action.REBOOT_HARD: "Reboot",
    Action.STOP: "Stop",
    Action.START: "Start",
    Action.SHELVE: "Shelve",
    Action.SHELVE_OFFLOAD: "ShelveOffload",
    Action.UNSHELVE: "Unshelve",
    Action.DELETE: "Delete",
}


_METHOD_ACTIONS = {name: action for action, name in ACTION_METHODS.items() if name != "Reboot"}


def action_of(method: str, request: object) -> Action | None:
    """The action a request of the Cells method `method` asks for; None for a
    read (Get, Locate)."""
    if isinstance(request, pb.RebootRequest):
        return Action.REBOOT_HARD if request.hard else Action.REBOOT
    return _METHOD_ACTIONS.get(method)


def action_request(uuid: str, action: Action, wait: bool, host: str = "",
                   ) -> pb.ActionRequest | pb.RebootRequest | pb.UnshelveRequest:
    """The request of `action`; `host` is where an unshelve goes ("": the leaf chooses)."""
    if action in (Action.REBOOT, Action.REBOOT_HARD):
        return pb.RebootRequest(uuid=uuid, wait=wait, hard=action is Action.REBOOT_HARD)
    if action is Action.UNSHELVE:
        return pb.UnshelveRequest(uuid=uuid, wait=wait, host=host)
    return pb.ActionRequest(uuid=uuid, wait=wait)
