"""Hosts (admins), as Nova's os-hosts, deprecated and gone from 2.43 (404).

    GET /v2.1/os-hosts[?zone=Z]                 every service's host: host_name,
                                                service (compute, scheduler), zone
    GET /v2.1/os-hosts/{host}                   a compute host's resources: total,
                                                used_now, used_max, then per project
    PUT /v2.1/os-hosts/{host}                   status, maintenance_mode
    GET /v2.1/os-hosts/{host}/reboot|shutdown|startup

The hosts are the tree's (api.compute.fleet). used_now is what the host's
leaf reports in use; used_max and the projects' rows add up the flavors of
the instances the tree lists on the host. The tree cannot enable, disable,
put in maintenance or power a host through any call (a host's `enabled` is
its leaf's configuration), so those answer 501 for a host that exists, as
Nova does where its driver cannot, and 404 for one that does not.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web

from api.compute.fleet import TreeHost, admin_only, hosts, instances_in, services, topology
from api.errors import BadRequest, ItemNotFound, Unsupported
from api.microversion import Version
from api.state import json_body, version
from model.compute import Resources

REMOVED = Version(2, 43)
_RULE = "os_compute_api:os-hosts:{}"
_SWITCH = frozenset({"enable", "disable"})
_CANNOT = ("the tree cannot change or power a host through its API: a host's `enabled`"
           " is its leaf's configuration ([[leaf.hosts]]).")


def _served(request: web.Request) -> None:
    """Nova's os-hosts stops at 2.42: above, no such resource."""
    if version(request) >= REMOVED:
        raise ItemNotFound("The resource could not be found.")


async def index(request: web.Request) -> web.Response:
    _served(request)
    admin_only(request, _RULE.format("list"))
    zone = request.query.get("zone", "")
    found = [{"host_name": s.host, "service": s.binary.removeprefix("nova-"), "zone": s.zone}
             for s in services(await topology(request)) if not zone or s.zone == zone]
    return web.json_response({"hosts": found})


async def show(request: web.Request) -> web.Response:
    _served(request)
    admin_only(request, _RULE.format("show"))
    host = await _find(request, request.match_info["host"])
    on_host = [i for i in await instances_in(request, [host.cell.path])
               if i.host == host.name and i.cell_path.startswith(host.cell.path)]
    per_project: dict[str, Resources] = defaultdict(Resources)
    for instance in on_host:
        per_project[instance.project] += instance.flavor
    used_max = sum(per_project.values(), Resources())
    rows = [("(total)", host.capacity.total), ("(used_now)", host.capacity.used),
            ("(used_max)", used_max), *sorted(per_project.items())]
    return web.json_response({"host": [_resource(host.name, p, r) for p, r in rows]})


def _resource(host: str, project: str, amount: Resources) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project, "cpu": amount.vcpus,
                         "memory_mb": amount.memory_mb, "disk_gb": amount.disk_gb}}


async def update(request: web.Request) -> web.Response:
    _served(request)
    _check_update(await json_body(request))
    admin_only(request, _RULE.format("update"))
    host = await _find(request, request.match_info["host"])
    raise Unsupported(f"Host {host.name} cannot be changed: {_CANNOT}")


def _check_update(body: dict[str, Any]) -> None:
    """The body of PUT /os-hosts/{host}, as Nova's schema for it."""
    given = {k: v for k, v in body.items() if k in ("status", "maintenance_mode")}
    if (set(body) - set(given) or not given
            or any(not isinstance(v, str) or v.lower() not in _SWITCH for v in given.values())):
        raise BadRequest("Invalid input: give status or maintenance_mode, each"
                         " 'enable' or 'disable'.")


async def power(request: web.Request) -> web.Response:
    _served(request)
    action = request.match_info["action"]
    admin_only(request, _RULE.format(action))
    host = await _find(request, request.match_info["host"])
    raise Unsupported(f"Host {host.name} cannot {action}: {_CANNOT}")


async def _find(request: web.Request, name: str) -> TreeHost:
    """The compute host `name`; 404 as Nova's when there is none."""
    found = next((h for h in hosts(await topology(request)) if h.name == name), None)
    if found is None:
        raise ItemNotFound(f"Compute host {name[:64]} could not be found.")
    return found


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-hosts", index)
    app.router.add_get("/v2.1/os-hosts/{host}", show)
    app.router.add_put("/v2.1/os-hosts/{host}", update)
    for action in ("reboot", "shutdown", "startup"):
        app.router.add_get(f"/v2.1/os-hosts/{{host}}/{{action:{action}}}", power)
