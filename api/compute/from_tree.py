"""The compute resources made from what the tree already knows, and their routes.

    os-availability-zone    api.compute.zones        leaf cells
    os-hypervisors          api.compute.hypervisors  hosts of the leaves (admins)
    os-services             api.compute.services     hosts and routers (admins)
    os-hosts                api.compute.hosts        the same, before 2.43 (admins)
    os-simple-tenant-usage  api.compute.usage        the instance list over a window
    os-instance_usage_audit_log  api.compute.audit_log  the hosts (no audit runs)
    os-migrations           api.compute.migrations   none: the tree moves no instance
    servers/{id}/diagnostics  api.compute.diagnostics  a server and its leaf (admins)
    images                  api.compute.images       the configured [[images]]
    os-networks             api.compute.networks     the configured [[networks]]
    extensions              api.compute.extensions   Nova's frozen list
"""

from __future__ import annotations

from aiohttp import web

from api.compute import (
    audit_log,
    diagnostics,
    extensions,
    hosts,
    hypervisors,
    images,
    migrations,
    networks,
    services,
    usage,
    zones,
)


def add_routes(app: web.Application) -> None:
    for module in (zones, hypervisors, services, hosts, usage, audit_log, migrations,
                   diagnostics, images, networks, extensions):
        module.add_routes(app)
