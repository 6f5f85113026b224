"""How the oVirt driver speaks to the engine: a VM's description (the JSON
cellrouter keeps in it), a VM read as an instance, the Correlation-Id header,
and the SDK's errors, translated into the virt error tree in one place,
`translated`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ovirtsdk4 as sdk

from model.compute import BootSpec, Instance, InstanceState, Port, Resources
from model.context import REQUEST_ID
from virt.errors import (
    DRIVER_ERRORS,
    DriverMisconfigured,
    HypervisorUnavailable,
    IllegalTransition,
    InstanceNotFound,
    InvalidSpec,
    VirtError,
)

TAG = "cellrouter:"
MIB = 1024 * 1024
# oVirt status -> cellrouter state. Transitional states count as where they lead.
_STATES = {
    "up": InstanceState.ACTIVE,
    "powering_down": InstanceState.ACTIVE,
    "reboot_in_progress": InstanceState.ACTIVE,
    "migrating": InstanceState.ACTIVE,
    "down": InstanceState.STOPPED,
    "suspended": InstanceState.SUSPENDED,
    "saving_state": InstanceState.SUSPENDED,
    "restoring_state": InstanceState.ACTIVE,
    "paused": InstanceState.PAUSED,
    "image_locked": InstanceState.BUILDING,
    "wait_for_launch": InstanceState.BUILDING,
    "powering_up": InstanceState.BUILDING,
}
# Statuses a VM passes through on its way somewhere: wait them out.
MOVING = {"image_locked", "wait_for_launch", "powering_up", "powering_down",
          "saving_state", "restoring_state", "reboot_in_progress", "migrating"}
_SAFE_ID = re.compile(r"[^0-9a-zA-Z_-]")


# ------------------------------------------------------------ descriptions

def description(spec: BootSpec) -> str:
    """What a VM made for `spec` carries in its description."""
    return TAG + json.dumps({
        "uuid": spec.uuid, "request_id": spec.request_id, "name": spec.name,
        "project": spec.project, "image": spec.image, "disk_gb": spec.flavor.disk_gb,
        # oVirt's NIC has no IP (the guest agent reports it once the guest runs):
        # the ports, IPs included, are kept here as asked.
        "ports": [[p.network, p.mac, p.ip] for p in spec.ports],
        "created_at": datetime.now(UTC).isoformat(),
    }, separators=(",", ":"))


def meta(vm: Any) -> dict[str, Any]:
    """The description of a VM cellrouter made, read back; {} for any other VM."""
    text = vm.description or ""
    if not text.startswith(TAG):
        return {}
    try:
        found = json.loads(text[len(TAG):])
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def cpus(topology: Any) -> int:
    if topology is None:
        return 1
    return (topology.sockets or 1) * (topology.cores or 1) * (topology.threads or 1)


def instance_of(vm: Any, cluster: str) -> Instance:
    """The engine's VM as an instance on host `cluster`."""
    found = meta(vm)
    state, fault = _state(vm)
    created = found.get("created_at")
    return Instance(
        uuid=found.get("uuid") or vm.id,
        name=found.get("name") or vm.name or "",
        state=state,
        flavor=Resources(cpus(vm.cpu.topology) if vm.cpu else 0, (vm.memory or 0) // MIB,
                         int(found.get("disk_gb", 0))),
        image=found.get("image", ""),
        ports=tuple(Port(*p) for p in found.get("ports", [])),
        host=cluster,
        project=found.get("project", ""),
        request_id=found.get("request_id", ""),
        created_at=datetime.fromisoformat(created) if created else None,
        updated_at=datetime.now(UTC),
        fault=fault,
    )


def _state(vm: Any) -> tuple[InstanceState, str]:
    """The VM's state, and the fault that put it there (or "")."""
    status = str(vm.status)
    if status == "paused" and str(getattr(vm, "status_detail", "") or "") == "eio":
        return InstanceState.ERROR, "paused by an I/O error (eio)"
    return _STATES.get(status, InstanceState.UNKNOWN), ""


def correlation(fallback: str) -> dict[str, str]:
    """A Correlation-Id header, at most 36 of [0-9a-zA-Z_-]: the request id of
    the call being served, else `fallback`."""
    return {"Correlation-Id": _SAFE_ID.sub("-", REQUEST_ID.get() or fallback)[:36]}


# ------------------------------------------------------------------ errors

@contextlib.contextmanager
def translated() -> Iterator[None]:
    """The one place the SDK's errors become virt errors."""
    try:
        yield
    except DRIVER_ERRORS:
        raise
    except sdk.AuthError as exc:
        raise DriverMisconfigured(f"the oVirt engine refused the credentials: {exc}") from exc
    except sdk.NotFoundError as exc:
        raise InstanceNotFound(str(exc)) from exc
    except (sdk.ConnectionError, sdk.TimeoutError) as exc:
        raise HypervisorUnavailable(f"oVirt engine unreachable: {exc}") from exc
    except sdk.Error as exc:
        detail = error_detail(exc)
        if exc.code == 409:
            raise IllegalTransition("", "", "", [], detail=f"oVirt refused: {detail}") from exc
        if exc.code in (401, 403):
            raise DriverMisconfigured(f"oVirt refused access: {detail}") from exc
        if exc.code == 400:
            raise InvalidSpec(f"oVirt: {detail}") from exc
        raise VirtError(f"oVirt: {detail}") from exc


def error_detail(exc: Any) -> str:
    """What the engine said of a failure: its fault's detail or reason."""
    fault = getattr(exc, "fault", None)
    if fault is not None and (fault.detail or fault.reason):
        return str(fault.detail or fault.reason)
    return str(exc)
