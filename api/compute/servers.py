"""Servers: list, show, create and delete, as Nova's API has them.

    GET    /v2.1/servers[/detail]   name (a regular expression), status,
                                    project_id/all_tenants (admins), limit,
                                    marker, sort_key, sort_dir; others ignored
    GET    /v2.1/servers/{id}       404 for anything not a server you may see
    POST   /v2.1/servers            202 and Location; idempotent on the
                                    client's X-OpenStack-Request-ID
    DELETE /v2.1/servers/{id}       204

A placement that no cell can take is answered at once with 409 and the
tree's explanation, instead of a server that goes to ERROR later: the tree
places before it answers, so the API knows at once.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import replace
from typing import Any

from aiohttp import web

from api.compute.boot import boot_specs
from api.compute.views import BY_STATUS, ServerView
from api.errors import BadRequest, Conflict, ItemNotFound
from api.microversion import DOWN_CELLS
from api.state import base_url, json_body, metadata, request_id, state, version, who
from model.cells import SEPARATOR, InstancePage, ListQuery
from model.compute import Action, Instance, InstanceState, Resources
from model.errors import NotFound, ResourceExhausted, Unavailable
from routing.paging import MAX_PAGE, encode_token, sort_key

SORT_KEYS = {"name": "name", "display_name": "name", "created_at": "created_at"}


def view(request: web.Request) -> ServerView:
    config = state(request).config
    return ServerView(base_url(request), version(request), who(request).admin,
                      config.flavors, config.images)


def server_uuid(request: web.Request) -> str:
    """The {id} of the path; 404 (as Nova) when it is not a uuid."""
    text = request.match_info["id"]
    try:
        return str(uuidlib.UUID(text)) if len(text) == 36 else _not_a_server(text)
    except ValueError:
        return _not_a_server(text)


def _not_a_server(text: str) -> str:
    raise ItemNotFound(f"Instance {text[:64]} could not be found.")


async def show(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    client = state(request).tree.client
    try:
        instance = await client.get(uuid, metadata=metadata(request))
    except NotFound:
        raise ItemNotFound(f"Instance {uuid} could not be found.") from None
    except Unavailable:
        if version(request) < DOWN_CELLS:
            raise
        located = await client.locate(uuid, metadata=metadata(request))
        stub = Instance(uuid, "", InstanceState.UNKNOWN, Resources(), project=located.project)
        return web.json_response({"server": view(request).partial(stub)})
    return web.json_response({"server": view(request).detail(instance)})


async def index(request: web.Request) -> web.Response:
    return await _list(request, detail=False)


async def detail(request: web.Request) -> web.Response:
    return await _list(request, detail=True)


async def _list(request: web.Request, detail: bool) -> web.Response:
    params = request.query
    limit = _int_param(params, "limit", MAX_PAGE, MAX_PAGE)
    pattern = _name_pattern(params.get("name"))
    query = await _query(request, limit)
    instances, more, unreachable = await _collect(request, query, pattern, limit)
    servers = _bodies(request, instances, unreachable, detail)
    body: dict[str, Any] = {"servers": servers}
    if more and instances:
        body["servers_links"] = [{"rel": "next",
                                  "href": _next_href(request, detail, instances[-1].uuid)}]
    return web.json_response(body)


async def _query(request: web.Request, limit: int) -> ListQuery:
    params, caller = request.query, who(request)
    status = params.get("status", "").upper()
    if status and status not in BY_STATUS:
        raise BadRequest(f"Invalid status value {status[:32]!r}: use one of"
                         f" {', '.join(sorted(BY_STATUS))}.")
    sort = SORT_KEYS.get(params.get("sort_key", "created_at"))
    if sort is None:
        raise BadRequest(f"Invalid sort_key: use one of {', '.join(SORT_KEYS)}.")
    if params.get("sort_dir", "asc").lower() != "asc":
        raise BadRequest("Only sort_dir=asc is supported: the tree merges its cells' lists"
                         " in ascending order.")
    project = caller.project
    if caller.admin and (params.get("all_tenants", "").lower() in ("1", "true", "yes")
                         or "project_id" in params or "tenant_id" in params):
        project = params.get("project_id") or params.get("tenant_id") or ""
    query = ListQuery(limit=limit, project=project, sort=sort,
                      state=BY_STATUS[status] if status else None,
                      name_prefix=literal_prefix(params.get("name", "")))
    marker = params.get("marker")
    return await _after_marker(request, query, marker) if marker else query


def literal_prefix(pattern: str) -> str:
    """What every name matching `pattern` (a Nova name filter) starts with, so the
    tree can filter by prefix: only for patterns anchored with ^, without |."""
    match = re.match(r"\^([\w -]*)(.?)", pattern)
    if match is None or "|" in pattern:
        return ""
    prefix, after = match.groups()
    return prefix[:-1] if after and after in "*?{" else prefix


async def _after_marker(request: web.Request, query: ListQuery, marker: str) -> ListQuery:
    """The tree's page token for "after the server `marker`" (Nova pages by uuid)."""
    try:
        uuidlib.UUID(marker)
        instance = await state(request).tree.client.get(marker, metadata=metadata(request))
    except (ValueError, NotFound):
        raise BadRequest(f"marker [{marker[:64]}] not found") from None
    return replace(query, page_token=encode_token(query.sort, sort_key(query.sort)(instance)))


async def _collect(request: web.Request, query: ListQuery, pattern: re.Pattern[str] | None,
                   limit: int) -> tuple[list[Instance], bool, set[str]]:
    """Up to `limit` instances whose names match; whether more may follow; the cells
    that did not answer."""
    client = state(request).tree.client
    found: list[Instance] = []
    unreachable: set[str] = set()
    while True:
        page: InstancePage = await client.list(query, metadata=metadata(request))
        unreachable.update(page.unreachable_cells)
        for n, instance in enumerate(page.instances, 1):
            if pattern is None or pattern.search(instance.name):
                found.append(instance)
                if len(found) == limit:
                    more = n < len(page.instances) or bool(page.next_page_token)
                    return found, more, unreachable
        if not page.next_page_token:
            return found, False, unreachable
        query = replace(query, page_token=page.next_page_token)


def _bodies(request: web.Request, instances: list[Instance], unreachable: set[str],
            detail: bool) -> list[dict[str, Any]]:
    """Server bodies; servers in cells that did not answer are partial entries from
    2.69 and left out before it, as Nova does."""
    views, partial_ok = view(request), version(request) >= DOWN_CELLS
    bodies = []
    for instance in instances:
        if instance.state is InstanceState.UNKNOWN and _under(instance.cell_path, unreachable):
            if partial_ok:
                bodies.append(views.partial(instance))
            continue
        bodies.append(views.detail(instance) if detail else views.brief(instance))
    return bodies


def _under(path: str, cells: set[str]) -> bool:
    return any(path == c or path.startswith(c + SEPARATOR) for c in cells)


def _next_href(request: web.Request, detail: bool, marker: str) -> str:
    params = {k: v for k, v in request.query.items() if k != "marker"}
    params["marker"] = marker
    url = request.url.with_query(params)
    return f"{base_url(request)}{url.path_qs}"


def _int_param(params: Any, name: str, default: int, most: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 9:
        raise BadRequest(f"{name} must be a non-negative integer, not {text[:32]!r}.")
    return min(int(text), most) or default


def _name_pattern(text: str | None) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text[:255])
    except re.error as exc:
        raise BadRequest(f"Invalid name filter (a regular expression): {exc}") from None


async def create(request: web.Request) -> web.Response:
    ours = state(request)
    specs = boot_specs(await json_body(request), ours.config, who(request), request_id(request))
    client, first = ours.tree.client, None
    for spec in specs:
        try:
            instance = await client.boot(spec, metadata=metadata(request))
        except ResourceExhausted as exc:
            if _rate_limited(exc.message):
                raise
            raise Conflict(f"No valid host was found. {exc.message}") from None
        first = first or instance
    assert first is not None  # boot_specs gives at least one
    links = view(request).links(first.uuid)
    body = {"server": {"id": first.uuid, "links": links, "adminPass": "",
                       "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}]}}
    return web.json_response(body, status=202, headers={"Location": links[0]["href"]})


def _rate_limited(message: str) -> bool:
    # The tree's limits and its placement both say RESOURCE_EXHAUSTED; only the
    # limits speak of calls (cells.security.limits).
    return message.startswith(("too many calls", "over this client's rate limit"))


async def delete(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    try:
        await state(request).tree.client.act(uuid, Action.DELETE, metadata=metadata(request))
    except NotFound:
        raise ItemNotFound(f"Instance {uuid} could not be found.") from None
    return web.Response(status=204)
