"""A server's addresses by network, and its password, as Nova serves them.

    GET /v2.1/servers/{id}/ips             {"addresses": {NETWORK: [{version, addr}]}}
    GET /v2.1/servers/{id}/ips/{network}   {NETWORK: [...]}; 404 for a network it is not on
    GET /v2.1/servers/{id}/os-server-password     {"password": ""}
    DELETE /v2.1/servers/{id}/os-server-password  204

The tree sets no guest password and keeps none (no metadata service for a
guest to post one to), so a server's password is always "", which is what
Nova answers for a server without one; clearing it changes nothing.
"""

from __future__ import annotations

from aiohttp import web

from api.compute import ports, server_edits
from api.compute.views import addresses
from api.errors import ItemNotFound


async def index(request: web.Request) -> web.Response:
    return web.json_response({"addresses": await _by_network(request)})


async def show(request: web.Request) -> web.Response:
    network = request.match_info["network"]
    found = await _by_network(request)
    if network not in found:
        raise ItemNotFound("Network could not be found")
    return web.json_response({network: found[network]})


async def _by_network(request: web.Request) -> dict[str, list[dict[str, object]]]:
    instance = await server_edits.current(request)
    ids = sorted({p.network for p in instance.ports if p.port_id})
    names = ports.network_names(request)(ids) if ids else {}
    return {network: [{"version": e["version"], "addr": e["addr"]} for e in entries]
            for network, entries in addresses(instance, False, names).items()}


async def password(request: web.Request) -> web.Response:
    await server_edits.current(request)  # 404 for a server the caller may not see
    return web.json_response({"password": ""})


async def clear_password(request: web.Request) -> web.Response:
    await server_edits.current(request)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/v2.1/servers/{id}/ips", index)
    add.add_get("/v2.1/servers/{id}/ips/{network}", show)
    add.add_get("/v2.1/servers/{id}/os-server-password", password)
    add.add_delete("/v2.1/servers/{id}/os-server-password", clear_password)
