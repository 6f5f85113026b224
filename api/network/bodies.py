"""Neutron's request bodies and list queries read into the service's values
(network.resources). Anything malformed is InvalidInput (400) with Neutron's
wording; attributes this API does not serve are refused, not ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import MultiMapping

from network.errors import InvalidInput
from network.resources import (
    AllocationPool,
    Changes,
    HostRoute,
    IpRequest,
    ListQuery,
    NetworkSpec,
    NetworkType,
    PortSpec,
    SortDir,
    SubnetSpec,
)

PROJECT = ("tenant_id", "project_id")
_PAGING = frozenset({"fields", "limit", "marker", "page_reverse", "sort_key", "sort_dir"})
_TRUE, _FALSE = ("true", "1"), ("false", "0")
# A subnet's attributes of extensions not served (subnet pools, IPv6 modes):
# taken when null, as clients send them so, refused otherwise.
_UNUSED = ("subnetpool_id", "ipv6_ra_mode", "ipv6_address_mode")

# Neutron's attribute names -> the service's field names, for filters and sorting.
NETWORK_FIELDS = {"id": "id", "name": "name", "tenant_id": "project", "project_id": "project",
                  "shared": "shared", "admin_state_up": "admin_state_up", "status": "status",
                  "provider:network_type": "type",
                  "provider:physical_network": "physical_network",
                  "provider:segmentation_id": "segmentation_id", "description": "description"}
SUBNET_FIELDS = {"id": "id", "name": "name", "network_id": "network_id", "tenant_id": "project",
                 "project_id": "project", "cidr": "cidr", "ip_version": "ip_version",
                 "gateway_ip": "gateway_ip", "enable_dhcp": "enable_dhcp",
                 "description": "description"}
PORT_FIELDS = {"id": "id", "name": "name", "network_id": "network_id", "tenant_id": "project",
               "project_id": "project", "mac_address": "mac_address",
               "device_id": "device_id", "device_owner": "device_owner",
               "binding:host_id": "binding_host", "status": "status",
               "admin_state_up": "admin_state_up", "description": "description",
               "fixed_ips": "fixed_ips"}  # fixed_ips=ip_address=X and the like: list_query


def bad(message: str) -> InvalidInput:
    return InvalidInput(message, "HTTPBadRequest")


def resource(body: Any, key: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The attributes of `{"<key>": {...}}`; 400 for another shape or an
    attribute not in `allowed`."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad(f"Resource body required: a JSON object with a '{key}' object")
    fields: dict[str, Any] = body[key]
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise bad(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    return fields


def bulk(body: Any, plural: str, allowed: frozenset[str]) -> list[dict[str, Any]] | None:
    """The attributes of each of `{"<plural>": [{...}, ...]}` (a bulk create),
    None for another shape; 400 for an empty list or as `resource` says."""
    if not isinstance(body, dict) or plural not in body or len(body) != 1:
        return None
    items = body[plural]
    if not isinstance(items, list) or not items:
        raise bad(f"Resources required: '{plural}' is a non-empty list of objects")
    return [resource({plural: item}, plural, allowed) for item in items]


def network_spec(fields: dict[str, Any]) -> NetworkSpec:
    kind = fields.get("provider:network_type")
    if kind is not None and kind not in {t.value for t in NetworkType}:
        raise bad(f"Invalid input for provider:network_type. Reason: '{kind}' is not one of"
                  f" {', '.join(t.value for t in NetworkType)}.")
    return NetworkSpec(
        name=_text(fields, "name"), project=_project(fields),
        shared=_bool(fields, "shared", False),
        admin_state_up=_bool(fields, "admin_state_up", True),
        type=NetworkType(kind) if kind is not None else None,
        physical_network=_optional_text(fields, "provider:physical_network"),
        segmentation_id=_optional_int(fields, "provider:segmentation_id"),
        description=_text(fields, "description"))


NETWORK_CREATE = frozenset({"name", *PROJECT, "shared", "admin_state_up",
                            "provider:network_type", "provider:physical_network",
                            "provider:segmentation_id", "description"})
NETWORK_UPDATE = frozenset({"name", "shared", "admin_state_up", "description"})


def network_changes(fields: dict[str, Any]) -> Changes:
    return Changes({**_texts(fields, "name", "description"),
                    **_bools(fields, "shared", "admin_state_up")})


SUBNET_CREATE = frozenset({"network_id", "cidr", "ip_version", "name", *PROJECT, "gateway_ip",
                           "allocation_pools", "dns_nameservers", "enable_dhcp", "host_routes",
                           "description", *_UNUSED})
SUBNET_UPDATE = frozenset({"name", "enable_dhcp", "dns_nameservers", "host_routes", "gateway_ip",
                           "allocation_pools", "description"})


def subnet_spec(fields: dict[str, Any]) -> SubnetSpec:
    _check_unused(fields)
    version = fields.get("ip_version", 4)
    if version not in (4, 6, "4", "6"):
        raise bad(f"Invalid input for ip_version. Reason: {version!r} is not in [4, 6].")
    gateway = fields.get("gateway_ip", "auto")
    if gateway is not None and not isinstance(gateway, str):
        raise bad("Invalid input for gateway_ip. Reason: not an IP address.")
    return SubnetSpec(
        network_id=_required(fields, "network_id"), cidr=_required(fields, "cidr"),
        ip_version=int(version), name=_text(fields, "name"), project=_project(fields),
        gateway_ip=None if gateway == "auto" else (gateway or ""),
        allocation_pools=_pools(fields.get("allocation_pools")),
        dns_nameservers=_strings(fields, "dns_nameservers"),
        enable_dhcp=_bool(fields, "enable_dhcp", True),
        host_routes=_routes(fields.get("host_routes")), description=_text(fields, "description"))


def _check_unused(fields: dict[str, Any]) -> None:
    for name in _UNUSED:
        if fields.get(name) is not None:
            raise bad(f"Invalid input for {name}. Reason: {fields[name]!r} is not supported"
                      " here (no such extension is served).")


def subnet_changes(fields: dict[str, Any]) -> Changes:
    values: dict[str, object] = {**_texts(fields, "name", "description"),
                                 **_bools(fields, "enable_dhcp")}
    if "dns_nameservers" in fields:
        values["dns_nameservers"] = _strings(fields, "dns_nameservers")
    if "host_routes" in fields:
        values["host_routes"] = _routes(fields["host_routes"])
    if "gateway_ip" in fields:
        gateway = fields["gateway_ip"]
        if gateway is not None and not isinstance(gateway, str):
            raise bad("Invalid input for gateway_ip. Reason: not an IP address.")
        values["gateway_ip"] = gateway or None
    if "allocation_pools" in fields:
        values["allocation_pools"] = _pools(fields["allocation_pools"]) or ()
    return Changes(values)


PORT_CREATE = frozenset({"network_id", "name", *PROJECT, "admin_state_up", "mac_address",
                         "fixed_ips", "device_id", "device_owner", "binding:host_id",
                         "security_groups", "description"})
PORT_UPDATE = frozenset({"name", "admin_state_up", "device_id", "device_owner",
                         "binding:host_id", "status", "security_groups", "description",
                         "fixed_ips"})


def port_spec(fields: dict[str, Any]) -> PortSpec:
    return PortSpec(
        network_id=_required(fields, "network_id"), name=_text(fields, "name"),
        project=_project(fields), mac_address=_optional_text(fields, "mac_address"),
        fixed_ips=_fixed_ips(fields.get("fixed_ips")), device_id=_text(fields, "device_id"),
        device_owner=_text(fields, "device_owner"),
        binding_host=_text(fields, "binding:host_id"),
        admin_state_up=_bool(fields, "admin_state_up", True),
        security_groups=_groups(fields), description=_text(fields, "description"))


def port_changes(fields: dict[str, Any]) -> Changes:
    values = {**_texts(fields, "name", "device_id", "device_owner", "status", "description"),
              **_bools(fields, "admin_state_up")}
    if "fixed_ips" in fields:
        values["fixed_ips"] = _fixed_ips(fields["fixed_ips"] or [])
    if "binding:host_id" in fields:
        values["binding_host"] = _text(fields, "binding:host_id")
    if "security_groups" in fields:
        values["security_groups"] = _groups(fields) or ()
    return Changes(values)


def _groups(fields: dict[str, Any]) -> tuple[str, ...] | None:
    """A port's `security_groups` (ids); None when not given (or null)."""
    value = fields.get("security_groups")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad("Invalid input for security_groups. Reason: not a list of security group"
                  " ids.")
    return tuple(value)


def list_query(query: MultiMapping[str], names: Mapping[str, str]) -> ListQuery:
    """A list's filters (Neutron's names -> the service's), sorting and paging."""
    filters: dict[str, tuple[str, ...]] = {}
    for key in {k for k in query if k not in _PAGING}:
        if key not in names:
            raise bad(f"{key} is invalid attribute for filtering")
        if key == "fixed_ips":
            for name, value in map(_ip_filter, query.getall(key)):
                filters[name] = (*filters.get(name, ()), value)
            continue
        filters[names[key]] = (*filters.get(names[key], ()), *query.getall(key))
    keys, dirs = query.getall("sort_key", []), query.getall("sort_dir", [])
    if len(keys) != len(dirs) or any(d not in ("asc", "desc") for d in dirs):
        raise bad("The number of sort_keys and sort_dirs must be same, each asc or desc")
    if any(k not in names for k in keys):
        raise bad(f"{', '.join(k for k in keys if k not in names)} is invalid attribute"
                  " for sort_keys")
    return ListQuery(filters, tuple((names[k], SortDir(d)) for k, d in zip(keys, dirs,
                                                                             strict=True)),
                     _limit(query.get("limit")), query.get("marker", ""),
                     query.get("page_reverse", "").lower() in _TRUE)


def _ip_filter(text: str) -> tuple[str, str]:
    """`fixed_ips=ip_address=X` (or subnet_id, ip_address_substr) as the
    service's filter (network.fixed_ips names them)."""
    name, _, value = text.partition("=")
    if name not in ("ip_address", "subnet_id", "ip_address_substr") or not value:
        raise bad(f"Invalid fixed_ips filter '{text}': ip_address=, subnet_id= or"
                  " ip_address_substr=")
    return f"fixed_ips.{name}", value


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise bad(f"Limit must be an integer 0 or greater and not '{text}'")
    return int(text) or None  # 0: no limit, as Neutron reads it


def _required(fields: dict[str, Any], name: str) -> str:
    if not isinstance(fields.get(name), str) or not fields[name]:
        raise bad(f"Failed to parse request. Required attribute '{name}' not specified")
    return str(fields[name])


def text(fields: dict[str, Any], name: str) -> str:
    """The string attribute `name` ("" when not given or null); 400 for
    anything else, or one over 255 characters."""
    return _text(fields, name)


def project(fields: dict[str, Any]) -> str:
    """The project a body names (tenant_id or project_id, the same), or ""."""
    return _project(fields)


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise bad(f"Invalid input for {name}. Reason: '{value}' is not a valid string.")
    return value


def _optional_text(fields: dict[str, Any], name: str) -> str | None:
    return _text(fields, name) if fields.get(name) is not None else None


def _texts(fields: dict[str, Any], *names: str) -> dict[str, object]:
    return {name: _text(fields, name) for name in names if name in fields}


def _bool(fields: dict[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise bad(f"Invalid input for {name}. Reason: '{value}' cannot be converted to boolean.")


def _bools(fields: dict[str, Any], *names: str) -> dict[str, object]:
    return {name: _bool(fields, name, False) for name in names if name in fields}


def _optional_int(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise bad(f"Invalid input for {name}. Reason: '{value}' is not an integer.")
    return int(value)


def _project(fields: dict[str, Any]) -> str:
    asked = {_text(fields, key) for key in PROJECT if key in fields}
    if len(asked) > 1:
        raise bad("tenant_id and project_id do not match")
    return asked.pop() if asked else ""


def _strings(fields: dict[str, Any], name: str) -> tuple[str, ...]:
    value = fields.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(f"Invalid input for {name}. Reason: not a list of strings.")
    return tuple(value)


def _pools(value: Any) -> tuple[AllocationPool, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(p, dict) and set(p) == {"start", "end"}
            and all(isinstance(v, str) for v in p.values()) for p in value):
        raise bad("Invalid input for allocation_pools. Reason: each pool is {start, end}.")
    return tuple(AllocationPool(p["start"], p["end"]) for p in value)


def _routes(value: Any) -> tuple[HostRoute, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
            isinstance(r, dict) and set(r) == {"destination", "nexthop"}
            and all(isinstance(v, str) for v in r.values()) for r in value):
        raise bad("Invalid input for host_routes. Reason: each route is {destination,"
                  " nexthop}.")
    return tuple(HostRoute(r["destination"], r["nexthop"]) for r in value)


def _fixed_ips(value: Any) -> tuple[IpRequest, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(ip, dict) and ip and set(ip) <= {"subnet_id", "ip_address"}
            and all(isinstance(v, str) for v in ip.values()) for ip in value):
        raise bad("Invalid input for fixed_ips. Reason: each is {subnet_id, ip_address},"
                  " one or both.")
    return tuple(IpRequest(ip.get("subnet_id", ""), ip.get("ip_address", "")) for ip in value)
