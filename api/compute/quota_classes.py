"""Quota classes (admins), as Nova's os-quota-class-sets: only the class
"default" means anything, and it is every project's defaults (api.db.quotas:
a project's own limits, else this class's, else Nova's configured defaults).

    GET /v2.1/os-quota-class-sets/{class}   the class's limits, with its id
    PUT /v2.1/os-quota-class-sets/{class}   {"quota_class_set": {resource: limit}}

    since  what the bodies name
    2.1    every resource but server_groups and server_group_members
    2.50   those two, and no longer the network resources
    2.57   no longer the injected files
"""

from __future__ import annotations

from aiohttp import web

from api.compute.fleet import admin_only
from api.compute.quotas import FILES, NETWORK, QUOTA_NO_FILES, limit_of
from api.db.quotas import DEFAULTS
from api.errors import BadRequest
from api.microversion import Version
from api.state import database, json_body, version

SERVER_GROUPS_NO_NETWORK = Version(2, 50)
SERVER_GROUPS = ("server_groups", "server_group_members")
_RULE = "os_compute_api:os-quota-class-sets:{}"


def class_resources(at: Version) -> list[str]:
    """The resources a quota class body of microversion `at` names."""
    dropped: tuple[str, ...] = NETWORK if at >= SERVER_GROUPS_NO_NETWORK else SERVER_GROUPS
    if at >= QUOTA_NO_FILES:
        dropped += FILES
    return [name for name in DEFAULTS if name not in dropped]


async def show(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("show"))
    name = request.match_info["name"]
    limits = database(request).quotas.class_limits(name)
    body = {resource: limits[resource] for resource in class_resources(version(request))}
    return web.json_response({"quota_class_set": {"id": name, **body}})


async def update(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("update"))
    raw = (await json_body(request)).get("quota_class_set")
    if not isinstance(raw, dict):
        raise BadRequest("The request body must have a 'quota_class_set' object.")
    allowed = class_resources(version(request))
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise BadRequest("Invalid input for field/attribute quota_class_set. Additional"
                         f" properties are not allowed ('{unknown[0][:64]}' was unexpected)")
    values = {resource: limit_of(resource, value) for resource, value in raw.items()}
    limits = database(request).quotas.set_class_limits(request.match_info["name"], values)
    return web.json_response({"quota_class_set": {r: limits[r] for r in allowed}})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-quota-class-sets/{name}", show)
    app.router.add_put("/v2.1/os-quota-class-sets/{name}", update)
