"""Networks, as Nova's os-networks shows them (its Neutron proxy, before 2.36).

    GET /v2.1/os-networks        those the caller may use: an admin every one, a
                                 member the shared ones and their project's
    GET /v2.1/os-networks/{id}   one of those; 404 for any other
    (from 2.36 both are 404, as Nova's proxy APIs are)

The networks are the API config's [[networks]] (model.catalog), whose `id` is
the name a boot gives as a network's "uuid" (and its `label` too), and the
network service's (network/), by uuid, labelled by name.
`os-tenant-networks` (also before 2.36) lists the same, with Nova's shorter
body (id, label, cidr). Nova's proxy fills only id and label
(every other field null, the admins' as well); the catalog also knows a
network's cidr, so cidr and netmask (cidr_v6 and netmask_v6, the prefix length,
for IPv6) are given, and to admins the network's project (null: shared). A
network's bridge is each leaf's own ([[networks]] `source` in the leaf's config)
and is not shown.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.compute import ports
from api.errors import ItemNotFound
from api.microversion import Version
from api.state import state, version, who
from network.resources import ListQuery

PROXY_GONE = Version(2, 36)
FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6",
          "gateway_v6", "label", "netmask_v6")
ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge",
                "vlan", "vpn_public_address", "vpn_public_port", "vpn_private_address",
                "dhcp_start", "project_id", "host", "bridge_interface", "multi_host",
                "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp", "share_address")


@dataclass(frozen=True, slots=True)
class Shown:
    """A network as os-networks shows it: a configured one (its id and label
    its name) or one of the network service (its uuid, labelled by name)."""

    id: str
    label: str
    cidr: str
    project: str  # "" for shared


def network_body(network: Shown, admin: bool) -> dict[str, Any]:
    """A network as Nova's os-networks writes it, for an admin or not."""
    known: dict[str, Any] = {"id": network.id, "label": network.label} | _addresses(network)
    if admin:
        known["project_id"] = network.project or None
    fields = FIELDS + ADMIN_FIELDS if admin else FIELDS
    return {name: known.get(name) for name in fields}


def _addresses(network: Shown) -> dict[str, str]:
    if not network.cidr:
        return {}
    cidr = ipaddress.ip_network(network.cidr, strict=False)
    if isinstance(cidr, ipaddress.IPv6Network):
        return {"cidr_v6": str(cidr), "netmask_v6": str(cidr.prefixlen)}
    return {"cidr": str(cidr), "netmask": str(cidr.netmask)}


def usable(request: web.Request) -> list[Shown]:
    """The networks the caller may put a server on: the configured ones, then
    the network service's (with their first subnet's CIDR)."""
    who_ = who(request)
    configured = [Shown(n.name, n.name, n.cidr, n.project) for n in state(request).config.networks
                  if n.visible_to(who_.project, who_.admin)]
    net, asking = ports.service(request), ports.caller(request)
    subnets = {s.network_id: s for s in reversed(net.subnets.list(asking, ListQuery()))}
    return configured + [
        Shown(n.id, n.name, subnets[n.id].cidr if n.id in subnets else "",
              "" if n.shared else n.project)
        for n in net.networks.list(asking, ListQuery())]


def _serves(request: web.Request) -> None:
    if version(request) >= PROXY_GONE:
        raise ItemNotFound("The resource could not be found.")


async def index(request: web.Request) -> web.Response:
    _serves(request)
    admin = who(request).admin
    return web.json_response({"networks": [network_body(n, admin) for n in usable(request)]})


async def show(request: web.Request) -> web.Response:
    _serves(request)
    ident = request.match_info["id"]
    found = next((n for n in usable(request) if n.id == ident), None)
    if found is None:
        raise ItemNotFound("Network not found")
    return web.json_response({"network": network_body(found, who(request).admin)})


async def tenant_index(request: web.Request) -> web.Response:
    """os-tenant-networks: the networks the caller's project may use, as
    Nova's proxy lists them (id, label, cidr)."""
    _serves(request)
    return web.json_response({"networks": [_tenant_body(n) for n in usable(request)]})


async def tenant_show(request: web.Request) -> web.Response:
    _serves(request)
    found = next((n for n in usable(request) if n.id == request.match_info["id"]), None)
    if found is None:
        raise ItemNotFound("Network not found")
    return web.json_response({"network": _tenant_body(found)})


def _tenant_body(network: Shown) -> dict[str, Any]:
    return {"id": network.id, "label": network.label, "cidr": network.cidr or None}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-networks", index)
    app.router.add_get("/v2.1/os-networks/{id}", show)
    app.router.add_get("/v2.1/os-tenant-networks", tenant_index)
    app.router.add_get("/v2.1/os-tenant-networks/{id}", tenant_show)
