"""Hypervisors (admins only): the tree's hosts, as Nova's os-hypervisors.

    GET /v2.1/os-hypervisors[/detail]          2.33+: limit, marker; 2.53+:
                                               hypervisor_hostname_pattern, with_servers
    GET /v2.1/os-hypervisors/statistics        before 2.88 (then 404, as Nova)
    GET /v2.1/os-hypervisors/{id}              2.53+: with_servers
    GET /v2.1/os-hypervisors/{id}/uptime       before 2.88 (then in show and detail)
    GET /v2.1/os-hypervisors/{name}/search     before 2.53 (then 404): hostname contains name
    GET /v2.1/os-hypervisors/{name}/servers    before 2.53: ...and their servers

    since  what changes
    2.28   cpu_info is an object, not a string holding one
    2.33   lists page by limit and marker (hypervisors_links)
    2.53   ids are uuids; a list's own filter and with_servers; /search, /servers gone
    2.88   vcpus, memory, disk, running_vms, cpu_info ... are gone (placement's
           now); show and detail have uptime; /statistics and /uptime gone

A host's figures are its leaf's report (HostSummary): totals in schedulable
units, allocation ratios applied; `state` is up while the host and its leaf
are; `status` is enabled (see api.compute.fleet for what the tree does not say).
Its uptime is how long this API process has seen it up (api.compute.host_uptime:
the tree reports no start times), in the form of `uptime`'s output; a host not
up has none (null; /uptime answers 400, as Nova for a compute service down).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web

from api.compute.fleet import (
    TreeHost,
    admin_only,
    hosts,
    instances_in,
    topology,
    uuid_in_path,
)
from api.compute.host_uptime import SIGHTINGS, HostSightings
from api.errors import BadRequest, ItemNotFound
from api.microversion import Version
from api.state import base_url, version
from model.cells import SEPARATOR, CellCapacity
from model.compute import Instance

CPU_INFO_OBJECT = Version(2, 28)
PAGES = Version(2, 33)
UUID_IDS = Version(2, 53)
TRIMMED = Version(2, 88)
_RULE = "os_compute_api:os-hypervisors:{}"
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_TYPES = {"libvirt": "QEMU", "fake": "fake", "ovirt": "ovirt"}  # the driver -> Nova's type


def hypervisor_type(driver: str) -> str:
    """Nova's hypervisor_type for a leaf's driver."""
    return _TYPES.get(driver, driver or "unknown")


class HypervisorView:
    """Hypervisor bodies at one microversion (`sightings`: for uptimes, from 2.88)."""

    def __init__(self, at: Version, sightings: HostSightings | None = None) -> None:
        self.at, self.sightings = at, sightings

    def ident(self, host: TreeHost) -> int | str:
        return host.ident(by_uuid=self.at >= UUID_IDS)

    def summary(self, host: TreeHost, servers: list[Instance] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.ident(host), "hypervisor_hostname": host.name,
                                "state": "up" if host.up else "down", "status": "enabled"}
        if servers is not None:
            body["servers"] = [{"uuid": s.uuid, "name": s.name} for s in servers]
        return body

    def detail(self, host: TreeHost, servers: list[Instance] | None = None) -> dict[str, Any]:
        """A host whole, as show and the detailed list give it."""
        body = self.summary(host, servers) | {
            "host_ip": None, "hypervisor_type": hypervisor_type(host.cell.driver),
            "hypervisor_version": 0,
            "service": {"host": host.name, "id": host.service().ident(self.at >= UUID_IDS),
                        "disabled_reason": None}}
        if self.at < TRIMMED:
            body |= figures(host) | {"cpu_info": {} if self.at >= CPU_INFO_OBJECT else "{}"}
        else:
            body["uptime"] = self.uptime(host)
        return body

    def uptime(self, host: TreeHost) -> str | None:
        return self.sightings.uptime(host) if self.sightings else None


def figures(host: TreeHost | None) -> dict[str, int]:
    """A host's figures (None: each figure 0)."""
    capacity = host.capacity if host else CellCapacity()
    total, used = capacity.total, capacity.used
    free = total - used
    return {"vcpus": total.vcpus, "vcpus_used": used.vcpus, "memory_mb": total.memory_mb,
            "memory_mb_used": used.memory_mb, "free_ram_mb": free.memory_mb,
            "local_gb": total.disk_gb, "local_gb_used": used.disk_gb,
            "free_disk_gb": free.disk_gb, "disk_available_least": free.disk_gb,
            "running_vms": capacity.instances, "current_workload": 0}


def statistics(found: list[TreeHost]) -> dict[str, Any]:
    """The sums over every host, as Nova's (down hosts count too)."""
    totals: dict[str, int] = defaultdict(int, figures(None))
    for host in found:
        for key, value in figures(host).items():
            totals[key] += value
    return {"hypervisor_statistics": {"count": len(found), **totals}}


# ----------------------------------------------------------------- handlers


async def index(request: web.Request) -> web.Response:
    return await _list(request, "list", detail=False)


async def detail(request: web.Request) -> web.Response:
    return await _list(request, "list-detail", detail=True)


async def _list(request: web.Request, rule: str, detail: bool) -> web.Response:
    admin_only(request, _RULE.format(rule))
    at, params = version(request), request.query
    view = _view(request)
    found = sorted(await _hosts(request), key=lambda h: h.path)
    pattern = params.get("hypervisor_hostname_pattern") if at >= UUID_IDS else None
    if pattern is not None:
        if "limit" in params or "marker" in params:
            raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern"
                             " query parameter is not supported.")
        found = _matching(found, pattern)
    found, more = _page(request, view, found) if at >= PAGES else (found, False)
    servers = await _servers(request, found) if _with_servers(request) else None
    render = view.detail if detail else view.summary
    body: dict[str, Any] = {"hypervisors": [
        render(h, None if servers is None else servers[h.path]) for h in found]}
    if more:
        path = request.path.removeprefix("/v2.1")
        body["hypervisors_links"] = [{"rel": "next", "href": (
            f"{base_url(request)}/v2.1{path}?limit={len(found)}&marker={view.ident(found[-1])}")}]
    return web.json_response(body)


def _page(request: web.Request, view: HypervisorView,
          found: list[TreeHost]) -> tuple[list[TreeHost], bool]:
    params = request.query
    marker = params.get("marker")
    if marker is not None:
        ids = [str(view.ident(h)) for h in found]
        if marker not in ids:
            raise BadRequest(f"marker [{marker[:64]}] not found")
        found = found[ids.index(marker) + 1:]
    text = params.get("limit")
    if text is None:
        return found, False
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(f"limit must be a positive integer, not {text[:32]!r}.")
    limit = int(text)
    return found[:limit], len(found) >= limit


async def stats(request: web.Request) -> web.Response:
    if version(request) >= TRIMMED:
        raise ItemNotFound("The resource could not be found.")
    admin_only(request, _RULE.format("statistics"))
    return web.json_response(statistics(await _hosts(request)))


async def show(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("show"))
    host, view = await _one(request), _view(request)
    servers = (await _servers(request, [host]))[host.path] if _with_servers(request) else None
    return web.json_response({"hypervisor": view.detail(host, servers)})


async def uptime(request: web.Request) -> web.Response:
    if version(request) >= TRIMMED:
        raise ItemNotFound("The resource could not be found.")
    admin_only(request, _RULE.format("uptime"))
    host, view = await _one(request), _view(request)
    line = view.uptime(host)
    if line is None:
        raise BadRequest(f"Compute service of {host.name} is unavailable at this time.")
    return web.json_response({"hypervisor": view.summary(host) | {"uptime": line}})


async def search(request: web.Request) -> web.Response:
    return await _by_name(request, "search", with_servers=False)


async def servers_on(request: web.Request) -> web.Response:
    return await _by_name(request, "servers", with_servers=True)


async def _by_name(request: web.Request, rule: str, with_servers: bool) -> web.Response:
    if version(request) >= UUID_IDS:
        raise ItemNotFound("The resource could not be found.")
    admin_only(request, _RULE.format(rule))
    view = _view(request)
    found = _matching(await _hosts(request), request.match_info["name"])
    if not with_servers:
        return web.json_response({"hypervisors": [view.summary(h) for h in found]})
    servers = await _servers(request, found)
    # Before 2.53 a hypervisor without servers has no `servers` key at all.
    return web.json_response({"hypervisors": [
        view.summary(h, servers[h.path] or None) for h in found]})


def _matching(found: list[TreeHost], pattern: str) -> list[TreeHost]:
    """Hosts whose name contains `pattern` (Nova's SQL LIKE %pattern%); 404 for none."""
    matched = [h for h in found if pattern in h.name]
    if not matched:
        raise ItemNotFound(f"No hypervisor matching '{pattern[:64]}' could be found.")
    return matched


async def _one(request: web.Request) -> TreeHost:
    """The host of the path's {id}: a number before 2.53, a uuid (else 400) after."""
    text, view = request.match_info["id"], _view(request)
    if view.at >= UUID_IDS:
        text = uuid_in_path(text)
    for host in await _hosts(request):
        if str(view.ident(host)) == text:
            return host
    raise ItemNotFound(f"Hypervisor with ID '{text[:64]}' could not be found.")


def _view(request: web.Request) -> HypervisorView:
    return HypervisorView(version(request), request.app[SIGHTINGS])


async def _hosts(request: web.Request) -> list[TreeHost]:
    """Every host of the tree, each sighting noted for its uptime."""
    found = hosts(await topology(request))
    request.app[SIGHTINGS].look(found)
    return found


def _with_servers(request: web.Request) -> bool:
    return (version(request) >= UUID_IDS
            and request.query.get("with_servers", "").lower() in _TRUE)


async def _servers(request: web.Request, found: list[TreeHost]) -> dict[str, list[Instance]]:
    """The instances on each host of `found`, by the host's path."""
    on: dict[str, list[Instance]] = {h.path: [] for h in found}
    for instance in await instances_in(request, [h.cell.path for h in found]):
        key = f"{instance.cell_path}{SEPARATOR}{instance.host}"
        if key in on:
            on[key].append(instance)
    return on


def add_routes(app: web.Application) -> None:
    app[SIGHTINGS] = HostSightings()
    add = app.router.add_get
    add("/v2.1/os-hypervisors", index)
    add("/v2.1/os-hypervisors/detail", detail)
    add("/v2.1/os-hypervisors/statistics", stats)
    add("/v2.1/os-hypervisors/{id}", show)
    add("/v2.1/os-hypervisors/{id}/uptime", uptime)
    add("/v2.1/os-hypervisors/{name}/search", search)
    add("/v2.1/os-hypervisors/{name}/servers", servers_on)
