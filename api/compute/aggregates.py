"""Host aggregates (admins), as Nova's os-aggregates, kept in the API database
(api.db.aggregates).

    GET    /v2.1/os-aggregates              every aggregate, with hosts and metadata
    POST   /v2.1/os-aggregates              {"aggregate": {name, availability_zone}}
    GET    /v2.1/os-aggregates/{id}
    PUT    /v2.1/os-aggregates/{id}         name and/or availability_zone
    DELETE /v2.1/os-aggregates/{id}         only once it has no hosts (else 400)
    POST   /v2.1/os-aggregates/{id}/action  add_host, remove_host, set_metadata

    since  what changes
    2.41   an aggregate has its uuid

A host is the tree's (api.compute.fleet), by the name os-services gives it.
Not yet done: the aggregates do not reach bestmatch's aggregate filter at the
leaves (that needs an aggregate's hosts and metadata carried down the tree to
the leaf that schedules), and an aggregate's availability zone is not a zone
users can pick (the zones are the leaf cells).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from api.compute.fleet import admin_only, hosts, topology
from api.db.aggregates import (
    Aggregate,
    AggregateHostExists,
    AggregateHostNotFound,
    AggregateNameExists,
    AggregateNotEmpty,
    AggregateNotFound,
)
from api.errors import BadRequest, Conflict, ItemNotFound
from api.microversion import Version
from api.state import database, json_body, version

WITH_UUID = Version(2, 41)
_RULE = "os_compute_api:os-aggregates:{}"
_LONGEST = 255
T = TypeVar("T")


def aggregate_body(aggregate: Aggregate, at: Version, full: bool = True) -> dict[str, Any]:
    """An aggregate as Nova shows it at `at`; without hosts and metadata
    (`full` false) as its create answers."""
    body: dict[str, Any] = {
        "id": aggregate.id, "name": aggregate.name, "availability_zone": aggregate.zone,
        "created_at": _when(aggregate.created_at), "updated_at": _when(aggregate.updated_at),
        "deleted": False, "deleted_at": None}
    if full:
        body.update(hosts=list(aggregate.hosts), metadata=dict(aggregate.metadata))
    if at >= WITH_UUID:
        body["uuid"] = aggregate.uuid
    return body


def _when(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _answer(aggregate: Aggregate, request: web.Request) -> web.Response:
    return web.json_response({"aggregate": aggregate_body(aggregate, version(request))})


async def index(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("index"))
    at = version(request)
    found = database(request).aggregates.all()
    return web.json_response({"aggregates": [aggregate_body(a, at) for a in found]})


async def create(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("create"))
    fields = _fields(await json_body(request), required=("name",))
    try:
        made = database(request).aggregates.create(fields["name"], fields.get(
            "availability_zone"))
    except AggregateNameExists:
        raise Conflict(f"Aggregate {fields['name']} already exists.") from None
    return web.json_response({"aggregate": aggregate_body(made, version(request), full=False)})


async def show(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("show"))
    return _answer(_translated(database(request).aggregates.get, _ident(request)), request)


async def update(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("update"))
    ident, fields = _ident(request), _fields(await json_body(request), required=())
    if not fields:
        raise BadRequest("Invalid input for field/attribute aggregate: give name or"
                         " availability_zone.")
    try:
        done = _translated(database(request).aggregates.update, ident, fields.get("name"),
                           fields.get("availability_zone"), "availability_zone" in fields)
    except AggregateNameExists:
        raise Conflict(f"Aggregate {fields['name']} already exists.") from None
    return _answer(done, request)


async def delete(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("delete"))
    ident = _ident(request)
    try:
        _translated(database(request).aggregates.delete, ident)
    except AggregateNotEmpty:
        raise BadRequest(f"Invalid action delete on aggregate {ident}: it has hosts;"
                         " remove them first.") from None
    return web.Response(status=200)


async def action(request: web.Request) -> web.Response:
    ident, body = _ident(request), await json_body(request)
    if len(body) != 1 or next(iter(body)) not in _ACTIONS:
        raise BadRequest("Give one of add_host, remove_host, set_metadata.")
    name, args = next(iter(body.items()))
    admin_only(request, _RULE.format(name))
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}: it must be an object.")
    return _answer(await _ACTIONS[name](request, ident, args), request)


async def _add_host(request: web.Request, ident: int, args: dict[str, Any]) -> Aggregate:
    host = await _tree_host(request, args)
    try:
        return _translated(database(request).aggregates.add_host, ident, host)
    except AggregateHostExists:
        raise Conflict(f"Aggregate {ident} already has host {host}.") from None


async def _remove_host(request: web.Request, ident: int, args: dict[str, Any]) -> Aggregate:
    host = await _tree_host(request, args)
    try:
        return _translated(database(request).aggregates.remove_host, ident, host)
    except AggregateHostNotFound:
        raise ItemNotFound(f"Aggregate {ident} has no host {host}.") from None


async def _set_metadata(request: web.Request, ident: int, args: dict[str, Any]) -> Aggregate:
    values = args.get("metadata")
    if set(args) != {"metadata"} or not isinstance(values, dict) or not all(
            _name_ok(k) and (v is None or (isinstance(v, str) and len(v) <= _LONGEST))
            for k, v in values.items()):
        raise BadRequest("Invalid input for field/attribute set_metadata: give metadata,"
                         " keys of 1 to 255 characters, values strings of up to 255 or null.")
    return _translated(database(request).aggregates.set_metadata, ident, values)


_ACTIONS = {"add_host": _add_host, "remove_host": _remove_host, "set_metadata": _set_metadata}


async def _tree_host(request: web.Request, args: dict[str, Any]) -> str:
    """The host `args` names, if the tree has it (404 as Nova's if not)."""
    host = args.get("host")
    if set(args) != {"host"} or not _name_ok(host):
        raise BadRequest("Invalid input: give host, a name of 1 to 255 characters.")
    if not any(h.name == host for h in hosts(await topology(request))):
        raise ItemNotFound(f"Compute host {str(host)[:64]} could not be found.")
    return str(host)


def _fields(body: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """The "aggregate" object of a create or update, as Nova's schema checks it."""
    fields = body.get("aggregate")
    if (set(body) != {"aggregate"} or not isinstance(fields, dict)
            or set(fields) - {"name", "availability_zone"} or set(required) - set(fields)
            or ("name" in fields and not _name_ok(fields["name"]))
            or not (fields.get("availability_zone") is None
                    or _name_ok(fields["availability_zone"]))):
        raise BadRequest("Invalid input for field/attribute aggregate: name and"
                         " availability_zone are strings of 1 to 255 characters.")
    return fields


def _name_ok(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _LONGEST and value.strip() == value


def _ident(request: web.Request) -> int:
    text = request.match_info["id"]
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"id of aggregate must be an integer, not {text[:64]}.") from None


def _translated(call: Callable[..., T], ident: int, *args: Any) -> T:
    """`call(ident, *args)`, its AggregateNotFound as Nova's 404."""
    try:
        return call(ident, *args)
    except AggregateNotFound:
        raise ItemNotFound(f"Aggregate {ident} could not be found.") from None


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-aggregates", index)
    app.router.add_post("/v2.1/os-aggregates", create)
    app.router.add_get("/v2.1/os-aggregates/{id}", show)
    app.router.add_put("/v2.1/os-aggregates/{id}", update)
    app.router.add_delete("/v2.1/os-aggregates/{id}", delete)
    app.router.add_post("/v2.1/os-aggregates/{id}/action", action)

