"""Security group rules as Nova's proxy of Neutron makes them (2.1-2.35; 404
from 2.36, as Nova):

    POST   /v2.1/os-security-group-rules       {"security_group_rule": {
               parent_group_id, ip_protocol, from_port, to_port, cidr | group_id}}
    DELETE /v2.1/os-security-group-rules/{id}  202

Nova's rules are ingress only. A rule from a CIDR (0.0.0.0/0 when none is
given) needs a protocol (tcp, udp or icmp) and both ports; one from a group
may leave them out (tcp and udp: every port; icmp: every type; no
protocol: anything). Ports of tcp and udp are 1-65535, from <= to; ICMP's
type and code -1 (any) to 255. A rule the group has already is 400, as
Nova; everything else is Neutron's to check (network.rule_checks). As
Nova writes them to Neutron: IPv4 unless the CIDR is IPv6, and a port of -1
is none.

The rules are kept and served only: no host enforces them yet.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from api.compute import ports
from api.compute.security_groups import called, group_id, remotes, rule_body, serves
from api.errors import BadRequest, Forbidden
from api.state import json_body
from network.errors import Conflict
from network.resources import Direction, EtherType, RuleSpec, SecurityGroup, SecurityGroupRule

_PROTOCOLS = ("tcp", "udp", "icmp")


async def create(request: web.Request) -> web.Response:
    serves(request)
    body = await json_body(request)
    fields = body.get("security_group_rule")
    if not isinstance(fields, dict):
        raise BadRequest("Missing parameter security_group_rule")
    net, caller = ports.service(request), ports.caller(request)
    parent = group_id(str(fields.get("parent_group_id")))
    group = await called(request, net.security_groups.show, caller, parent)
    remote = fields.get("group_id")
    if remote is not None:
        remote = group_id(str(remote))
    spec = rule_spec(parent, fields, remote)
    known = await remotes(request, [group])
    if remote is not None and remote not in known:
        known |= await remotes(request, [await called(
            request, net.security_groups.show, caller, remote)])
    if _exists(group, spec, known):
        raise BadRequest(f"This rule already exists in group {parent}")
    try:
        made = await called(request, net.security_group_rules.create, caller, spec)
    except Conflict as exc:  # Nova reads Neutron's 409 here as over quota: 403
        raise Forbidden(exc.message) from None
    return web.json_response({"security_group_rule": rule_body(made, known)})


async def delete(request: web.Request) -> web.Response:
    serves(request)
    ident = group_id(request.match_info["id"])
    net, caller = ports.service(request), ports.caller(request)
    await called(request, net.security_group_rules.delete, caller, ident)
    return web.Response(status=202)


def rule_spec(parent: str, fields: dict[str, Any], remote: str | None) -> RuleSpec:
    """The Neutron rule Nova writes for `fields`; 400 as Nova for one it refuses."""
    protocol, low, high = fields.get("ip_protocol"), fields.get("from_port"), \
        fields.get("to_port")
    if protocol is not None and not isinstance(protocol, str):
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if remote is not None and low is None and high is None and protocol:
        low, high = (-1, -1) if protocol.upper() == "ICMP" else (
            (1, 65535) if protocol.upper() in ("TCP", "UDP") else (None, None))
    cidr = None if remote is not None else _cidr(fields.get("cidr"))
    if protocol and low is not None and high is not None:
        low, high = _ports(protocol, low, high)
    elif cidr is not None:
        raise BadRequest("Not enough parameters to build a valid rule.")
    else:
        protocol, low, high = None, None, None
    version = ipaddress.ip_network(cidr, strict=False).version if cidr else 4
    return RuleSpec(
        security_group_id=parent, direction="ingress",
        ethertype=(EtherType.IPV6 if version == 6 else EtherType.IPV4).value,
        protocol=protocol, port_range_min=None if low == -1 else low,
        port_range_max=None if high == -1 else high, remote_ip_prefix=cidr,
        remote_group_id=remote)


def _cidr(value: Any) -> str:
    if not value:
        return "0.0.0.0/0"
    try:
        given = ipaddress.ip_interface(str(value))  # the address as written, not its network
    except ValueError:
        raise BadRequest(f"Invalid cidr {str(value)[:64]}.") from None
    if given.network.prefixlen == 0 and str(given.ip) not in ("0.0.0.0", "::"):
        raise BadRequest(f"Bad prefix for network in cidr {value}")
    return str(value)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int, int]:
    """Nova's checks of a protocol and its ports."""
    try:
        first, last = int(low), int(high)
    except (TypeError, ValueError):
        raise BadRequest("Type and Code must be integers for ICMP protocol type"
                         if protocol.upper() == "ICMP"
                         else "To and From ports must be integers") from None
    kind = protocol.upper()
    if protocol.lower() not in _PROTOCOLS:
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if kind in ("TCP", "UDP") and first > last:
        raise BadRequest(f"Invalid port range {first}:{last}. Former value cannot be greater"
                         " than the later")
    if kind in ("TCP", "UDP") and (first < 1 or last > 65535):
        raise BadRequest(f"Invalid port range {first}:{last}. Valid {kind} ports should be"
                         " between 1-65535")
    if kind == "ICMP" and not (-1 <= first <= 255 and -1 <= last <= 255):
        raise BadRequest(f"Invalid port range {first}:{last}. For ICMP, the type:code must"
                         " be valid")
    return first, last


def _exists(group: SecurityGroup, spec: RuleSpec, known: dict[str, SecurityGroup]) -> bool:
    """Whether the group has the rule already, compared as Nova compares
    them (protocol, ports, CIDR and group, in Nova's terms)."""
    new = rule_body(_as_rule(group, spec), known)
    for rule in group.rules:
        shown = rule_body(rule, known)
        if shown is not None and new is not None and rule.direction.value == "ingress" and \
                all(shown[k] == new[k] for k in ("ip_protocol", "from_port", "to_port",
                                                  "group", "ip_range")):
            return True
    return False


def _as_rule(group: SecurityGroup, spec: RuleSpec) -> SecurityGroupRule:
    return SecurityGroupRule(
        id="", security_group_id=group.id, project=group.project, direction=Direction.INGRESS,
        ethertype=EtherType(spec.ethertype), protocol=spec.protocol.lower()
        if spec.protocol else None, port_range_min=spec.port_range_min,
        port_range_max=spec.port_range_max, remote_ip_prefix=spec.remote_ip_prefix,
        remote_group_id=spec.remote_group_id, description="", created_at=0.0,
        updated_at=0.0)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v2.1/os-security-group-rules", create)
    app.router.add_delete("/v2.1/os-security-group-rules/{id}", delete)

