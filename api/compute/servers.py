"""Servers: list, show, create and delete, as Nova's API has them.

    GET    /v2.1/servers[/detail]   name (a regular expression), status,
                                    project_id/all_tenants (admins), limit,
                                    marker, sort_key, sort_dir; others ignored
    GET    /v2.1/servers/{id}       404 for anything not a server you may see
    POST   /v2.1/servers            202 and Location; idempotent on the
                                    client's X-OpenStack-Request-ID and body
    DELETE /v2.1/servers/{id}       204

A placement that no cell can take is answered at once with 409 and the
tree's explanation, instead of a server that goes to ERROR later: the tree
places before it answers, so the API knows at once. A create of several
servers makes as many as fit, from min_count up to max_count, or none.

A list's next link carries, beside Nova's `marker`, `cellrouter_page`: that
marker and the tree's own token for "after the last server looked at", so the
next page continues there even when that server was filtered out, deleted
since, or is in a cell that does not answer. A `marker` without its token (a
client that builds its own links) is looked up once.
"""

from __future__ import annotations

import contextlib
import uuid as uuidlib
from dataclasses import replace
from typing import Any

import re2
from aiohttp import web

from api.compute import (
    admission,
    flavor_manage,
    ports,
    server_attributes,
    server_filters,
    server_groups,
)
from api.compute.boot import Boots, boot_specs
from api.compute.shapes import DOWN_CELLS, Body
from api.compute.views import BY_STATUS, ServerView
from api.errors import BadRequest, Conflict
from api.image.store import registry
from api.microversion import Version
from api.state import (
    action_metadata,
    base_url,
    database,
    json_body,
    metadata,
    not_found,
    request_id,
    state,
    version,
    who,
)
from model.cells import ListQuery
from model.compute import Action, Instance, InstanceState, Resources
from model.errors import CellError, NotFound, ResourceExhausted, Unavailable
from routing.paging import MAX_PAGE, encode_token, sort_key

SORT_KEYS = {"name": "name", "display_name": "name", "created_at": "created_at"}
PAGE_PARAM = "cellrouter_page"
_TRUE = {"", "1", "t", "true", "on", "y", "yes"}  # as oslo's strutils reads a flag
_DIGITS = re2.compile(r"[0-9]{1,9}")


STATUS_CHECKED = Version(2, 38)  # an unknown status filter is 400 (an empty list before)


class NothingMatches(Exception):
    """A list no server can match (Nova answers it with an empty list)."""


def view(request: web.Request) -> ServerView:
    return ServerView(base_url(request), version(request), who(request).admin,
                      state(request).names, database(request).server_keys.key_names,
                      ports.network_names(request))


def refuse_if_locked(request: web.Request, instance: Instance) -> None:
    """409, as Nova's, for a member's change to a locked server; an admin's passes."""
    if instance.attributes.locked and not who(request).admin:
        raise Conflict(f"Instance {instance.uuid} is locked")


def server_uuid(request: web.Request) -> str:
    """The {id} of the path; 404 (as Nova) when it is not a uuid."""
    text = request.match_info["id"]
    try:
        if len(text) == 36:
            return str(uuidlib.UUID(text))
    except ValueError:
        pass
    raise not_found("Instance", text)


async def show(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    client = state(request).tree.client
    try:
        instance = await client.get(uuid, metadata=metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    except Unavailable:
        if version(request) < DOWN_CELLS:
            raise
        return web.json_response({"server": await _down_cell_entry(request, uuid)})
    views = view(request)
    views.know_keys([instance])
    return web.json_response({"server": views.detail(instance, Body.SHOW)})


async def _down_cell_entry(request: web.Request, uuid: str) -> dict[str, Any]:
    """What the index above a cell that does not answer knows of a server in it."""
    try:
        located = await state(request).tree.client.locate(uuid, metadata=metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    stub = Instance(uuid, "", InstanceState.UNKNOWN, Resources(), project=located.project)
    return view(request).partial(stub, Body.SHOW)


async def index(request: web.Request) -> web.Response:
    return await _list(request, Body.BRIEF)


async def detail(request: web.Request) -> web.Response:
    return await _list(request, Body.DETAIL)


async def _list(request: web.Request, kind: Body) -> web.Response:
    limit = _int_param(request.query, "limit", MAX_PAGE, MAX_PAGE)
    if request.query.get("limit") == "0":
        return web.json_response({"servers": []})  # as Nova: a page of nothing
    try:
        query = await _query(request, limit)
    except NothingMatches:
        return web.json_response({"servers": []})
    servers, last_seen, more = await _collect(request, query, limit)
    views = view(request)
    if kind is not Body.BRIEF:
        views.know_keys(servers)
    body: dict[str, Any] = {"servers": [
        views.partial(s, kind) if server_filters.partial(s) else views.detail(s, kind)
        for s in servers]}
    if more and last_seen is not None:
        body["servers_links"] = [{"rel": "next", "href": _next_href(
            request, servers[-1].uuid if servers else last_seen.uuid,
            encode_token(query.sort, sort_key(query.sort)(last_seen)))}]
    return web.json_response(body)


async def _query(request: web.Request, limit: int) -> ListQuery:
    params, caller = request.query, who(request)
    status = params.get("status", "").upper()
    if status and status not in BY_STATUS:
        if version(request) < STATUS_CHECKED:
            raise NothingMatches()  # an empty list, as Nova before 2.38
        raise BadRequest(f"Invalid status value {status[:32]!r}: use one of"
                         f" {', '.join(sorted(BY_STATUS))}.")
    sort = SORT_KEYS.get(params.get("sort_key", "created_at"))
    if sort is None:
        raise BadRequest(f"Invalid sort_key: use one of {', '.join(SORT_KEYS)}.")
    if params.get("sort_dir", "asc").lower() != "asc":
        raise BadRequest("Only sort_dir=asc is supported: the tree merges its cells' lists"
                         " in ascending order.")
    project = caller.project
    # As Nova: an admin's project_id or tenant_id counts only with all_tenants.
    if caller.admin and params.get("all_tenants", "false").lower() in _TRUE:
        project = params.get("project_id") or params.get("tenant_id") or ""
    query = ListQuery(limit=limit, project=project, sort=sort,
                      state=BY_STATUS[status] if status else None,
                      name_prefix=literal_prefix(params.get("name", "")))
    marker = params.get("marker")
    if not marker:
        return query
    for_marker, _, token = params.get(PAGE_PARAM, "").partition(":")
    if for_marker == marker and token:  # our own link, not a marker a client chose
        return replace(query, page_token=token[:4096])
    return await _after_marker(request, query, marker)


def literal_prefix(pattern: str) -> str:
    """What every name matching `pattern` (a Nova name filter) starts with, so the
    tree can filter by prefix: only for patterns anchored with ^, without |."""
    match = re2.match(r"\^([\w -]*)(.?)", pattern)
    if match is None or "|" in pattern:
        return ""
    prefix, after = match.groups()
    return str(prefix[:-1] if after and after in "*?{" else prefix)


async def _after_marker(request: web.Request, query: ListQuery, marker: str) -> ListQuery:
    """The tree's page token for "after the server `marker`" (Nova pages by uuid)."""
    try:
        uuidlib.UUID(marker)
        instance = await state(request).tree.client.get(marker, metadata=metadata(request))
    except (ValueError, NotFound):
        raise BadRequest(f"marker [{marker[:64]}] not found") from None
    return replace(query, page_token=encode_token(query.sort, sort_key(query.sort)(instance)))


async def _collect(request: web.Request, query: ListQuery,
                   limit: int) -> tuple[list[Instance], Instance | None, bool]:
    """Up to `limit` servers to show; the last instance looked at; whether more may
    follow. Names are matched here (a regular expression, in RE2: linear time
    whatever the pattern), and servers of cells that did not answer are left out
    before 2.69, as Nova does."""
    client, keep = state(request).tree.client, server_filters.keeper(request)
    found: list[Instance] = []
    last: Instance | None = None
    while True:
        page = await client.list(query, metadata=metadata(request))
        for n, instance in enumerate(page.instances, 1):
            last = instance
            if keep(instance):
                found.append(instance)
                if len(found) == limit:
                    return found, last, n < len(page.instances) or bool(page.next_page_token)
        if not page.next_page_token:
            return found, last, False
        query = replace(query, page_token=page.next_page_token)


def _next_href(request: web.Request, marker: str, token: str) -> str:
    """The next page's link: Nova's marker, and the tree's token tied to it (a
    client that pages by marker alone, or changes it, gets the marker's page)."""
    params = [(k, v) for k, v in request.query.items() if k not in ("marker", PAGE_PARAM)]
    url = request.url.with_query([*params, ("marker", marker),
                                  (PAGE_PARAM, f"{marker}:{token}")])
    return f"{base_url(request)}{url.path_qs}"


def _int_param(params: Any, name: str, default: int, most: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not _DIGITS.fullmatch(text):
        raise BadRequest(f"{name} must be a non-negative integer, not {text[:32]!r}.")
    return min(int(text), most) or default


async def create(request: web.Request) -> web.Response:
    ours, body = state(request), await json_body(request)
    catalog_body, asked = ports.split(request, body)  # the network service's entries apart
    boots = boot_specs(catalog_body, flavor_manage.bootable_config(request), who(request),
                       request_id(request), uploaded=registry(request).is_uploaded,
                       key_body=body)
    boots = _with_attributes(request, body, boots)
    boots, group = server_groups.join_group(request, boots)
    admitted = await admission.admit(request, body, boots)  # quota and key_name
    client, made, specs = ours.tree.client, [], admitted.keyed(boots.specs[:admitted.count])
    try:
        specs = await ports.bind(request, specs, asked)
        for spec in specs:
            try:
                made.append(await client.boot(spec, metadata=metadata(request)))
            except ResourceExhausted as exc:
                if _rate_limited(exc.message):
                    raise
                if len(made) >= boots.min_count:
                    break  # as many as fit, and at least min_count: Nova's multiple create
                await _undo(request, made)
                raise Conflict(f"No valid host was found. {exc.message}") from None
            admitted.booted(len(made) - 1, made[-1])
    finally:
        admitted.close()
        server_groups.record_members(request, group, made)
        if asked:  # the ports of servers not made go (the made ones' go with them)
            booted = {i.uuid for i in made}
            await ports.release(request, [s.uuid for s in specs if s.uuid not in booted])
    for instance in made:
        await ports.landed(request, instance)
    if body["server"].get("return_reservation_id") in (True, "True", "true"):
        return web.json_response(
            {"reservation_id": made[0].attributes.reservation_id}, status=202)
    links = view(request).links(made[0].uuid)
    body = {"server": view(request).created(made[0])}
    return web.json_response(body, status=202, headers={"Location": links[0]["href"]})


def _with_attributes(request: web.Request, body: dict[str, Any], boots: Boots) -> Boots:
    """`boots`, each with what the body sets beside the guest (metadata, ...)."""
    limit = database(request).quotas.limits(who(request).project)["metadata_items"]
    attributes = server_attributes.at_create(body["server"], version(request), limit,
                                             boots.specs[0].request_id)
    return replace(boots, specs=[replace(s, attributes=attributes) for s in boots.specs])


async def _undo(request: web.Request, made: list[Instance]) -> None:
    """Delete the servers of a multiple create that could not make min_count."""
    for instance in made:
        # One that cannot be deleted now stays, listed, for its owner to delete.
        with contextlib.suppress(CellError):
            await state(request).tree.client.act(instance.uuid, Action.DELETE,
                                                 metadata=action_metadata(request))
            await ports.release(request, [instance.uuid])


def _rate_limited(message: str) -> bool:
    # The tree's limits and its placement both say RESOURCE_EXHAUSTED; only the
    # limits speak of calls (cells.security.limits).
    return message.startswith(("too many calls", "over this client's rate limit"))


async def delete(request: web.Request) -> web.Response:
    uuid = server_uuid(request)
    try:  # a member's delete of a locked server: the leaf's 409 (cells.security.scope)
        await state(request).tree.client.act(uuid, Action.DELETE,
                                             metadata=action_metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    await ports.release(request, [uuid])  # the ports made for it go, the user's are unbound
    database(request).quotas.forget(uuid)  # its boot's reservation, if the tree lags
    database(request).server_groups.forget_members([uuid])
    return web.Response(status=204)
