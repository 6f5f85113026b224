"""What users change about a server without touching its guest, routed to
its leaf in one step each (`model.edits.Edit`; the leaf keeps it:
cells.attributes):

    PUT    /v2.1/servers/{id}                   name, description (2.19),
                                                accessIPv4, accessIPv6
    GET    /v2.1/servers/{id}/metadata          {"metadata": {...}}
    PUT    /v2.1/servers/{id}/metadata          replace all
    POST   /v2.1/servers/{id}/metadata          set some, keep the rest
    GET    /v2.1/servers/{id}/metadata/{key}    {"meta": {key: value}}
    PUT    /v2.1/servers/{id}/metadata/{key}    set one
    DELETE /v2.1/servers/{id}/metadata/{key}    204; 404 when not there
    GET    /v2.1/servers/{id}/tags              2.26 on, as the rest of tags
    PUT    /v2.1/servers/{id}/tags              replace all
    DELETE /v2.1/servers/{id}/tags              remove all
    GET    /v2.1/servers/{id}/tags/{tag}        204, or 404
    PUT    /v2.1/servers/{id}/tags/{tag}        201 (added) or 204 (there)
    DELETE /v2.1/servers/{id}/tags/{tag}        204; 404 when not there

Metadata writes of a member are refused with 409 while the server is
locked, as Nova's; an admin's are not. Each edit states only what changes,
so two clients setting two keys at once both land.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute import server_attributes as read
from api.compute.servers import refuse_if_locked, server_uuid, view
from api.compute.shapes import Body
from api.errors import BadRequest, ItemNotFound
from api.microversion import Version
from api.state import database, json_body, metadata, not_found, state, version, who
from model.compute import Instance
from model.edits import MAX_TAGS, Edit
from model.errors import NotFound


async def update(request: web.Request) -> web.Response:
    body = await json_body(request)
    server = body.get("server")
    if not isinstance(server, dict):
        raise BadRequest("The request body must have a 'server' object.")
    allowed = {"name", "accessIPv4", "accessIPv6"}
    if version(request) >= read.DESCRIPTION:
        allowed.add("description")
    unknown = set(server) - allowed
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute server: additional properties"
                         f" are not allowed ({', '.join(sorted(unknown))[:128]}).")
    edit = Edit(
        name=read.name_of(server["name"]) if "name" in server else None,
        description=(read.description_of(server["description"])
                     if "description" in server else None),
        access_ipv4=(read.address_of("accessIPv4", server["accessIPv4"], 4)
                     if "accessIPv4" in server else None),
        access_ipv6=(read.address_of("accessIPv6", server["accessIPv6"], 6)
                     if "accessIPv6" in server else None),
    )
    instance = await edited(request, edit)
    views = view(request)
    views.know_keys([instance])
    return web.json_response({"server": views.detail(instance, Body.UPDATE)})


# ------------------------------------------------------------------ metadata

async def metadata_index(request: web.Request) -> web.Response:
    instance = await current(request)
    return web.json_response({"metadata": dict(instance.attributes.metadata)})


async def metadata_replace(request: web.Request) -> web.Response:
    items = read.metadata_of(_object(await json_body(request), "metadata"), _limit(request))
    instance = await _locked_out(request)
    instance = await edited(request, Edit(metadata=items, metadata_replaced=True), instance)
    return web.json_response({"metadata": dict(instance.attributes.metadata)})


async def metadata_merge(request: web.Request) -> web.Response:
    items = read.metadata_of(_object(await json_body(request), "metadata"), _limit(request))
    instance = await _locked_out(request)
    read.check_items(len(dict(instance.attributes.metadata) | dict(items)), _limit(request))
    instance = await edited(request, Edit(metadata=items), instance)
    return web.json_response({"metadata": dict(instance.attributes.metadata)})


async def metadata_show(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    value = dict((await current(request)).attributes.metadata).get(key)
    if value is None:
        raise ItemNotFound("Metadata item was not found")
    return web.json_response({"meta": {key: value}})


async def metadata_set(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    meta = _object(await json_body(request), "meta")
    if len(meta) != 1:
        raise BadRequest("Request body contains too many items: 'meta' must hold one item.")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch: the item's key must be the URI's.")
    items = read.metadata_of(meta, _limit(request))
    instance = await _locked_out(request)
    read.check_items(len(dict(instance.attributes.metadata) | dict(items)), _limit(request))
    await edited(request, Edit(metadata=items), instance)
    return web.json_response({"meta": dict(items)})


async def metadata_delete(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    instance = await _locked_out(request)
    if key not in dict(instance.attributes.metadata):
        raise ItemNotFound("Metadata item was not found")
    await edited(request, Edit(metadata_removed=(key,)), instance)
    return web.Response(status=204)


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"Malformed request body: it must have a {key!r} object.")
    return value


def _limit(request: web.Request) -> int:
    return database(request).quotas.limits(who(request).project)["metadata_items"]


# ---------------------------------------------------------------------- tags

async def tags_index(request: web.Request) -> web.Response:
    _tags_version(request)
    return web.json_response({"tags": list((await current(request)).attributes.tags)})


async def tags_replace(request: web.Request) -> web.Response:
    _tags_version(request)
    tags = read.tags_of((await json_body(request)).get("tags"))
    instance = await edited(request, Edit(tags=tags, tags_replaced=True))
    return web.json_response({"tags": list(instance.attributes.tags)})


async def tags_clear(request: web.Request) -> web.Response:
    _tags_version(request)
    await edited(request, Edit(tags_replaced=True))
    return web.Response(status=204)


async def tag_show(request: web.Request) -> web.Response:
    _tags_version(request)
    tag = request.match_info["tag"]
    if tag not in (await current(request)).attributes.tags:
        raise ItemNotFound(f"Tag {tag[:64]} could not be found on the server.")
    return web.Response(status=204)


async def tag_add(request: web.Request) -> web.Response:
    _tags_version(request)
    tag = read.tag_of(request.match_info["tag"])
    instance = await current(request)
    if tag in instance.attributes.tags:
        return web.Response(status=204)
    if len(instance.attributes.tags) >= MAX_TAGS:
        raise BadRequest(f"A server has at most {MAX_TAGS} tags.")
    await edited(request, Edit(tags=(tag,)), instance)
    location = f"{view(request).links(instance.uuid)[0]['href']}/tags/{tag}"
    return web.Response(status=201, headers={"Location": location})


async def tag_delete(request: web.Request) -> web.Response:
    _tags_version(request)
    tag = request.match_info["tag"]
    instance = await current(request)
    if tag not in instance.attributes.tags:
        raise ItemNotFound(f"Tag {tag[:64]} could not be found on the server.")
    await edited(request, Edit(tags_removed=(tag,)), instance)
    return web.Response(status=204)


def _tags_version(request: web.Request) -> None:
    if version(request) < read.TAGS:
        raise ItemNotFound("The resource could not be found.")  # no such route before 2.26


# ------------------------------------------------------------------- helpers

async def current(request: web.Request) -> Instance:
    """The server of the path as its leaf has it; 404 when the caller may not see it."""
    uuid = server_uuid(request)
    try:
        return await state(request).tree.client.get(uuid, metadata=metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None


async def edited(request: web.Request, edit: Edit, instance: Instance | None = None) -> Instance:
    """The server after `edit`, applied at its leaf."""
    uuid = instance.uuid if instance is not None else server_uuid(request)
    try:
        return await state(request).tree.client.update(uuid, edit, metadata=metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None


async def _locked_out(request: web.Request) -> Instance:
    """The server of the path; 409 for a member while it is locked."""
    instance = await current(request)
    refuse_if_locked(request, instance)
    return instance


LOCKED_REASON = Version(2, 73)  # lock takes a reason


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_put("/v2.1/servers/{id}", update)
    base = "/v2.1/servers/{id}/metadata"
    add.add_get(base, metadata_index)
    add.add_put(base, metadata_replace)
    add.add_post(base, metadata_merge)
    add.add_get(base + "/{key}", metadata_show)
    add.add_put(base + "/{key}", metadata_set)
    add.add_delete(base + "/{key}", metadata_delete)
    tags = "/v2.1/servers/{id}/tags"
    add.add_get(tags, tags_index)
    add.add_put(tags, tags_replace)
    add.add_delete(tags, tags_clear)
    add.add_get(tags + "/{tag}", tag_show)
    add.add_put(tags + "/{tag}", tag_add)
    add.add_delete(tags + "/{tag}", tag_delete)
