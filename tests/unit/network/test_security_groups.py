"""Security groups and their rules in the network service: each project's
default group made once on first need with Neutron's default rules, the
groups of ports, what may not be deleted or renamed, and rules validated as
Neutron validates them (network.rule_checks). Kept and served only: no host
enforces them yet, so nothing here sends traffic."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from network.errors import (
    DefaultSecurityGroup,
    NetworkError,
    NotFound,
    SecurityGroupInUse,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalid,
)
from network.resources import (
    Caller,
    Changes,
    Direction,
    ListQuery,
    NetworkSpec,
    PortSpec,
    RuleSpec,
    SecurityGroupSpec,
    SubnetSpec,
)
from network.service import NetworkService

SHOP, LAB, ADMIN = Caller("shop"), Caller("lab"), Caller("ops", admin=True)


def network(service: NetworkService, caller: Caller = SHOP) -> str:
    made = service.networks.create(caller, NetworkSpec("net"))
    service.subnets.create(caller, SubnetSpec(made.id, "10.1.0.0/24"))
    return made.id


def default_of(service: NetworkService, caller: Caller = SHOP) -> Any:
    [found] = [g for g in service.security_groups.list(caller, ListQuery())
               if g.name == "default"]
    return found


def test_a_projects_first_list_makes_its_default_group_once(any_service: NetworkService
                                                             ) -> None:
    first = default_of(any_service)
    assert default_of(any_service).id == first.id
    assert first.project == "shop" and first.description == "Default security group"
    shapes = {(r.direction.value, r.ethertype.value, r.remote_group_id, r.protocol)
              for r in first.rules}
    assert shapes == {("egress", "IPv4", None, None), ("egress", "IPv6", None, None),
                      ("ingress", "IPv4", first.id, None), ("ingress", "IPv6", first.id, None)}
    assert [g.name for g in any_service.security_groups.list(LAB, ListQuery())] == ["default"]


def test_concurrent_first_needs_make_one_default(any_service: NetworkService) -> None:
    net = network(any_service, LAB)
    errors: list[Exception] = []

    def port() -> None:
        try:
            any_service.ports.create(LAB, PortSpec(net))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=port) for _ in range(4)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    assert errors == []
    groups = any_service.security_groups.list(ADMIN, ListQuery({"project": ("lab",)}))
    assert [g.name for g in groups] == ["default"]
    ports = any_service.ports.list(LAB, ListQuery())
    assert {p.security_groups for p in ports} == {(groups[0].id,)}


def test_a_new_group_has_the_egress_rules_only(service: NetworkService) -> None:
    made = service.security_groups.create(SHOP, SecurityGroupSpec("web", "the web tier"))
    assert {(r.direction, r.ethertype.value) for r in made.rules} == {
        (Direction.EGRESS, "IPv4"), (Direction.EGRESS, "IPv6")}
    assert {g.name for g in service.security_groups.list(SHOP, ListQuery())} == {
        "default", "web"}
    assert service.security_groups.show(SHOP, made.id) == made
    with pytest.raises(NotFound):
        service.security_groups.show(LAB, made.id)


def test_ports_get_the_default_group_or_the_ones_asked_for(service: NetworkService) -> None:
    net = network(service)
    web = service.security_groups.create(SHOP, SecurityGroupSpec("web"))
    plain = service.ports.create(SHOP, PortSpec(net))
    assert plain.security_groups == (default_of(service).id,)
    bare = service.ports.create(SHOP, PortSpec(net, security_groups=()))
    assert bare.security_groups == ()
    assert service.ports.show(SHOP, bare.id).security_groups == ()
    changed = service.ports.update(SHOP, bare.id, Changes({"security_groups": (web.id,)}))
    assert changed.security_groups == (web.id,)
    lab = service.security_groups.create(LAB, SecurityGroupSpec("lab-only"))
    with pytest.raises(NotFound):
        service.ports.create(SHOP, PortSpec(net, security_groups=(lab.id,)))
    assert service.security_groups.names_of_ports([plain.id, changed.id]) == {
        plain.id: ["default"], changed.id: ["web"]}


def test_a_group_in_use_stays_until_no_port_has_it(service: NetworkService) -> None:
    web = service.security_groups.create(SHOP, SecurityGroupSpec("web"))
    port = service.ports.create(SHOP, PortSpec(network(service), security_groups=(web.id,)))
    with pytest.raises(SecurityGroupInUse) as refused:
        service.security_groups.delete(SHOP, web.id)
    assert refused.value.kind == "SecurityGroupInUse"
    service.ports.delete(SHOP, port.id)
    service.security_groups.delete(SHOP, web.id)
    with pytest.raises(NotFound):
        service.security_groups.show(SHOP, web.id)


@pytest.mark.parametrize(("caller", "kind"), [
    (SHOP, "SecurityGroupCannotRemoveDefault")], ids=["member"])
def test_a_member_keeps_its_default_group(service: NetworkService, caller: Caller,
                                          kind: str) -> None:
    default = default_of(service)
    with pytest.raises(DefaultSecurityGroup) as refused:
        service.security_groups.delete(caller, default.id)
    assert refused.value.kind == kind
    with pytest.raises(DefaultSecurityGroup) as renamed:
        service.security_groups.update(SHOP, default.id, Changes({"name": "other"}))
    assert renamed.value.kind == "SecurityGroupCannotUpdateDefault"
    kept = service.security_groups.update(SHOP, default.id, Changes({"description": "d"}))
    assert (kept.name, kept.description) == ("default", "d")
    with pytest.raises(DefaultSecurityGroup):
        service.security_groups.create(SHOP, SecurityGroupSpec("Default"))
    service.security_groups.delete(ADMIN, default.id)  # an admin may


def test_deleting_a_group_deletes_the_rules_naming_it(service: NetworkService) -> None:
    web = service.security_groups.create(SHOP, SecurityGroupSpec("web"))
    db = service.security_groups.create(SHOP, SecurityGroupSpec("db"))
    service.security_group_rules.create(SHOP, RuleSpec(db.id, "ingress", protocol="tcp",
                                                       port_range_min=5432,
                                                       port_range_max=5432,
                                                       remote_group_id=web.id))
    service.security_groups.delete(SHOP, web.id)
    left = service.security_groups.show(SHOP, db.id).rules
    assert {r.direction for r in left} == {Direction.EGRESS}


GOOD = [
    ("tcp 22", RuleSpec("G", "ingress", protocol="TCP", port_range_min=22, port_range_max=22),
     ("tcp", 22, 22, None)),
    ("udp range v6", RuleSpec("G", "egress", "ipv6", "udp", 1000, 2000, "fd00::/64"),
     ("udp", 1000, 2000, "fd00::/64")),
    ("icmp type only", RuleSpec("G", "ingress", protocol="icmp", port_range_min=8),
     ("icmp", 8, None, None)),
    ("any protocol", RuleSpec("G", "ingress", remote_ip_prefix="10.0.0.0/8"),
     (None, None, None, "10.0.0.0/8")),
    ("protocol number", RuleSpec("G", "ingress", protocol="047"), ("47", None, None, None)),
]


@pytest.mark.parametrize(("spec", "stored"), [(s, w) for _, s, w in GOOD],
                         ids=[n for n, _, _ in GOOD])
def test_rules_neutron_takes(service: NetworkService, spec: RuleSpec,
                             stored: tuple[Any, ...]) -> None:
    group = service.security_groups.create(SHOP, SecurityGroupSpec("g"))
    made = service.security_group_rules.create(SHOP, replace(spec, security_group_id=group.id))
    assert (made.protocol, made.port_range_min, made.port_range_max,
            made.remote_ip_prefix) == stored
    assert service.security_group_rules.show(SHOP, made.id) == made
    with pytest.raises(SecurityGroupRuleExists):
        service.security_group_rules.create(SHOP, replace(spec, security_group_id=group.id))


BAD = [
    ("direction", RuleSpec("G", "sideways"), "InvalidInput"),
    ("ethertype", RuleSpec("G", "ingress", "IPv5"), "SecurityGroupRuleInvalidEtherType"),
    ("protocol", RuleSpec("G", "ingress", protocol="tcpx"),
     "SecurityGroupRuleInvalidProtocol"),
    ("protocol 256", RuleSpec("G", "ingress", protocol="256"),
     "SecurityGroupRuleInvalidProtocol"),
    ("ports without protocol", RuleSpec("G", "ingress", port_range_min=22, port_range_max=22),
     "SecurityGroupProtocolRequiredWithPorts"),
    ("reversed range", RuleSpec("G", "ingress", protocol="tcp", port_range_min=23,
                                port_range_max=22), "SecurityGroupInvalidPortRange"),
    ("half a range", RuleSpec("G", "ingress", protocol="tcp", port_range_min=22),
     "SecurityGroupInvalidPortRange"),
    ("port 0", RuleSpec("G", "ingress", protocol="tcp", port_range_min=0, port_range_max=5),
     "SecurityGroupInvalidPortValue"),
    ("ports of gre", RuleSpec("G", "ingress", protocol="gre", port_range_min=1,
                              port_range_max=2), "SecurityGroupInvalidProtocolForPortRange"),
    ("icmp code only", RuleSpec("G", "ingress", protocol="icmp", port_range_max=0),
     "SecurityGroupMissingIcmpType"),
    ("icmp type 256", RuleSpec("G", "ingress", protocol="icmp", port_range_min=256),
     "SecurityGroupInvalidIcmpValue"),
    ("prefix and group", RuleSpec("G", "ingress", remote_ip_prefix="10.0.0.0/8",
                                  remote_group_id="X"),
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ("prefix of the other family", RuleSpec("G", "ingress", remote_ip_prefix="::/0"),
     "SecurityGroupRuleParameterConflict"),
    ("not a prefix", RuleSpec("G", "ingress", remote_ip_prefix="10.0.0.300/8"),
     "InvalidInput"),
]


@pytest.mark.parametrize(("spec", "kind"), [(s, k) for _, s, k in BAD],
                         ids=[n for n, _, _ in BAD])
def test_rules_neutron_refuses(service: NetworkService, spec: RuleSpec, kind: str) -> None:
    with pytest.raises(SecurityGroupRuleInvalid) as refused:
        service.security_group_rules.create(SHOP, spec)
    assert refused.value.kind == kind


@pytest.mark.parametrize(("caller", "group"), [(LAB, "shop's"), (SHOP, "missing")])
def test_rules_of_groups_not_seen_are_not_found(service: NetworkService, caller: Caller,
                                                group: str) -> None:
    made = service.security_groups.create(SHOP, SecurityGroupSpec("g"))
    ident = made.id if group == "shop's" else "0" * 36
    with pytest.raises(NotFound) as missing:
        service.security_group_rules.create(caller, RuleSpec(ident, "ingress"))
    assert missing.value.kind == "SecurityGroupNotFound"
    with pytest.raises(NotFound):
        service.security_group_rules.create(SHOP, RuleSpec(made.id, "ingress",
                                                           remote_group_id="0" * 36))


def test_a_rules_description_is_all_that_changes(service: NetworkService) -> None:
    group = service.security_groups.create(SHOP, SecurityGroupSpec("g"))
    rule = service.security_group_rules.create(SHOP, RuleSpec(group.id, "ingress"))
    changed = service.security_group_rules.update(SHOP, rule.id, Changes({"description": "x"}))
    assert changed.description == "x"
    with pytest.raises(NetworkError):
        service.security_group_rules.update(SHOP, rule.id, Changes({"protocol": "tcp"}))
    listed = service.security_group_rules.list(SHOP, ListQuery(
        {"security_group_id": (group.id,), "direction": ("ingress",)}))
    assert [r.id for r in listed] == [rule.id]
    service.security_group_rules.delete(SHOP, rule.id)
    with pytest.raises(NotFound):
        service.security_group_rules.delete(SHOP, rule.id)
