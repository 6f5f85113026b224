"""Neutron's bodies for networks, subnets, ports, security groups and their
rules, and the links of a page.

Provider and binding attributes are shown to admins only, as Neutron's default
policy does; `fields` (the query's) keeps only the keys asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from multidict import MultiMapping
from yarl import URL

from network.resources import (
    Caller,
    Network,
    Port,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)

MTU = 1500


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def network_body(net: Network, caller: Caller) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": net.id, "name": net.name, "tenant_id": net.project, "project_id": net.project,
        "admin_state_up": net.admin_state_up, "shared": net.shared, "status": net.status,
        "subnets": list(net.subnets), "mtu": MTU, "description": net.description, "tags": [],
        "created_at": stamp(net.created_at), "updated_at": stamp(net.updated_at)}
    if caller.admin:
        body.update({"provider:network_type": net.type.value,
                     "provider:physical_network": net.physical_network,
                     "provider:segmentation_id": net.segmentation_id})
    return body


def subnet_body(subnet: Subnet, caller: Caller) -> dict[str, Any]:
    del caller
    return {
        "id": subnet.id, "name": subnet.name, "network_id": subnet.network_id,
        "tenant_id": subnet.project, "project_id": subnet.project, "cidr": subnet.cidr,
        "ip_version": subnet.ip_version, "gateway_ip": subnet.gateway_ip,
        "allocation_pools": [{"start": p.start, "end": p.end} for p in subnet.allocation_pools],
        "dns_nameservers": list(subnet.dns_nameservers),
        "host_routes": [{"destination": r.destination, "nexthop": r.nexthop}
                        for r in subnet.host_routes],
        "enable_dhcp": subnet.enable_dhcp, "ipv6_address_mode": None, "ipv6_ra_mode": None,
        "subnetpool_id": None, "description": subnet.description, "tags": [],
        "created_at": stamp(subnet.created_at), "updated_at": stamp(subnet.updated_at)}


def port_body(port: Port, caller: Caller) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": port.id, "name": port.name, "network_id": port.network_id,
        "tenant_id": port.project, "project_id": port.project,
        "mac_address": port.mac_address,
        "fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                      for ip in port.fixed_ips],
        "device_id": port.device_id, "device_owner": port.device_owner,
        "status": port.status.value, "admin_state_up": port.admin_state_up,
        "security_groups": list(port.security_groups), "description": port.description,
        "tags": [],
        "created_at": stamp(port.created_at), "updated_at": stamp(port.updated_at)}
    if caller.admin:
        body.update({"binding:host_id": port.binding_host,
                     "binding:vif_type": "bridge" if port.binding_host else "unbound",
                     "binding:vnic_type": "normal", "binding:profile": {},
                     "binding:vif_details": {}})
    return body


def security_group_body(group: SecurityGroup, caller: Caller) -> dict[str, Any]:
    return {
        "id": group.id, "name": group.name, "description": group.description,
        "tenant_id": group.project, "project_id": group.project,
        "security_group_rules": [rule_body(r, caller) for r in group.rules], "tags": [],
        "created_at": stamp(group.created_at), "updated_at": stamp(group.updated_at)}


def rule_body(rule: SecurityGroupRule, caller: Caller) -> dict[str, Any]:
    del caller
    return {
        "id": rule.id, "security_group_id": rule.security_group_id,
        "tenant_id": rule.project, "project_id": rule.project,
        "direction": rule.direction.value, "ethertype": rule.ethertype.value,
        "protocol": rule.protocol, "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max, "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id, "description": rule.description,
        "created_at": stamp(rule.created_at), "updated_at": stamp(rule.updated_at)}


def only(body: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """`body` with only `fields` (all of it when none are asked for)."""
    return {k: v for k, v in body.items() if k in fields} if fields else body


def page_links(url: URL, query: MultiMapping[str], ids: Sequence[str], limit: int | None
               ) -> list[dict[str, str]]:
    """Neutron's `<collection>_links`: `next` after a full page, `previous`
    when the page began at a marker."""
    if limit is None or not ids:
        return []
    kept = [(k, v) for k, v in query.items() if k not in ("marker", "page_reverse")]
    reverse = query.get("page_reverse", "").lower() == "true"

    def link(rel: str, marker: str, backwards: bool) -> dict[str, str]:
        tail = [("page_reverse", "True")] if backwards else []
        return {"rel": rel, "href": str(url.with_query([*kept, ("marker", marker), *tail]))}

    # A reversed page went backwards: going on is "previous", going back "next".
    on, back = ("previous", "next") if reverse else ("next", "previous")
    links = []
    if len(ids) >= limit:
        links.append(link(on, ids[0] if reverse else ids[-1], reverse))
    if "marker" in query:
        links.append(link(back, ids[-1] if reverse else ids[0], not reverse))
    return links
