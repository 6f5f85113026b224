"""Flavors managed by admins, kept in the API database beside the configured
ones (which stay, read-only: id = name, public, no extra specs).

    POST   /v2.1/flavors                                   create (admins)
    DELETE /v2.1/flavors/{id}                              202 (admins)
    GET    /v2.1/flavors/{id}/os-extra_specs[/{key}]       who can see the flavor
    POST   /v2.1/flavors/{id}/os-extra_specs               admins: set several
    PUT    /v2.1/flavors/{id}/os-extra_specs/{key}         admins: set one
    DELETE /v2.1/flavors/{id}/os-extra_specs/{key}         admins
    GET    /v2.1/flavors/{id}/os-flavor-access             admins, private flavors
    POST   /v2.1/flavors/{id}/action   addTenantAccess, removeTenantAccess (admins)

`stored_facts(request)` / `stored_fact(request, id)` are what the flavor lists
and shows (api.compute.flavors) add to the configured ones; `bootable_config`
is the config a create's flavorRef is looked up in. Bodies are
api.compute.flavor_views'.
"""

from __future__ import annotations

import dataclasses
import re
import uuid as uuidlib
from typing import Any

from aiohttp import web

from api.compute.flavor_views import FlavorFacts, flavor_body
from api.config import ApiConfig
from api.db.flavors import FlavorExists, StoredFlavor
from api.errors import BadRequest, Conflict, Forbidden, ItemNotFound
from api.state import base_url, database, json_body, state, version, who
from model.compute import Resources

_ID = re.compile(r"[\w.\- ]{1,255}")
_SPEC_KEY = re.compile(r"[\w.\-: ]{1,255}")


def _admin(request: web.Request, rule: str) -> None:
    if not who(request).admin:
        raise Forbidden(f"Policy doesn't allow os_compute_api:{rule} to be performed.")


def stored_flavors(request: web.Request) -> list[StoredFlavor]:
    """The stored flavors the caller may see: all for admins; else the public
    ones and those shared with the caller's project."""
    caller = who(request)
    return database(request).flavors.all(None if caller.admin else caller.project)


def bootable_config(request: web.Request) -> ApiConfig:
    """The config with the stored flavors the caller may use beside the configured."""
    config = state(request).config
    extra = {f.id: Resources(f.vcpus, f.ram, f.disk) for f in stored_flavors(request)}
    return dataclasses.replace(config, flavors={**extra, **config.flavors}) if extra else config


def facts(flavor: StoredFlavor) -> FlavorFacts:
    """A stored flavor as the flavor bodies (api.compute.flavor_views) read it."""
    return FlavorFacts(flavor.id, flavor.name, flavor.vcpus, flavor.ram, flavor.disk,
                       flavor.ephemeral, flavor.swap, flavor.rxtx_factor, flavor.is_public,
                       description=flavor.description, extra_specs=flavor.extra_specs)


def stored_facts(request: web.Request) -> list[FlavorFacts]:
    """The stored flavors the caller may see, for the flavor lists to add to the
    configured ones."""
    return [facts(f) for f in stored_flavors(request)]


def stored_fact(request: web.Request, flavor_id: str) -> FlavorFacts | None:
    """The stored flavor `flavor_id` if the caller may see it, for a flavor show."""
    found = next((f for f in stored_flavors(request) if f.id == flavor_id), None)
    return facts(found) if found else None


def _stored(request: web.Request, for_admin: bool = False) -> StoredFlavor:
    flavor_id = request.match_info["id"]
    if flavor_id in state(request).config.flavors and for_admin:
        raise Conflict(f"Flavor {flavor_id[:64]} is configured in the API's config and"
                       " cannot be changed through the API.")
    flavor = database(request).flavors.get(flavor_id)
    visible = flavor is not None and (flavor.is_public or who(request).admin or who(
        request).project in database(request).flavors.projects(flavor.id))
    if flavor is None or not visible:
        raise ItemNotFound(f"Flavor {flavor_id[:64]} could not be found.")
    return flavor


async def create(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-manage:create")
    raw = (await json_body(request)).get("flavor")
    if not isinstance(raw, dict):
        raise BadRequest("The request body must have a 'flavor' object.")
    flavor = _parse(raw)
    if flavor.id in state(request).config.flavors or flavor.name in state(request).config.flavors:
        raise Conflict(f"Flavor with name {flavor.name} already exists.")
    try:
        database(request).flavors.add(flavor)
    except FlavorExists:
        raise Conflict(f"Flavor with ID {flavor.id} or name {flavor.name} already exists."
                       ) from None
    return web.json_response({"flavor": flavor_body(facts(flavor), base_url(request),
                                                    version(request))})


def _parse(raw: dict[str, Any]) -> StoredFlavor:
    name, flavor_id = raw.get("name"), raw.get("id") or str(uuidlib.uuid4())
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name.")
    if not isinstance(flavor_id, str | int) or not _ID.fullmatch(str(flavor_id)):
        raise BadRequest("Invalid input for field/attribute id.")
    numbers = {key: _number(raw, key, low, default) for key, low, default in (
        ("vcpus", 1, None), ("ram", 1, None), ("disk", 0, None),
        ("OS-FLV-EXT-DATA:ephemeral", 0, 0), ("swap", 0, 0))}
    factor = raw.get("rxtx_factor", 1.0)
    public = raw.get("os-flavor-access:is_public", True)
    description = raw.get("description")
    if (not isinstance(factor, int | float) or isinstance(factor, bool) or factor <= 0
            or not isinstance(public, bool)
            or (description is not None and not isinstance(description, str))):
        raise BadRequest("Invalid input for field/attribute flavor.")
    return StoredFlavor(str(flavor_id), name.strip(), numbers["vcpus"], numbers["ram"],
                        numbers["disk"], numbers["OS-FLV-EXT-DATA:ephemeral"],
                        numbers["swap"], float(factor), public, description)


def _number(raw: dict[str, Any], key: str, low: int, default: int | None) -> int:
    value = raw.get(key, default)
    try:
        number = None if value is None or isinstance(value, bool | float) else int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= 0x7FFFFFFF:
        raise BadRequest(f"Invalid input for field/attribute {key}: it must be an integer"
                         f" of {low} or more.")
    return number


async def delete(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-manage:delete")
    flavor = _stored(request, for_admin=True)
    database(request).flavors.remove(flavor.id)
    return web.Response(status=202)


async def extra_specs(request: web.Request) -> web.Response:
    return web.json_response({"extra_specs": _stored(request).extra_specs})


async def extra_spec(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    specs = _stored(request).extra_specs
    if key not in specs:
        raise ItemNotFound(f"Flavor {request.match_info['id'][:64]} has no extra specs with"
                           f" key {key[:64]}.")
    return web.json_response({key: specs[key]})


async def set_extra_specs(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-extra-specs:create")
    flavor = _stored(request, for_admin=True)
    specs = _specs((await json_body(request)).get("extra_specs"))
    database(request).flavors.set_specs(flavor.id, specs)
    return web.json_response({"extra_specs": specs})


async def set_extra_spec(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-extra-specs:update")
    flavor = _stored(request, for_admin=True)
    body, key = await json_body(request), request.match_info["key"]
    specs = _specs(body)
    if list(specs) != [key]:
        raise BadRequest("Request body and URI mismatch")
    database(request).flavors.set_specs(flavor.id, specs)
    return web.json_response(specs)


def _specs(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        raise BadRequest("Invalid input for field/attribute extra_specs.")
    specs = {}
    for key, value in raw.items():
        if not _SPEC_KEY.fullmatch(key) or isinstance(value, bool | dict | list | None):
            raise BadRequest(f"Invalid input for field/attribute extra_specs: {key[:64]}.")
        specs[key] = str(value)
        if len(specs[key]) > 255:
            raise BadRequest(f"Invalid input for field/attribute extra_specs: {key[:64]}.")
    return specs


async def unset_extra_spec(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-extra-specs:delete")
    flavor, key = _stored(request, for_admin=True), request.match_info["key"]
    if not database(request).flavors.unset_spec(flavor.id, key):
        raise ItemNotFound(f"Flavor {flavor.id[:64]} has no extra specs with key {key[:64]}.")
    return web.Response(status=200)


async def access(request: web.Request) -> web.Response:
    _admin(request, "os-flavor-access")
    flavor = _stored(request)
    if flavor.is_public:
        raise ItemNotFound("Access list not available for public flavors.")
    return _access_list(request, flavor.id)


def _access_list(request: web.Request, flavor_id: str) -> web.Response:
    return web.json_response({"flavor_access": [
        {"flavor_id": flavor_id, "tenant_id": project}
        for project in database(request).flavors.projects(flavor_id)]})


async def action(request: web.Request) -> web.Response:
    """addTenantAccess / removeTenantAccess."""
    body = await json_body(request)
    verb = next(iter(body), "")
    if verb not in ("addTenantAccess", "removeTenantAccess") or len(body) != 1:
        raise BadRequest("Invalid flavor action: use addTenantAccess or removeTenantAccess.")
    _admin(request, f"os-flavor-access:{verb.replace('TenantAccess', '_tenant_access')}")
    flavor = _stored(request, for_admin=True)
    project = body[verb].get("tenant") if isinstance(body[verb], dict) else None
    if not isinstance(project, str) or not project:
        raise BadRequest(f"Invalid input for field/attribute {verb}: it needs a tenant.")
    if flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    store = database(request).flavors
    if verb == "addTenantAccess" and not store.grant(flavor.id, project):
        raise Conflict(f"Flavor access already exists for flavor {flavor.id} and project"
                       f" {project} combination.")
    if verb == "removeTenantAccess" and not store.revoke(flavor.id, project):
        raise ItemNotFound(f"Flavor access not found for {flavor.id} / {project}"
                           " combination.")
    return _access_list(request, flavor.id)
