"""Simple tenant usage: what each project's servers used over a time window.

    GET /v2.1/os-simple-tenant-usage               admins: every project with usage;
                                                   detailed=1 adds each server's
    GET /v2.1/os-simple-tenant-usage/{project}     admins, or the project's members
    (both: start and end, UTC, as 2026-12-01T00:00:00[.ffffff]; each defaults to now)

Computed from the tree's instance list, as Nova computes it: a server counts
from its start to its end (or to the window's end while it runs), clipped to
the window, in hours; a project's totals are the hours times its servers'
vCPUs, MB and GB. A server starts at its `created_at` (the tree keeps no
separate launch time); one in a cell that does not answer, with no flavor
known, is left out. Lists are not paged (Nova pages from 2.40: limit, marker
are not read here).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.compute.fleet import admin_only, every_instance
from api.compute.views import STATES
from api.errors import BadRequest, Forbidden
from api.state import state, who
from model.cells import ListQuery
from model.compute import Instance, InstanceState, Resources

_RULE = "os_compute_api:os-simple-tenant-usage:{}"
_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def stamp(when: datetime) -> str:
    """Nova's form here: naive UTC with microseconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_time(text: str | None, now: datetime) -> datetime:
    if not text:
        return now
    for form in _FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest("Datetime is in invalid format")


def window(params: Any, now: datetime) -> tuple[datetime, datetime]:
    start, stop = parse_time(params.get("start"), now), parse_time(params.get("end"), now)
    if start > stop:  # (both left out: an empty window at now, as from Nova)
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, stop


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def server_usage(instance: Instance, flavor_name: str, start: datetime, stop: datetime,
                 now: datetime) -> dict[str, Any]:
    """One server's entry; `instance.created_at` is set (`counted` says so)."""
    assert instance.created_at is not None
    began = _utc(instance.created_at)
    ended = (_utc(instance.updated_at or now)
             if instance.state is InstanceState.DELETED else None)
    hours = max(0.0, ((min(stop, ended) if ended else stop) - max(began, start))
                .total_seconds() / 3600) if began <= stop else 0.0
    return {"instance_id": instance.uuid, "name": instance.name,
            "tenant_id": instance.project, "flavor": flavor_name, "hours": hours,
            "vcpus": instance.flavor.vcpus, "memory_mb": instance.flavor.memory_mb,
            "local_gb": instance.flavor.disk_gb, "started_at": stamp(began),
            "ended_at": stamp(ended) if ended else None,
            "state": "terminated" if ended else (STATES[instance.state][1] or "unknown"),
            "uptime": int(((ended or now) - began).total_seconds())}


def counted(instance: Instance, start: datetime, stop: datetime) -> bool:
    """Whether `instance` ran within [start, stop], as far as the tree knows."""
    if instance.created_at is None or not instance.flavor.vcpus:
        return False  # not started, or a partial entry of a cell that did not answer
    ended = instance.updated_at if instance.state is InstanceState.DELETED else None
    return _utc(instance.created_at) <= stop and (ended is None or _utc(ended) >= start)


def tenant_usages(usages: list[dict[str, Any]], start: datetime, stop: datetime,
                  detailed: bool) -> dict[str, dict[str, Any]]:
    """Each project's totals over its servers' entries, in the order first seen."""
    by_project: dict[str, dict[str, Any]] = {}
    for usage in usages:
        total = by_project.setdefault(usage["tenant_id"], _empty(usage["tenant_id"],
                                                                 start, stop, detailed))
        total["total_hours"] += usage["hours"]
        total["total_vcpus_usage"] += usage["vcpus"] * usage["hours"]
        total["total_memory_mb_usage"] += usage["memory_mb"] * usage["hours"]
        total["total_local_gb_usage"] += usage["local_gb"] * usage["hours"]
        if detailed:
            total["server_usages"].append(usage)
    return by_project


def _empty(project: str, start: datetime, stop: datetime, detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"tenant_id": project, "start": stamp(start), "stop": stamp(stop),
                            "total_hours": 0.0, "total_vcpus_usage": 0.0,
                            "total_memory_mb_usage": 0.0, "total_local_gb_usage": 0.0}
    if detailed:
        body["server_usages"] = []
    return body


async def index(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("list"))
    detailed = request.query.get("detailed", "0") == "1"
    start, stop, usages = await _usages(request, "")
    found = tenant_usages(usages, start, stop, detailed)
    return web.json_response({"tenant_usages": list(found.values())})


async def show(request: web.Request) -> web.Response:
    project, caller = request.match_info["project"], who(request)
    if not caller.admin and caller.project != project:
        raise Forbidden(f"Policy doesn't allow {_RULE.format('show')} to be performed.")
    start, stop, usages = await _usages(request, project)
    found = tenant_usages(usages, start, stop, detailed=True)
    # A project without usage in the window is {}, as Nova answers it.
    return web.json_response({"tenant_usage": found.get(project, {})})


async def _usages(request: web.Request,
                  project: str) -> tuple[datetime, datetime, list[dict[str, Any]]]:
    now = datetime.now(UTC)
    start, stop = window(request.query, now)
    names = state(request).names.flavors
    instances = await every_instance(request, ListQuery(project=project, sort="created_at"))
    return start, stop, [server_usage(i, _flavor_name(names, i.flavor), start, stop, now)
                         for i in instances if counted(i, start, stop)]


def _flavor_name(names: Any, flavor: Resources) -> str:
    name: str = names.get(flavor, "")
    return name


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-simple-tenant-usage", index)
    app.router.add_get("/v2.1/os-simple-tenant-usage/{project}", show)
