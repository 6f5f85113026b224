"""A server's security groups: the groups of its ports (the network
service's ports bound to it: network.bindings), as Nova's proxy of Neutron
has them.

    {"addSecurityGroup": {"name": NAME}}     202: the group added to every port
    {"removeSecurityGroup": {"name": NAME}}  202: taken from every port having it

NAME is a group of the caller's project, by id or else by name (as Nova
finds it through neutronclient): 404 when there is none, 409 when several
have the name. As Nova: 404 when the server has no port of the network
service, or (remove) when none of its ports has the group; 400 (add) when a
port has no fixed IP (Nova's SecurityGroupCannotBeApplied). A create's
`security_groups` ([{"name": NAME}]) are found the same way (400 for one
not found, as Nova) and given to the ports made for the server.

Server bodies name the groups of a server's ports (api.compute.views): each
name once, and no `security_groups` key at all for a server with none, as
Nova omits it.

Kept and served only: no host enforces a group's rules yet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.compute import ports
from api.compute.group_lookup import find
from api.compute.server_edits import current
from api.errors import BadRequest, ItemNotFound
from network.errors import NetworkError
from network.errors import NotFound as NetworkNotFound
from network.resources import Caller, Changes
from network.service import NetworkService

ACTIONS = frozenset({"addSecurityGroup", "removeSecurityGroup"})


async def act(request: web.Request, name: str, args: Any) -> None:
    """Add (addSecurityGroup) or remove the group `args` names on every port
    of the server of the path."""
    wanted = _name(args)
    instance = await current(request)  # 404 first, as Nova
    try:
        await asyncio.to_thread(_apply, ports.service(request), ports.caller(request),
                                instance.uuid, wanted, name == "addSecurityGroup")
    except NetworkNotFound as exc:
        raise ItemNotFound(exc.message) from None
    except NetworkError as exc:
        raise BadRequest(exc.message) from None


def _name(args: Any) -> str:
    if not isinstance(args, dict):
        raise BadRequest("Missing parameter dict")
    if "name" not in args:
        raise BadRequest("Security group not specified")
    name = args["name"]
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Security group name cannot be empty")
    return name


def _apply(net: NetworkService, caller: Caller, server: str, wanted: str, add: bool) -> None:
    group = find(net, caller, wanted, ItemNotFound)
    bound = [b.port for b in net.bindings.of_device(server)]
    if not bound:
        raise ItemNotFound(f"instance_id {server} could not be found as device id on any"
                           " ports")
    if add and any(not port.fixed_ips for port in bound):
        raise BadRequest("Unable to add security group to instance: a port of it has no"
                         " fixed IP.")
    having = [port for port in bound if group.id in port.security_groups]
    if not add and not having:
        raise ItemNotFound(f"Security group {wanted} not associated with the instance"
                           f" {server}")
    for port in [p for p in bound if p not in having] if add else having:
        groups = ((*port.security_groups, group.id) if add
                  else tuple(g for g in port.security_groups if g != group.id))
        net.ports.update(caller, port.id, Changes({"security_groups": groups}))
