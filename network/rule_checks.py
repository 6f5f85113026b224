"""A security group rule as Neutron validates it, before it is stored.

    direction        ingress or egress (required)
    ethertype        IPv4 or IPv6 (any case; IPv4 when not given)
    protocol         None (any), a name Neutron knows (lower-cased), or a
                     number 0-255 (kept as its text)
    port_range_*     1-65535, both, min <= max, and only for protocols with ports
                     (tcp, udp, udplite, sctp, dccp or their numbers); for
                     icmp (and ipv6-icmp) a type and code 0-255, a code only
                     with a type
    remote_*         a CIDR of the ethertype's family, or a group, not both

Each refusal is a SecurityGroupRuleInvalid (400) with Neutron's kind and words.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from network.errors import SecurityGroupRuleInvalid
from network.resources import Direction, EtherType, RuleSpec

PROTOCOLS = ("ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "icmpv6", "igmp", "ipip",
             "ipv6-encap", "ipv6-frag", "ipv6-icmp", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
             "ospf", "pgm", "rsvp", "sctp", "tcp", "udp", "udplite", "vrrp")
WITH_PORTS = frozenset({"tcp", "udp", "udplite", "sctp", "dccp", "6", "17", "136", "132", "33"})
ICMP = frozenset({"icmp", "icmpv6", "ipv6-icmp", "1", "58"})


def checked(spec: RuleSpec) -> RuleSpec:
    """`spec` in Neutron's normal form (direction, ethertype, protocol and
    prefix as stored); SecurityGroupRuleInvalid for a rule Neutron refuses."""
    direction = _direction(spec.direction)
    ethertype = _ethertype(spec.ethertype)
    protocol = _protocol(spec.protocol)
    _ports(protocol, spec.port_range_min, spec.port_range_max)
    if spec.remote_ip_prefix and spec.remote_group_id:
        raise _refused("SecurityGroupRemoteGroupAndRemoteIpPrefix",
                       "Only remote_ip_prefix or remote_group_id may be provided.")
    prefix = _prefix(spec.remote_ip_prefix, ethertype)
    return replace(spec, direction=direction.value, ethertype=ethertype.value,
                   protocol=protocol, remote_ip_prefix=prefix,
                   remote_group_id=spec.remote_group_id or None)


def _refused(kind: str, message: str) -> SecurityGroupRuleInvalid:
    return SecurityGroupRuleInvalid(message, kind)


def _direction(value: str) -> Direction:
    try:
        return Direction(value)
    except ValueError:
        raise _refused("InvalidInput", f"Invalid input for direction. Reason: '{value}' is not"
                       " in ['ingress', 'egress'].") from None


def _ethertype(value: str) -> EtherType:
    for each in EtherType:
        if value.lower() == each.value.lower():
            return each
    raise _refused("SecurityGroupRuleInvalidEtherType",
                   f"Security group rule for ethertype '{value}' not supported. Allowed"
                   " values are ['IPv4', 'IPv6'].")


def _protocol(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value.lower() in PROTOCOLS:
        return value.lower()
    if value.isdigit() and 0 <= int(value) <= 255:
        return str(int(value))
    raise _refused("SecurityGroupRuleInvalidProtocol",
                   f"Security group rule protocol {value} not supported. Only protocol values"
                   f" {list(PROTOCOLS)} and integer representations [0 to 255] are supported.")


def _ports(protocol: str | None, low: int | None, high: int | None) -> None:
    if low is None and high is None:
        return
    if protocol is None:
        raise _refused("SecurityGroupProtocolRequiredWithPorts",
                       "Must also specify protocol if port range is given.")
    if protocol in ICMP:
        _icmp(low, high)
        return
    if protocol not in WITH_PORTS:
        raise _refused("SecurityGroupInvalidProtocolForPortRange",
                       f"Invalid protocol {protocol} for port range, only supported for TCP,"
                       " UDP, UDPLITE, SCTP and DCCP.")
    for port in (low, high):
        if port is not None and not 1 <= port <= 65535:
            raise _refused("SecurityGroupInvalidPortValue", f"Invalid value for port {port}.")
    if low is None or high is None or low > high:
        raise _refused("SecurityGroupInvalidPortRange",
                       "For TCP/UDP protocols, port_range_min must be <= port_range_max")


def _icmp(kind: int | None, code: int | None) -> None:
    if kind is None:
        raise _refused("SecurityGroupMissingIcmpType",
                       f"ICMP code (port-range-max) {code} is provided but ICMP type"
                       " (port-range-min) is missing.")
    for field, value in (("type", kind), ("code", code)):
        if value is not None and not 0 <= value <= 255:
            raise _refused("SecurityGroupInvalidIcmpValue",
                           f"Invalid value for ICMP {field} (port-range-"
                           f"{'min' if field == 'type' else 'max'}): {value}. It must be 0"
                           " to 255.")


def _prefix(value: str | None, ethertype: EtherType) -> str | None:
    if not value:
        return None
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _refused("InvalidInput", f"Invalid input for remote_ip_prefix. Reason: '{value}'"
                       " is not a valid IP subnet.") from None
    if (network.version == 6) != (ethertype is EtherType.IPV6):
        raise _refused("SecurityGroupRuleParameterConflict",
                       f"Conflicting value ethertype {ethertype.value} for CIDR {value}")
    return value
