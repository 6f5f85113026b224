"""The two actions of a router beyond its collection's five (routes serves
those): `PUT /routers/{id}/add_router_interface` and
`/remove_router_interface`, with `{"subnet_id"}` or `{"port_id"}`, answered
200 with Neutron's interface body. Records only: no agent forwards between a
router's subnets (network.routers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from api.body import read_json
from api.identity.tokens import TokenInfo
from api.network import router_bodies, router_views
from api.network.bodies import bad
from api.state import WHO
from network.resources import Caller
from network.service import NetworkService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ACTIONS = ("add_router_interface", "remove_router_interface")


def add_interface_routes(router: web.UrlDispatcher, base: str, service: NetworkService,
                         guard: Callable[[Handler], Handler]) -> None:
    """Mount the two actions under `base` (the routers' collection URL),
    each handler wrapped in `guard` (Neutron's error bodies)."""
    for action in ACTIONS:
        router.add_put(f"{base}/{{id}}/{action}", guard(_handler(service, action)))


def _handler(service: NetworkService, action: str) -> Handler:
    call = (service.routers.add_interface if action == ACTIONS[0]
            else service.routers.remove_interface)

    async def handle(request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except ValueError as exc:
            raise bad(f"Malformed request body: {exc}") from None
        who: TokenInfo = request[WHO]
        done = await asyncio.to_thread(call, Caller(who.project, who.admin),
                                       request.match_info["id"],
                                       router_bodies.interface_request(body))
        return web.json_response(router_views.interface_body(done))
    return handle
