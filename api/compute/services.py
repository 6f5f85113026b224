"""Compute services (admins only), as Nova's os-services lists them.

    GET    /v2.1/os-services         filters host, binary (2.75+: nothing else)
    PUT    /v2.1/os-services/{id}    2.53+: status, disabled_reason, forced_down
    PUT    /v2.1/os-services/ACTION  before 2.53: enable, disable,
                                     disable-log-reason, force-down (2.11+)
    DELETE /v2.1/os-services/{id}

    since  what changes
    2.11   a service has forced_down
    2.53   ids are uuids; PUT names the service by id
    2.75   an unknown query parameter is 400

The services are the tree's (api.compute.fleet): nova-compute on every host,
nova-scheduler on every router cell (zone "internal"), which is what Tempest's
tests ask of a cloud (a nova-compute service, filters by host and binary).

The tree cannot disable, force down or remove a host through any call today:
a host's `enabled` is its leaf's configuration ([[leaf.hosts]]), applied by
bestmatch there. So a change to a service that exists is answered 501, as Nova
answers what its driver cannot do; one that does not exist is 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute.fleet import COMPUTE, Service, admin_only, services, topology, uuid_in_path
from api.errors import BadRequest, ItemNotFound, Unsupported
from api.microversion import Version
from api.state import json_body, version

FORCED_DOWN = Version(2, 11)
UUID_IDS = Version(2, 53)
STRICT_QUERY = Version(2, 75)
_RULE = "os_compute_api:os-services:{}"
_FILTERS = frozenset({"host", "binary"})
_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")
_CANNOT = ("the tree cannot disable, force down or remove a host through its API: a host's"
           " `enabled` is its leaf's configuration ([[leaf.hosts]]).")


def service_body(service: Service, at: Version) -> dict[str, Any]:
    """A service as Nova's list shows it at microversion `at`."""
    when = service.updated_at
    body: dict[str, Any] = {
        "id": service.ident(by_uuid=at >= UUID_IDS), "binary": service.binary,
        "host": service.host, "zone": service.zone, "status": "enabled",
        "state": "up" if service.up else "down", "disabled_reason": None,
        "updated_at": when.strftime("%Y-%m-%dT%H:%M:%S.%f") if when else None}
    if at >= FORCED_DOWN:
        body["forced_down"] = False
    return body


async def index(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("list"))
    at, params = version(request), request.query
    unknown = sorted(set(params) - _FILTERS)
    if unknown and at >= STRICT_QUERY:
        raise BadRequest(f"Invalid input for query parameters {', '.join(unknown)[:128]}.")
    found = [s for s in services(await topology(request))
             if params.get("host", s.host) == s.host and params.get("binary", s.binary) == s.binary]
    return web.json_response({"services": [service_body(s, at) for s in found]})


async def update(request: web.Request) -> web.Response:
    at, ident = version(request), request.match_info["id"]
    if at < UUID_IDS:
        return await _legacy_action(request, ident)
    admin_only(request, _RULE.format("update"))
    _check_update(await json_body(request))
    service = await _find(request, ident)
    if service.binary != COMPUTE:
        raise BadRequest(f"Updating a {service.binary} service is not supported. Only"
                         " nova-compute services can be updated.")
    raise Unsupported(f"Service {ident} cannot be changed: {_CANNOT}")


async def delete(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("delete"))
    service = await _find(request, request.match_info["id"])
    raise Unsupported(f"Service {service.binary} on {service.host} cannot be deleted:"
                      f" {_CANNOT}")


async def _legacy_action(request: web.Request, action: str) -> web.Response:
    """PUT /os-services/ACTION {"host", "binary"} (before 2.53)."""
    if action not in _ACTIONS or (action == "force-down" and version(request) < FORCED_DOWN):
        raise ItemNotFound("The resource could not be found.")
    admin_only(request, _RULE.format("update"))
    body = await json_body(request)
    host, binary = body.get("host"), body.get("binary")
    if not isinstance(host, str) or not isinstance(binary, str):
        raise BadRequest("host and binary must be strings.")
    if not any(s.host == host and s.binary == binary
               for s in services(await topology(request))):
        raise ItemNotFound(f"Compute host {host[:64]} with binary {binary[:64]} could not"
                           " be found.")
    raise Unsupported(f"Service {binary} on {host} cannot be changed: {_CANNOT}")


def _check_update(body: dict[str, Any]) -> None:
    """The body of PUT /os-services/{id}, as Nova's schema for it."""
    unknown = set(body) - {"status", "disabled_reason", "forced_down"}
    if (unknown or not body or body.get("status", "enabled") not in ("enabled", "disabled")
            or not isinstance(body.get("disabled_reason", ""), str)
            or not isinstance(body.get("forced_down", False), bool)):
        raise BadRequest("Invalid input: give status (enabled or disabled),"
                         " disabled_reason (a string) or forced_down (a boolean).")


async def _find(request: web.Request, text: str) -> Service:
    """The service with id `text`: a uuid from 2.53 (else 400), a number before."""
    by_uuid = version(request) >= UUID_IDS
    if by_uuid:
        text = uuid_in_path(text)
    for service in services(await topology(request)):
        if str(service.ident(by_uuid)) == text:
            return service
    raise ItemNotFound(f"Service {text[:64]} could not be found.")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-services", index)
    app.router.add_put("/v2.1/os-services/{id}", update)
    app.router.add_delete("/v2.1/os-services/{id}", delete)
