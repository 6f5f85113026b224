"""A server's diagnostics (admins only), as Nova's servers/{id}/diagnostics.

    GET /v2.1/servers/{id}/diagnostics

    since  what changes
    2.48   the standard body, the same for every driver (state, driver,
           hypervisor, ..., memory_details, cpu_details, nic_details,
           disk_details); before it each driver wrote its own free-form body

Made from what the tree knows of the server (its state, flavor, ports, image
and when it was made) and the driver of its leaf (the topology); the tree
gathers no counters from a guest, so every counter (CPU time, memory used,
bytes and packets) is null, as Nova writes one a driver does not give.

    state         the power state of the server's state; "pending" (Nova's
                  word for no state) when the tree does not know it
    driver        "libvirt" for a libvirt leaf, and for a fake one (as Nova's fake
                  driver answers); another driver has no standard body (501)
    hypervisor    os-hypervisors' hypervisor_type of the leaf's driver
    uptime        seconds since the server was made (Nova's: since its launch;
                  the tree keeps no separate launch time)
    num_cpus      the flavor's vCPUs, each in cpu_details with its id
    memory_details maximum: the flavor's MB
    num_nics      its ports, each in nic_details with its MAC
    num_disks     one root disk when it boots from an image, else none
    config_drive  false: the tree makes no config drive

Before 2.48 the free-form body is the standard one's single values and its
memory_details, with the leaf's own driver name. Nova looks the server up
before it checks who asks: a member gets 404 for a server not theirs and 403
for their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.compute import server_edits
from api.compute.fleet import admin_only, topology
from api.compute.hypervisors import hypervisor_type
from api.errors import Conflict, Unsupported
from api.microversion import Version
from api.state import not_found, version
from model.cells import CellNode
from model.compute import Instance, InstanceState

STANDARD = Version(2, 48)
_RULE = "os_compute_api:os-server-diagnostics"
# The tree's driver -> Nova's driver name in the standard body (Nova's fake
# driver calls itself libvirt there too).
DRIVERS = {"libvirt": "libvirt", "fake": "libvirt"}
POWER = {InstanceState.ACTIVE: "running", InstanceState.PAUSED: "paused",
         InstanceState.SUSPENDED: "suspended", InstanceState.STOPPED: "shutdown"}
_NIC_COUNTERS = ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate",
                 "tx_octets", "tx_errors", "tx_drop", "tx_packets", "tx_rate")
_DISK_COUNTERS = ("read_bytes", "read_requests", "write_bytes", "write_requests",
                  "errors_count")


def standard(instance: Instance, driver: str, now: datetime) -> dict[str, Any]:
    """The 2.48 body of `instance` in a leaf of `driver` (one of DRIVERS)."""
    return _single_values(instance, DRIVERS[driver], driver, now) | {
        "memory_details": {"maximum": instance.flavor.memory_mb, "used": None},
        "cpu_details": [{"id": n, "time": None, "utilisation": None}
                        for n in range(instance.flavor.vcpus)],
        "nic_details": [{"mac_address": port.mac or None} | dict.fromkeys(_NIC_COUNTERS)
                        for port in instance.ports],
        "disk_details": [dict.fromkeys(_DISK_COUNTERS) for _ in range(_disks(instance))]}


def free_form(instance: Instance, driver: str, now: datetime) -> dict[str, Any]:
    """The body before 2.48: single values and memory, with the leaf's own driver."""
    return _single_values(instance, driver or "unknown", driver, now) | {
        "memory_details": {"maximum": instance.flavor.memory_mb, "used": None}}


def _single_values(instance: Instance, named: str, driver: str,
                   now: datetime) -> dict[str, Any]:
    made = instance.created_at
    if made is not None and made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    return {"state": POWER.get(instance.state, "pending"), "driver": named,
            "hypervisor": hypervisor_type(driver), "hypervisor_os": None,
            "uptime": int((now - made).total_seconds()) if made else None,
            "config_drive": False, "num_cpus": instance.flavor.vcpus,
            "num_nics": len(instance.ports), "num_disks": _disks(instance)}


def _disks(instance: Instance) -> int:
    return 1 if instance.image else 0  # the root disk every driver here makes of the image


def leaf_driver(top: CellNode, path: str) -> str:
    """The driver of the leaf at `path`; "" when the topology does not show it."""
    return next((cell.driver for cell in top.walk() if cell.path == path), "")


async def show(request: web.Request) -> web.Response:
    instance = await _server(request)
    admin_only(request, _RULE)
    if not instance.host:
        raise Conflict(f"Instance {instance.uuid} is not ready")
    driver, now = leaf_driver(await topology(request), instance.cell_path), datetime.now(UTC)
    if version(request) < STANDARD:
        return web.json_response(free_form(instance, driver, now))
    if driver not in DRIVERS:
        raise Unsupported(f"The leaf of server {instance.uuid} runs the"
                          f" {driver or 'unknown'} driver, which has no standard diagnostics.")
    return web.json_response(standard(instance, driver, now))


async def _server(request: web.Request) -> Instance:
    instance = await server_edits.current(request)
    if instance.state is InstanceState.DELETED:
        raise not_found("Instance", instance.uuid)
    return instance


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/servers/{id}/diagnostics", show)
