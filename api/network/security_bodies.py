"""Neutron's bodies for security groups and their rules read into the
service's values (network.resources), with bodies' shared readers; anything
malformed is 400 with Neutron's wording."""

from __future__ import annotations

from typing import Any

from api.network.bodies import PROJECT, bad, project, text
from network.resources import Changes, RuleSpec, SecurityGroupSpec

# Neutron's attribute names -> the service's field names, for filters and sorting.
GROUP_FIELDS = {"id": "id", "name": "name", "description": "description",
                "tenant_id": "project", "project_id": "project"}
RULE_FIELDS = {"id": "id", "security_group_id": "security_group_id", "tenant_id": "project",
               "project_id": "project", "direction": "direction", "ethertype": "ethertype",
               "protocol": "protocol", "port_range_min": "port_range_min",
               "port_range_max": "port_range_max", "remote_ip_prefix": "remote_ip_prefix",
               "remote_group_id": "remote_group_id", "description": "description"}

GROUP_CREATE = frozenset({"name", "description", *PROJECT})
GROUP_UPDATE = frozenset({"name", "description"})
RULE_CREATE = frozenset({"security_group_id", "direction", "ethertype", "protocol",
                         "port_range_min", "port_range_max", "remote_ip_prefix",
                         "remote_group_id", "description", *PROJECT})
RULE_UPDATE = frozenset({"description"})


def group_spec(fields: dict[str, Any]) -> SecurityGroupSpec:
    return SecurityGroupSpec(name=text(fields, "name"),
                             description=text(fields, "description"),
                             project=project(fields))


def group_changes(fields: dict[str, Any]) -> Changes:
    return Changes({name: text(fields, name) for name in GROUP_UPDATE if name in fields})


def rule_spec(fields: dict[str, Any]) -> RuleSpec:
    direction = fields.get("direction")
    if not isinstance(direction, str):
        raise bad("Failed to parse request. Required attribute 'direction' not specified")
    group = fields.get("security_group_id")
    if not isinstance(group, str) or not group:
        raise bad("Failed to parse request. Required attribute 'security_group_id' not"
                  " specified")
    ethertype = fields.get("ethertype") or "IPv4"
    if not isinstance(ethertype, str):
        raise bad(f"Invalid input for ethertype. Reason: '{ethertype}' is not a string.")
    return RuleSpec(
        security_group_id=group, direction=direction, ethertype=ethertype,
        protocol=_protocol(fields.get("protocol")),
        port_range_min=_port(fields, "port_range_min"),
        port_range_max=_port(fields, "port_range_max"),
        remote_ip_prefix=_optional(fields, "remote_ip_prefix"),
        remote_group_id=_optional(fields, "remote_group_id"),
        description=text(fields, "description"), project=project(fields))


def rule_changes(fields: dict[str, Any]) -> Changes:
    return Changes({"description": text(fields, "description")} if "description" in fields
                   else {})


def _protocol(value: Any) -> str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return None if value is None else str(value)
    if not isinstance(value, str):
        raise bad(f"Invalid input for protocol. Reason: '{value}' is not a string.")
    return value


def _port(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise bad(f"Invalid input for {name}. Reason: '{value}' is not a valid port number.")
    port = int(value)
    if not 0 <= port <= 65535:
        raise bad(f"Invalid input for {name}. Reason: {port} is not in valid range [0, 65535].")
    return port


def _optional(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"Invalid input for {name}. Reason: '{value}' is not a string.")
    return value or None
