"""The ports a create asks for from the network service (network/), and what
becomes of them with their server.

    networks: [{"port": ID}]                   the user's port, bound to the server
    networks: [{"uuid": NET, "fixed_ip": IP}]  NET a network of the service: a
                                               port made for the server on it
                                               (deleted with the server)
    networks: [{"uuid": NAME}]                 a catalog network ([[networks]]):
                                               api.compute.boot, as before
    security_groups: [{"name": NAME}]          the groups of the ports made for
                                               the server (their project's default
                                               when not given; a user's own port
                                               keeps its groups): kept, not yet
                                               enforced on hosts

Compute never calls the network service while the tree boots: the API binds
(or makes) the ports first, with the server's uuid as their device, and the
boot carries them down as pre-bound ports (`model.compute.Port` with a port
id). That uuid is made from the boot's request id, so a create sent again
binds the same ports to the same server and makes none twice. A boot that
fails lets its ports go as a delete does (`release`): the ports made for it
are deleted, the user's unbound. Once the server has landed (`landed`), each
port's binding host is the server's host, and the port goes, as a service
object of kind "network", to the network agent on that host (network.agent),
which wires it and reports it ACTIVE; the port's status follows
(api.network.port_status). A leaf with no network agent leaves the port DOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from api.compute.group_lookup import ids_for_create
from api.errors import BadRequest, Conflict
from api.network.routes import SERVICE
from api.state import STATE, request_id, state, who
from model.agents import ObjectState
from model.compute import BootSpec, Instance, Port
from model.errors import CellError
from network.agent.objects import port_object
from network.errors import NetworkError, PortInUse
from network.errors import NotFound as NetworkNotFound
from network.resources import Caller, IpRequest, PortSpec, PortStatus
from network.service import NetworkService
from routing.objects import TARGET_CELL

log = logging.getLogger(__name__)
# Server uuids made from request ids: the same boot, the same server.
_SERVERS = uuidlib.UUID("0d6c6a1e-3f42-4f1e-8d1a-6b0e2c9f7a55")
KIND = "network"  # the kind of agent that wires ports
ADMIN = Caller("", admin=True)


@dataclass(frozen=True, slots=True)
class Asked:
    """One entry of a create's `networks` that the network service serves."""

    port: str = ""     # a port id, or
    network: str = ""  # a network id, with
    fixed_ip: str = ""
    groups: tuple[str, ...] | None = None  # the create's security_groups (names), if any


def service(request: web.Request) -> NetworkService:
    return request.app[SERVICE]


def caller(request: web.Request) -> Caller:
    token = who(request)
    return Caller(token.project, token.admin)


def split(request: web.Request, body: dict[str, Any]) -> tuple[dict[str, Any], list[Asked]]:
    """`body` with only the catalog's networks left in it, and the entries the
    network service serves, in order. An entry naming a catalog network stays."""
    server = body.get("server")
    if not isinstance(server, dict) or not isinstance(server.get("networks"), list):
        return body, []
    networks = server["networks"]
    catalog = {n.name for n in state(request).config.networks}
    kept, asked = [], []
    groups = _groups(server.get("security_groups"))
    for entry in networks:
        if isinstance(entry, dict) and "port" in entry:
            asked.append(Asked(port=_text(entry["port"], "port")))
        elif isinstance(entry, dict) and entry.get("uuid") not in catalog and "uuid" in entry:
            asked.append(Asked(network=_text(entry["uuid"], "uuid"),
                               fixed_ip=_text(entry.get("fixed_ip", ""), "fixed_ip"),
                               groups=groups))
        else:
            kept.append(entry)
    if not asked:
        return body, []
    return {**body, "server": {**server, "networks": kept or "none"}}, asked


def _groups(value: Any) -> tuple[str, ...] | None:
    """A create's security_groups ([{"name": NAME}]) as names; None when not given."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) and g["name"].strip()
            for g in value):
        raise BadRequest("Invalid input for field/attribute security_groups: each is"
                         " {\"name\": NAME}.")
    return tuple(dict.fromkeys(g["name"] for g in value))


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute {field}: it must be a string.")
    return value


async def bind(request: web.Request, specs: Sequence[BootSpec],
               asked: Sequence[Asked]) -> list[BootSpec]:
    """`specs`, each with a uuid of its own and the ports `asked` bound to it
    (appended after the catalog's). 400 for a port or network the caller does
    not see, 409 for a port bound to another server; nothing stays bound then."""
    if not asked:
        return list(specs)
    if len(specs) > 1 and any(a.port for a in asked):
        raise BadRequest("Unable to launch multiple instances with a single configured port.")
    bound: list[BootSpec] = []
    try:
        for spec in specs:
            server = spec.uuid or str(uuidlib.uuid5(_SERVERS, spec.request_id))
            ports = [await asyncio.to_thread(_bind_one, request, a, server,
                                             _occurrence(asked, n))
                     for n, a in enumerate(asked)]
            bound.append(replace(spec, uuid=server, ports=(*spec.ports, *ports)))
    except BaseException:
        await release(request, [s.uuid for s in bound] + [
            str(uuidlib.uuid5(_SERVERS, spec.request_id)) for spec in specs[len(bound):]])
        raise
    return bound


def _occurrence(asked: Sequence[Asked], n: int) -> int:
    """How many entries before the n-th name the same network (a server may
    have several ports on one network: [net1, net2, net1])."""
    return sum(1 for a in asked[:n] if a.network and a.network == asked[n].network)


def _bind_one(request: web.Request, asked: Asked, server: str, occurrence: int) -> Port:
    net, who_ = service(request), caller(request)
    try:
        if asked.port:
            made = net.bindings.bind(who_, asked.port, server)
        else:
            ips = (IpRequest(ip_address=asked.fixed_ip),) if asked.fixed_ip else None
            groups = (None if asked.groups is None
                      else ids_for_create(net, who_, asked.groups))
            made = net.bindings.make(who_, PortSpec(network_id=asked.network, fixed_ips=ips,
                                                    security_groups=groups),
                                     server, occurrence)
    except PortInUse as exc:
        raise Conflict(exc.message) from None
    except NetworkNotFound:
        what = f"Port id {asked.port}" if asked.port else f"Network {asked.network}"
        raise BadRequest(f"{what[:128]} could not be found.") from None
    except NetworkError as exc:
        raise BadRequest(exc.message) from None
    ip = made.fixed_ips[0].ip_address if made.fixed_ips else ""
    return Port(network=made.network_id, mac=made.mac_address, ip=ip, port_id=made.id)


class ServiceNames:
    """What server bodies name from the network service (api.compute.views.
    ServiceNames): networks by id, and the security groups of ports."""

    def __init__(self, net: NetworkService) -> None:
        self.net = net

    def __call__(self, ids: Sequence[str]) -> dict[str, str]:
        found = {}
        for ident in ids:
            with contextlib.suppress(NetworkError):
                found[ident] = self.net.networks.show(ADMIN, ident).name
        return found

    def security_groups(self, port_ids: Sequence[str]) -> dict[str, list[str]]:
        return self.net.security_groups.names_of_ports(port_ids)


def network_names(request: web.Request) -> ServiceNames:
    """Names of the network service's networks by id (and of ports' security
    groups), for server bodies."""
    return ServiceNames(service(request))


async def landed(request: web.Request, instance: Instance) -> None:
    """The server is on its host: its ports are bound there and handed to the
    network agent of that host. An agent missing is logged; the port stays DOWN."""
    for port in (p for p in instance.ports if p.port_id):
        await asyncio.to_thread(service(request).bindings.at_host, port.port_id, instance.host)
        try:
            network = await asyncio.to_thread(
                service(request).networks.show, ADMIN, port.network)
            shown = await asyncio.to_thread(
                service(request).ports.show, ADMIN, port.port_id)
            spec = port_object(shown, network, instance.host, f"port-{port.port_id}")
            spec = replace(spec, project=instance.project,
                           hints=(*spec.hints, (TARGET_CELL, instance.cell_path)))
            await state(request).tree.client.place_object(spec, metadata=_own(request))
        except (CellError, NetworkError) as exc:
            log.warning("port %s of server %s is not wired: %s", port.port_id,
                        instance.uuid, getattr(exc, "message", exc))


async def follow_agents(app: web.Application, interval: float = 1.0) -> None:
    """Forever: the ports waiting for their agent (bound on a host, not yet
    ACTIVE) turn ACTIVE once their objects are (a port's status is the
    agent's word, as in Neutron). One list of the tree's network objects per
    `interval`, and none while no port waits."""
    net: NetworkService = app[SERVICE]
    while True:
        await asyncio.sleep(interval)
        try:
            waiting = set(await asyncio.to_thread(net.bindings.waiting))
            if not waiting:
                continue
            tree = app[STATE].tree
            found = await tree.client.list_objects(kind=KIND, metadata=tree.own_metadata(
                f"ports-{uuidlib.uuid4()}"))
            for obj in found:
                port_id = dict(obj.spec.hints).get("port_id", "")
                if port_id in waiting and obj.state is ObjectState.ACTIVE:
                    await asyncio.to_thread(net.bindings.set_status, port_id, PortStatus.ACTIVE)
        except (CellError, NetworkError) as exc:
            log.warning("port statuses not followed this time: %s",
                        getattr(exc, "message", exc))


def follow(app: web.Application) -> None:
    """Run `follow_agents` while `app` runs."""
    async def running(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(follow_agents(app))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    app.cleanup_ctx.append(running)


async def release(request: web.Request, servers: Sequence[str]) -> None:
    """Let the ports of `servers` go: made ones deleted, the user's unbound,
    and each taken from its network agent."""
    released: set[str] = set()
    for server in servers:
        bound = await asyncio.to_thread(service(request).bindings.release, server)
        released.update(each.port.id for each in bound)
    if released:
        await _unwire(request, released)


async def _unwire(request: web.Request, port_ids: set[str]) -> None:
    """Delete the network objects of `port_ids`: one list of the tree's
    network objects, however many ports go."""
    client = state(request).tree.client
    try:
        found = await client.list_objects(kind=KIND, metadata=_own(request))
        for obj in found:
            if dict(obj.spec.hints).get("port_id") in port_ids:
                await client.delete_object(obj.uuid, metadata=_own(request))
    except CellError as exc:  # the agent lets them go when it next resyncs
        log.warning("ports %s are still wired: %s", ", ".join(sorted(port_ids)), exc.message)


def _own(request: web.Request) -> Any:
    """The API's own metadata: ports' objects are the API's to place, not a member's."""
    return state(request).tree.own_metadata(request_id(request))

