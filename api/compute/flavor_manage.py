"""Flavors managed by admins, kept in the API database beside the configured
ones (which stay, read-only: id = name, public, no extra specs).

    POST   /v2.1/flavors                                   create (admins)
    PUT    /v2.1/flavors/{id}                              2.55+: description (admins)
    DELETE /v2.1/flavors/{id}                              202 (admins)
    GET    /v2.1/flavors/{id}/os-extra_specs[/{key}]       who can see the flavor
    POST   /v2.1/flavors/{id}/os-extra_specs               admins: set several
    PUT    /v2.1/flavors/{id}/os-extra_specs/{key}         admins: set one
    DELETE /v2.1/flavors/{id}/os-extra_specs/{key}         admins
    GET    /v2.1/flavors/{id}/os-flavor-access             admins, private flavors
    POST   /v2.1/flavors/{id}/action   addTenantAccess, removeTenantAccess (admins)

`stored_facts(request, is_public)` / `stored_fact(request, id)` are what the flavor lists
and shows (api.compute.flavors) add to the configured ones; `bootable_config`
is the config a create's flavorRef is looked up in. Request bodies are read by
api.compute.flavor_schema, answers made by api.compute.flavor_views.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from aiohttp import web

from api.compute import flavor_schema
from api.compute.flavor_views import FlavorFacts, flavor_body
from api.config import ApiConfig
from api.db.flavors import FlavorExists, StoredFlavor
from api.errors import BadRequest, Conflict, Forbidden, ItemNotFound
from api.state import base_url, database, json_body, state, version, who
from model.compute import Resources

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


def stored_facts(request: web.Request, is_public: bool | None = True) -> list[FlavorFacts]:
    """The stored flavors a flavor list adds to the configured ones, as Nova's
    is_public filter picks them: true, the public ones and those shared with the
    caller's project; false, only private ones; None, all (admins only)."""
    caller, store = who(request), database(request).flavors
    if is_public:
        return [facts(f) for f in store.all(caller.project)]
    return [facts(f) for f in store.all() if is_public is None or not f.is_public]


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
    flavor = flavor_schema.create(await json_body(request), version(request))
    configured = state(request).config.flavors
    store = database(request).flavors
    if flavor.id in configured or store.get(flavor.id) is not None:
        raise Conflict(f"Flavor with ID {flavor.id} already exists.")
    if flavor.name in configured:
        raise Conflict(f"Flavor with name {flavor.name} already exists.")
    try:
        store.add(flavor)
    except FlavorExists:
        raise Conflict(f"Flavor with name {flavor.name} already exists.") from None
    return web.json_response({"flavor": flavor_body(facts(flavor), base_url(request),
                                                    version(request))})


async def update(request: web.Request) -> web.Response:
    """PUT /flavors/{id}: a new description (2.55+)."""
    if version(request) < flavor_schema.DESCRIBED:
        raise ItemNotFound("The resource could not be found.")
    _admin(request, "os-flavor-manage:update")
    flavor = _stored(request, for_admin=True)
    text = flavor_schema.update(await json_body(request))
    database(request).flavors.describe(flavor.id, text)
    return web.json_response({"flavor": flavor_body(
        facts(dataclasses.replace(flavor, description=text)), base_url(request),
        version(request))})


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
