"""Availability zones: the zones a user may name at create, as Nova lists them.

    GET /v2.1/os-availability-zone          every user: each zone, available or not
    GET /v2.1/os-availability-zone/detail   admins: each zone's hosts and services,
                                            and the "internal" zone of the routers

A zone is a leaf cell (api.compute.fleet): available while the leaf is up and
has a host up. No microversion changes these bodies.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute.fleet import Service, admin_only, hosts, leaves, services, topology
from model.cells import CellNode

DETAIL_RULE = "os_compute_api:os-availability-zone:detail"


def zone_list(top: CellNode) -> dict[str, Any]:
    """The body of the plain list: every zone, hosts null."""
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": up}, "hosts": None}
        for name, up in _zones(top).items()]}


def zone_detail(top: CellNode) -> dict[str, Any]:
    """The admins' body: each zone's hosts with their services, and the
    "internal" zone of the routers' schedulers."""
    by_zone: dict[str, dict[str, Any]] = {name: {} for name in _zones(top)}
    for service in services(top):
        hosted = by_zone.setdefault(service.zone, {}).setdefault(service.host, {})
        hosted[service.binary] = _state(service)
    return {"availabilityZoneInfo": [
        {"zoneName": name,
         "zoneState": {"available": any(
             s["available"] for h in found.values() for s in h.values())},
         "hosts": found or None}
        for name, found in by_zone.items()]}


def _zones(top: CellNode) -> dict[str, bool]:
    """Each zone's name and whether it takes instances now; two leaves of one
    name (in different branches) are one zone, as the name is all users give."""
    zones = {leaf.name: False for leaf in leaves(top)}
    for host in hosts(top):
        zones[host.zone] = zones[host.zone] or host.up
    return zones


def _state(service: Service) -> dict[str, Any]:
    when = service.updated_at
    return {"available": service.up, "active": True,
            "updated_at": when.strftime("%Y-%m-%dT%H:%M:%S.%f") if when else None}


async def index(request: web.Request) -> web.Response:
    return web.json_response(zone_list(await topology(request)))


async def detail(request: web.Request) -> web.Response:
    admin_only(request, DETAIL_RULE)
    return web.json_response(zone_detail(await topology(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-availability-zone", index)
    app.router.add_get("/v2.1/os-availability-zone/detail", detail)
