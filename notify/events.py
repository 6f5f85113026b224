"""The event contract: event types and their versioned payloads.

Event types are Nova's where Nova has the event (`instance.pause.start`, ...,
`instance.update`), and the tree's own otherwise (`host.down`, `cell.up`,
`service_object.bound`). A payload is a versioned object as Nova sends one:
`{"nova_object.name", "nova_object.namespace", "nova_object.version",
"nova_object.data"}`, its data named with Nova's field names where Nova has
the field (uuid, display_name, state, power_state, task_state, tenant_id,
user_id, host, node, flavor, image_uuid, created_at, request_id, fault) and
the tree's own beside them (cell_path). The namespace is "cellrouter": the
version numbers are this module's, not Nova's.

Bumping PAYLOAD_VERSION: a new optional field is a minor bump (1.0 -> 1.1); a
field removed or changed in meaning is a major one. notify/schemas/
notification.json changes with it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from model.agents import ServiceObject
from model.compute import Action, Instance, InstanceState

NAMESPACE = "cellrouter"
PAYLOAD_VERSION = "1.0"

CREATE_START = "instance.create.start"
CREATE_END = "instance.create.end"
CREATE_ERROR = "instance.create.error"
UPDATE = "instance.update"  # a state found by reconciliation, not by an action here
HOST_DOWN, HOST_UP = "host.down", "host.up"
CELL_DOWN, CELL_UP = "cell.down", "cell.up"  # a router's, of a child
OBJECT_BOUND, OBJECT_MOVED = "service_object.bound", "service_object.moved"  # a leaf's
OBJECT_DELETE = "service_object.delete"

# Each action's name in its event types (Nova's: a stop is instance.power_off.*).
ACTION_NAMES: Mapping[Action, str] = {
    Action.PAUSE: "pause", Action.UNPAUSE: "unpause", Action.SUSPEND: "suspend",
    Action.RESUME: "resume", Action.REBOOT: "reboot", Action.REBOOT_HARD: "reboot",
    Action.STOP: "power_off", Action.START: "power_on", Action.SHELVE: "shelve",
    Action.SHELVE_OFFLOAD: "shelve_offload", Action.UNSHELVE: "unshelve",
    Action.DELETE: "delete",
}

# Nova's vm_state and power_state for each state of ours.
_VM_STATES: Mapping[InstanceState, tuple[str, str]] = {
    InstanceState.BUILDING: ("building", "pending"),
    InstanceState.ACTIVE: ("active", "running"),
    InstanceState.PAUSED: ("paused", "paused"),
    InstanceState.SUSPENDED: ("suspended", "suspended"),
    InstanceState.STOPPED: ("stopped", "shutdown"),
    InstanceState.SHELVED: ("shelved", "shutdown"),
    InstanceState.SHELVED_OFFLOADED: ("shelved_offloaded", "shutdown"),
    InstanceState.DELETED: ("deleted", "nostate"),
    InstanceState.ERROR: ("error", "nostate"),
    InstanceState.UNKNOWN: ("error", "nostate"),
}


def action_event(action: Action, phase: str) -> str:
    """`instance.<Nova's name of the action>.<phase>` (phase: start or end)."""
    return f"instance.{ACTION_NAMES[action]}.{phase}"


REBUILD_START, REBUILD_END = "instance.rebuild.start", "instance.rebuild.end"


@dataclass(frozen=True, slots=True)
class Event:
    """One notification before it is sent: what happened, of what, when."""

    event_type: str
    payload: Mapping[str, Any]  # a versioned object (`versioned`)
    uuid: str = ""  # the instance or service object it tells of ("" for a host's or a cell's)
    at: float = field(default_factory=time.time)


def versioned(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"nova_object.name": name, "nova_object.namespace": NAMESPACE,
            "nova_object.version": PAYLOAD_VERSION, "nova_object.data": dict(data)}


def instance_event(event_type: str, instance: Instance, *, request_id: str = "",
                   flavor_name: str = "", fault: str = "", old_state: str = "",
                   at: float | None = None) -> Event:
    """An event of `instance` (its state as the change left it). `old_state`
    (an instance.update): the state last told before this one."""
    data = instance_data(instance, request_id, flavor_name, fault)
    name = "InstanceActionPayload"
    if event_type == UPDATE:
        name = "InstanceUpdatePayload"
        old = _VM_STATES.get(InstanceState(old_state), ("error", "")) if old_state else None
        data["state_update"] = versioned("InstanceStateUpdatePayload", {
            "old_state": old[0] if old else None, "state": data["state"]})
    return Event(event_type, versioned(name, data), instance.uuid,
                 time.time() if at is None else at)


def instance_data(instance: Instance, request_id: str = "", flavor_name: str = "",
                  fault: str = "") -> dict[str, Any]:
    vm_state, power_state = _VM_STATES[instance.state]
    size = instance.flavor
    reason = fault or instance.fault
    return {
        "uuid": instance.uuid,
        "display_name": instance.name,
        "state": vm_state,
        "power_state": power_state,
        "task_state": None,
        "tenant_id": instance.project,
        "user_id": "",  # calls below a cell carry no user (model.principal)
        "host": instance.host or None,
        "node": instance.host or None,
        "flavor": versioned("FlavorPayload", {
            "name": flavor_name, "vcpus": size.vcpus, "memory_mb": size.memory_mb,
            "root_gb": size.disk_gb, "ephemeral_gb": 0, "swap": 0}),
        "image_uuid": instance.image,
        "created_at": _iso(instance.created_at),
        "request_id": request_id or instance.request_id or None,
        "cell_path": instance.cell_path,
        "fault": versioned("ExceptionPayload", {"exception": "Error",
                                                "exception_message": reason})
        if reason else None,
    }


def host_event(event_type: str, host: str, cell_path: str, at: float | None = None) -> Event:
    """host.down or host.up: a hypervisor host of a leaf found so."""
    return Event(event_type, versioned("HostStatusPayload", {
        "host": host, "cell_path": cell_path, "up": event_type == HOST_UP}),
        at=time.time() if at is None else at)


def cell_event(event_type: str, cell_path: str, router_path: str,
               at: float | None = None) -> Event:
    """cell.down or cell.up: a child (`cell_path`) found so by its router."""
    return Event(event_type, versioned("CellStatusPayload", {
        "cell_path": cell_path, "up": event_type == CELL_UP, "router_path": router_path}),
        at=time.time() if at is None else at)


def object_event(event_type: str, obj: ServiceObject, cell_path: str,
                 previous_agent: str = "", at: float | None = None) -> Event:
    """service_object.bound, .moved (from `previous_agent`) or .delete: `obj`
    as the change left it, in the leaf at `cell_path`. Its project is named
    tenant_id, as an instance's is (web hooks scope by it)."""
    spec = obj.spec
    return Event(event_type, versioned("ServiceObjectPayload", {
        "uuid": obj.uuid, "name": spec.name, "kind": spec.kind, "tenant_id": spec.project,
        "agent": obj.agent, "previous_agent": previous_agent or None,
        "state": obj.state.value.lower(), "cell_path": cell_path,
        "request_id": spec.request_id or None}),
        obj.uuid, time.time() if at is None else at)


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
