"""The dashboard's endpoints, mounted on the API's application.

    GET  /dashboard/               the page (HTML, CSS and one script; no data in it)
    GET  /dashboard/static/NAME    the page's files, from this package
    GET  /dashboard/api/tree       the tree: every cell with its health and figures
    GET  /dashboard/api/instances  a page of instances: cell, project, state, name,
                                   limit, page (the token of the next page)
    POST /dashboard/api/plan       a placement dry run: {"flavor", "hints", "project"}
    GET  /dashboard/api/events     the tree's events as server-sent events (api.dashboard.events)

The page logs in through the identity endpoint as any OpenStack client does
and sends the token as X-Auth-Token on each data call: without one a call is
401, with a member's 403 (the dashboard shows the whole cloud: admins only).
There are no cookies, so another site's page cannot make a browser call here
on its user's behalf.

The tree is asked of the top at most once per `dashboard_refresh` seconds
however many pages poll it (one call in flight; the others wait for its
answer), so a wall of open dashboards costs the tree one Topology call per
interval.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from api.dashboard import views
from api.errors import BadRequest, Forbidden
from api.hints import scheduler_hints
from api.state import STATE, json_body, metadata, state, who
from model.cells import ListQuery
from model.compute import BootSpec, InstanceState, Resources
from model.errors import ResourceExhausted

PREFIX = "/dashboard"
# The page's files: nothing else under /dashboard/static is served.
FILES = {"index.html": "text/html", "dashboard.js": "text/javascript",
         "dashboard.css": "text/css"}
MAX_LIMIT = 1000  # instances in one page
MAX_TEXT = 255  # characters in one query parameter
_PROJECT = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_=-]{1,1024}")


def add_routes(app: web.Application) -> None:
    files = {name: resources.files("api.dashboard").joinpath("static", name).read_bytes()
             for name in FILES}
    app[_DASHBOARD] = Dashboard(files, TreeWatch(app[STATE].config.dashboard_refresh))
    add = app.router
    add.add_get(PREFIX, _to_page)
    add.add_get(f"{PREFIX}/", _page)
    add.add_get(f"{PREFIX}/static/{{name}}", _static)
    add.add_get(f"{PREFIX}/api/tree", _tree)
    add.add_get(f"{PREFIX}/api/instances", _instances)
    add.add_post(f"{PREFIX}/api/plan", _plan)


def open_path(path: str) -> bool:
    """Whether `path` is one of the dashboard's pages or files (no token needed)."""
    if path in (PREFIX, f"{PREFIX}/"):
        return True
    name = path.removeprefix(f"{PREFIX}/static/")
    return name != path and name in FILES


async def _to_page(request: web.Request) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": f"{PREFIX}/"})


async def _page(request: web.Request) -> web.StreamResponse:
    return _file(request, "index.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound()
    return _file(request, name)


def _file(request: web.Request, name: str) -> web.Response:
    return web.Response(body=request.app[_DASHBOARD].files[name], content_type=FILES[name],
                        headers=_PAGE_HEADERS)


# The page runs only its own script and talks only to this origin.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _admin(request: web.Request) -> None:
    caller = who(request)  # the middleware answered 401 already for no token
    if not caller.admin:
        raise Forbidden(f"The dashboard shows the whole cloud: it is for admins, and"
                        f" user {caller.user_name} is a member of project {caller.project}.")


# ------------------------------------------------------------------- tree


class TreeWatch:
    """The tree as the top last answered Topology, asked again when older than
    `refresh` seconds; concurrent askers share one call."""

    def __init__(self, refresh: float) -> None:
        self.refresh = refresh
        self._body = b""
        self._taken = -float("inf")
        self._asking: asyncio.Task[bytes] | None = None

    async def body(self, request: web.Request) -> bytes:
        if time.monotonic() - self._taken < self.refresh:
            return self._body
        if self._asking is None:
            self._asking = asyncio.get_running_loop().create_task(self._ask(request))
            self._asking.add_done_callback(self._asked)
        return await asyncio.shield(self._asking)

    def _asked(self, task: asyncio.Task[bytes]) -> None:
        self._asking = None
        if not task.cancelled() and task.exception() is None:
            self._body, self._taken = task.result(), time.monotonic()

    async def _ask(self, request: web.Request) -> bytes:
        top = await state(request).tree.client.topology(metadata=metadata(request))
        flavors = state(request).config.flavors
        return json.dumps({
            "tree": views.cell(top),
            "refresh_s": self.refresh,
            "taken_at": time.time(),
            "flavors": [{"name": name, "vcpus": f.vcpus, "ram_mb": f.memory_mb,
                         "disk_gb": f.disk_gb} for name, f in flavors.items()],
        }, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Dashboard:
    files: dict[str, bytes]  # the page's, by name
    tree: TreeWatch


_DASHBOARD = web.AppKey("cellrouter_dashboard", Dashboard)


async def _tree(request: web.Request) -> web.StreamResponse:
    _admin(request)
    body = await request.app[_DASHBOARD].tree.body(request)
    return web.Response(body=body, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


# -------------------------------------------------------------- instances


async def _instances(request: web.Request) -> web.StreamResponse:
    _admin(request)
    query = instance_query(request.query)
    page = await state(request).tree.client.list(query, metadata=metadata(request))
    return web.json_response({
        "instances": [views.instance(i) for i in page.instances],
        "next": page.next_page_token,
        "unreachable_cells": list(page.unreachable_cells),
    }, headers={"Cache-Control": "no-store"})


def instance_query(params: Any) -> ListQuery:
    """The ListQuery a page's filters ask for; BadRequest for any value out of range."""
    unknown = sorted(set(params) - {"cell", "project", "state", "name", "limit", "page"})
    if unknown:
        raise BadRequest(f"Unknown filter {_shown(unknown[0])}; the filters are cell, project,"
                         " state, name, limit and page.")
    text = {key: _param(params, key) for key in ("cell", "project", "state", "name", "page")}
    if text["project"] and not _PROJECT.fullmatch(text["project"]):
        raise BadRequest(f"project {_shown(text['project'])} is not a project name"
                         " (letters, digits and _.@-, at most 64).")
    if text["page"] and not _TOKEN.fullmatch(text["page"]):
        raise BadRequest("page is not a page token this dashboard gave.")
    instance_state = None
    if text["state"]:
        try:
            instance_state = InstanceState(text["state"].upper())
        except ValueError:
            names = ", ".join(s.value for s in InstanceState)
            raise BadRequest(f"state {_shown(text['state'])} is none of {names}.") from None
    return ListQuery(limit=_limit(_param(params, "limit")), page_token=text["page"],
                     project=text["project"], state=instance_state, name_prefix=text["name"],
                     cell=text["cell"])


def _param(params: Any, key: str) -> str:
    values = params.getall(key, [])
    if len(values) > 1:
        raise BadRequest(f"{key} is given {len(values)} times; give it once.")
    value = str(values[0]) if values else ""
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{key} is {len(value)} characters long; the limit is {MAX_TEXT}.")
    return value


def _limit(text: str) -> int:
    if not text:
        return 50
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT},"
                         f" not {_shown(text)}.")
    return int(text)


def _shown(text: str) -> str:
    """A user's text, quoted and cut short, for a message."""
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


# ------------------------------------------------------------------ plan


async def _plan(request: web.Request) -> web.StreamResponse:
    _admin(request)
    spec = plan_spec(await json_body(request), state(request).config.flavors,
                     request_id=f"dry-run-{time.time_ns()}")
    try:
        placement = await state(request).tree.client.plan(spec, metadata=metadata(request))
    except ResourceExhausted as exc:  # nothing could take it: the tree says why
        return web.json_response(views.refused(exc.message))
    return web.json_response(views.placement(placement))


def plan_spec(body: dict[str, Any], flavors: Mapping[str, Resources],
              request_id: str) -> BootSpec:
    """The boot a dry run asks about; BadRequest for anything malformed."""
    unknown = sorted(set(body) - {"flavor", "hints", "project"})
    if unknown:
        raise BadRequest(f"Unknown field {_shown(unknown[0])}; a dry run takes flavor, hints"
                         " and project.")
    project = body.get("project", "")
    if not isinstance(project, str) or (project and not _PROJECT.fullmatch(project)):
        raise BadRequest("project must be a project name (letters, digits and _.@-,"
                         " at most 64).")
    return BootSpec(uuid="", request_id=request_id, name="dry-run",
                    flavor=_flavor(body.get("flavor"), flavors),
                    hints=tuple(sorted(scheduler_hints(body.get("hints", {})).items())),
                    project=project)


def _flavor(value: Any, flavors: Mapping[str, Resources]) -> Resources:
    if isinstance(value, str):
        if value not in flavors:
            known = ", ".join(sorted(flavors)) or "none configured"
            raise BadRequest(f"No flavor named {_shown(value)}; the flavors are: {known}.")
        return flavors[value]
    if isinstance(value, dict) and set(value) <= {"vcpus", "ram_mb", "disk_gb"}:
        sizes = [value.get(k, 0) for k in ("vcpus", "ram_mb", "disk_gb")]
        if all(type(n) is int and 0 <= n <= 2**31 - 1 for n in sizes) and sizes[0] >= 1:
            return Resources(*sizes)
    raise BadRequest('flavor must be a flavor\'s name or {"vcpus": N, "ram_mb": N,'
                     ' "disk_gb": N} with whole numbers (vcpus at least 1).')


