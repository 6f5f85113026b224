"""Neutron's bodies for routers and their interfaces. A router has no
external gateway here (`external_gateway_info` null): nothing routes
(network.routers)."""

from __future__ import annotations

from typing import Any

from api.network.views import stamp
from network.resources import Caller, Router, RouterInterface


def router_body(router: Router, caller: Caller) -> dict[str, Any]:
    del caller
    return {
        "id": router.id, "name": router.name, "tenant_id": router.project,
        "project_id": router.project, "admin_state_up": router.admin_state_up,
        "status": router.status, "external_gateway_info": None,
        "description": router.description, "tags": [],
        "created_at": stamp(router.created_at), "updated_at": stamp(router.updated_at)}


def interface_body(interface: RouterInterface) -> dict[str, Any]:
    """The answer to add_router_interface and remove_router_interface."""
    subnets = list(interface.subnet_ids)
    return {"id": interface.router_id, "tenant_id": interface.project,
            "project_id": interface.project, "port_id": interface.port_id,
            "network_id": interface.network_id, "subnet_id": subnets[0] if subnets else None,
            "subnet_ids": subnets}
