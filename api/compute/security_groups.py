"""Security groups as Nova's proxy of Neutron shows them (2.1-2.35; 404 from
2.36, as Nova), over the network service's groups (network/):

    GET    /v2.1/os-security-groups              the caller's project's (admins:
                                                 every project's with all_tenants)
    POST   /v2.1/os-security-groups              {"security_group": {name, description}}
    GET    /v2.1/os-security-groups/{id}
    PUT    /v2.1/os-security-groups/{id}         name and description
    DELETE /v2.1/os-security-groups/{id}         202; 400 while a port has it, and
                                                 for a project's default group
    GET    /v2.1/servers/{id}/os-security-groups the groups of the server's ports
                                                 (every microversion, as Nova)

Bodies are Nova's: a group is {id, name, description, tenant_id, rules} with
only its ingress rules, each {id, parent_group_id, ip_protocol, from_port,
to_port, group, ip_range} (api.compute.security_group_rules makes and deletes
them). An id that is not a uuid is 400, as Nova says of Neutron's ids.

The groups are kept and served only: no host enforces their rules yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from api.compute import ports
from api.compute.networks import PROXY_GONE
from api.compute.server_edits import current
from api.errors import BadRequest, Forbidden, ItemNotFound
from api.state import json_body, version, who
from network.errors import Conflict, InvalidInput, NetworkError, NotFound
from network.resources import (
    Changes,
    Direction,
    ListQuery,
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupSpec,
)

T = TypeVar("T")
_TCP_UDP = ("tcp", "udp")


def serves(request: web.Request) -> None:
    """404 from 2.36: Nova's proxy APIs are gone there."""
    if version(request) >= PROXY_GONE:
        raise ItemNotFound("The resource could not be found.")


def group_id(text: str) -> str:
    """`text` as a group's (or rule's) id; 400 when it is not a uuid, as Nova."""
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise BadRequest("Security group id should be uuid") from None


async def called(request: web.Request, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` of the network service in a worker thread; its NotFound
    is Nova's 404, its InvalidInput 400."""
    try:
        return await asyncio.to_thread(call, *args)
    except NotFound as exc:
        raise ItemNotFound(exc.message) from None
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None


# ------------------------------------------------------------ bodies


def group_body(group: SecurityGroup, known: Mapping[str, SecurityGroup]) -> dict[str, Any]:
    """Nova's group: its ingress rules only (Nova shows no egress), each whose
    remote group is in `known` (Nova drops a rule whose group it cannot read)."""
    rules = (rule_body(r, known) for r in group.rules if r.direction is Direction.INGRESS)
    return {"id": group.id, "name": group.name, "description": group.description,
            "tenant_id": group.project, "rules": [r for r in rules if r is not None]}


def rule_body(rule: SecurityGroupRule, known: Mapping[str, SecurityGroup]
              ) -> dict[str, Any] | None:
    """Nova's rule: a protocol without ports reads as all of them (1-65535
    for tcp and udp, -1 otherwise); a remote group by name and project, else
    the prefix (0.0.0.0/0 for anywhere)."""
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol and low is None and high is None:
        low, high = (1, 65535) if rule.protocol in _TCP_UDP else (-1, -1)
    body: dict[str, Any] = {"id": rule.id, "parent_group_id": rule.security_group_id,
                            "ip_protocol": rule.protocol, "from_port": low, "to_port": high,
                            "group": {}, "ip_range": {}}
    if rule.remote_group_id:
        remote = known.get(rule.remote_group_id)
        if remote is None:
            return None
        body["group"] = {"name": remote.name, "tenant_id": remote.project}
    else:
        body["ip_range"] = {"cidr": rule.remote_ip_prefix or "0.0.0.0/0"}
    return body


async def remotes(request: web.Request, groups: Iterable[SecurityGroup]
                  ) -> dict[str, SecurityGroup]:
    """The groups `groups`' rules name as remote, with `groups`, by id: the
    ones the caller may read."""
    known = {g.id: g for g in groups}
    wanted = {r.remote_group_id for g in known.values() for r in g.rules if r.remote_group_id}
    for ident in sorted(wanted - set(known)):
        with contextlib.suppress(NetworkError):
            known[ident] = await asyncio.to_thread(
                ports.service(request).security_groups.show, ports.caller(request), ident)
    return known


async def bodies(request: web.Request, groups: Sequence[SecurityGroup]) -> list[dict[str, Any]]:
    known = await remotes(request, groups)
    return [group_body(g, known) for g in groups]


def text_of(fields: Mapping[str, Any], name: str) -> str:
    """A group's name or description as Nova checks it: a string of at most
    255 characters (both are required)."""
    value = fields.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input received: {name} has to be a string")
    if len(value) > 255:
        raise BadRequest(f"Invalid input received: {name} has a maximum length of 255")
    return value


async def _group_fields(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    fields = body.get("security_group")
    if not isinstance(fields, dict):
        raise BadRequest("Missing parameter security_group")
    return fields


# ------------------------------------------------------------ handlers


async def index(request: web.Request) -> web.Response:
    serves(request)
    token, caller = who(request), ports.caller(request)
    every = token.admin and "all_tenants" in request.query
    ask = ListQuery() if every else ListQuery({"project": (token.project,)})
    found = await called(request, ports.service(request).security_groups.list, caller, ask)
    found = found[_int(request, "offset"):]
    limit = _int(request, "limit")
    return web.json_response({"security_groups": await bodies(request, found[:limit or None])})


async def show(request: web.Request) -> web.Response:
    serves(request)
    ident = group_id(request.match_info["id"])
    found = await called(request, ports.service(request).security_groups.show,
                         ports.caller(request), ident)
    return web.json_response({"security_group": (await bodies(request, [found]))[0]})


async def create(request: web.Request) -> web.Response:
    serves(request)
    fields = await _group_fields(request)
    spec = SecurityGroupSpec(text_of(fields, "name"), text_of(fields, "description"))
    try:
        made = await called(request, ports.service(request).security_groups.create,
                            ports.caller(request), spec)
    except Conflict as exc:  # Nova reads Neutron's 409 here as over quota: 403
        raise Forbidden(exc.message) from None
    return web.json_response({"security_group": (await bodies(request, [made]))[0]})


async def update(request: web.Request) -> web.Response:
    serves(request)
    ident = group_id(request.match_info["id"])
    net, caller = ports.service(request), ports.caller(request)
    await called(request, net.security_groups.show, caller, ident)  # 404 before the body
    fields = await _group_fields(request)
    changes = Changes({"name": text_of(fields, "name"),
                       "description": text_of(fields, "description")})
    try:
        changed = await called(request, net.security_groups.update, caller, ident, changes)
    except Conflict as exc:  # renaming a default group
        raise BadRequest(exc.message) from None
    return web.json_response({"security_group": (await bodies(request, [changed]))[0]})


async def delete(request: web.Request) -> web.Response:
    serves(request)
    ident = group_id(request.match_info["id"])
    try:
        await called(request, ports.service(request).security_groups.delete,
                     ports.caller(request), ident)
    except Conflict as exc:  # in use, or a default group: Nova's Invalid
        raise BadRequest(exc.message) from None
    return web.Response(status=202)


async def of_server(request: web.Request) -> web.Response:
    """The groups of the server's ports, each once, by name."""
    instance = await current(request)
    net = ports.service(request)
    bound = await asyncio.to_thread(net.bindings.of_device, instance.uuid)
    ids = list(dict.fromkeys(g for b in bound for g in b.port.security_groups))
    caller, found = ports.caller(request), []
    for ident in ids:
        with contextlib.suppress(NetworkError):
            found.append(await asyncio.to_thread(net.security_groups.show, caller, ident))
    found.sort(key=lambda g: (g.name, g.id))
    return web.json_response({"security_groups": await bodies(request, found)})


def _int(request: web.Request, name: str) -> int:
    text = request.query.get(name, "0")
    if not text.isdigit():
        raise BadRequest(f"{name} param must be an integer")
    return int(text)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/v2.1/os-security-groups", index)
    add.add_post("/v2.1/os-security-groups", create)
    add.add_get("/v2.1/os-security-groups/{id}", show)
    add.add_put("/v2.1/os-security-groups/{id}", update)
    add.add_delete("/v2.1/os-security-groups/{id}", delete)
    add.add_get("/v2.1/servers/{id}/os-security-groups", of_server)
