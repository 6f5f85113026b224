"""Neutron's bodies for routers and their interfaces read into the service's
values (network.resources), with bodies' shared readers; anything malformed
is 400 with Neutron's wording. Routers are records only (network.routers):
`external_gateway_info` null or {} is taken, one naming a network refused by
the service (no network is external)."""

from __future__ import annotations

from typing import Any

from api.network.bodies import PROJECT, bad, project, text
from network.resources import Changes, InterfaceRequest, RouterSpec

# Neutron's attribute names -> the service's field names, for filters and sorting.
ROUTER_FIELDS = {"id": "id", "name": "name", "tenant_id": "project", "project_id": "project",
                 "admin_state_up": "admin_state_up", "status": "status",
                 "description": "description"}
ROUTER_CREATE = frozenset({"name", "admin_state_up", "description", "external_gateway_info",
                           *PROJECT})
ROUTER_UPDATE = frozenset({"name", "admin_state_up", "description", "external_gateway_info"})


def router_spec(fields: dict[str, Any]) -> RouterSpec:
    return RouterSpec(name=text(fields, "name"), project=project(fields),
                      admin_state_up=_bool(fields, "admin_state_up", True),
                      description=text(fields, "description"),
                      gateway_network=_gateway(fields.get("external_gateway_info")))


def router_changes(fields: dict[str, Any]) -> Changes:
    values: dict[str, object] = {name: text(fields, name) for name in ("name", "description")
                                 if name in fields}
    if "admin_state_up" in fields:
        values["admin_state_up"] = _bool(fields, "admin_state_up", True)
    gateway = _gateway(fields.get("external_gateway_info"))
    if gateway:
        values["gateway_network"] = gateway
    return Changes(values)


def interface_request(body: Any) -> InterfaceRequest:
    """`{"subnet_id": ...}` or `{"port_id": ...}` (the service says which
    it takes together)."""
    if not isinstance(body, dict):
        raise bad("Resource body required: a JSON object with subnet_id or port_id")
    unknown = sorted(set(body) - {"subnet_id", "port_id"})
    if unknown:
        raise bad(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for name in ("subnet_id", "port_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise bad(f"Invalid input for {name}. Reason: '{body[name]}' is not a valid UUID.")
    return InterfaceRequest(subnet_id=body.get("subnet_id") or "",
                            port_id=body.get("port_id") or "")


def _gateway(value: Any) -> str:
    """The network an external gateway is asked on; "" for none (null or {})."""
    if value is None or value == {}:
        return ""
    if not isinstance(value, dict) or not isinstance(value.get("network_id"), str):
        raise bad("Invalid input for external_gateway_info. Reason: a network_id is"
                  " required.")
    return str(value["network_id"])


def _bool(fields: dict[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise bad(f"Invalid input for {name}. Reason: '{value}' cannot be converted to boolean.")
