"""The compute resources made from what the tree already knows, and their routes.

    os-availability-zone    api.compute.zones        leaf cells
    os-hypervisors          api.compute.hypervisors  hosts of the leaves (admins)
    os-services             api.compute.services     hosts and routers (admins)
    os-hosts                api.compute.hosts        the same, before 2.43 (admins)
    os-simple-tenant-usage  api.compute.usage        the instance list over a window
    images                  api.compute.images       the configured [[images]]
    extensions              api.compute.extensions   Nova's frozen list
"""

from __future__ import annotations

from aiohttp import web

from api.compute import extensions, hosts, hypervisors, images, services, usage, zones


def add_routes(app: web.Application) -> None:
    for module in (zones, hypervisors, services, hosts, usage, images, extensions):
        module.add_routes(app)
