"""The network service's contract: what it stores and answers, as frozen values.

Networks, subnets, ports and security groups with their rules as Neutron has
them (a subset), the requests that make and change them, who asks (`Caller`)
and how a list is asked for (`ListQuery`). The service (network.service)
takes and returns these only; the HTTP layer (api.network) turns them into
Neutron's bodies and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class NetworkType(StrEnum):
    FLAT = "flat"  # untagged on its physical network: one flat network per physical one
    VLAN = "vlan"  # tagged with segmentation_id (1-4094) on its physical network


class PortStatus(StrEnum):
    DOWN = "DOWN"  # until an agent wires it
    BUILD = "BUILD"
    ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a member sees and uses its project's resources and shared
    networks; an admin everything."""

    project: str
    admin: bool = False

    def sees(self, project: str, shared: bool = False) -> bool:
        return self.admin or shared or project == self.project

    def owns(self, project: str) -> bool:
        return self.admin or project == self.project


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    name: str
    project: str
    shared: bool
    admin_state_up: bool
    type: NetworkType
    segmentation_id: int | None  # the VLAN; None for flat
    physical_network: str
    status: str
    created_at: float
    updated_at: float
    subnets: tuple[str, ...] = ()  # ids, oldest first
    description: str = ""


@dataclass(frozen=True, slots=True, order=True)
class AllocationPool:
    """Addresses `start` to `end`, both included, handed out by IPAM."""

    start: str
    end: str


@dataclass(frozen=True, slots=True)
class HostRoute:
    """A route a subnet's DHCP hands out: to `destination` (a CIDR) via `nexthop`."""

    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class Subnet:
    id: str
    network_id: str
    name: str
    project: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    allocation_pools: tuple[AllocationPool, ...]
    dns_nameservers: tuple[str, ...]
    enable_dhcp: bool
    created_at: float
    updated_at: float
    host_routes: tuple[HostRoute, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class FixedIp:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class Port:
    id: str
    network_id: str
    name: str
    project: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    device_id: str
    device_owner: str
    binding_host: str
    status: PortStatus
    admin_state_up: bool
    created_at: float
    updated_at: float
    security_groups: tuple[str, ...] = ()  # the ids of its security groups
    description: str = ""


class Direction(StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


class EtherType(StrEnum):
    IPV4 = "IPv4"
    IPV6 = "IPv6"


@dataclass(frozen=True, slots=True)
class SecurityGroupRule:
    """One rule of a group: traffic in `direction` of `ethertype`, of
    `protocol` (None: any; a name Neutron knows or a number 0-255, as text)
    on ports `port_range_min`-`port_range_max` (ICMP: type and code), from or
    to `remote_ip_prefix` or the ports of group `remote_group_id` (neither:
    anywhere). Kept and served only: no host enforces it yet."""

    id: str
    security_group_id: str
    project: str
    direction: Direction
    ethertype: EtherType
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    description: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    """A project's named set of rules that ports are given (each project has
    one named "default", made on first need)."""

    id: str
    name: str
    description: str
    project: str
    created_at: float
    updated_at: float
    rules: tuple[SecurityGroupRule, ...] = ()


# ------------------------------------------------------------ requests


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A network to make. Without `type` it is a tenant network (the service's
    settings say of which type and physical network); `project` "" is the caller's."""

    name: str = ""
    project: str = ""
    shared: bool = False
    admin_state_up: bool = True
    type: NetworkType | None = None
    physical_network: str | None = None
    segmentation_id: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class SubnetSpec:
    """A subnet to make. `gateway_ip` None is the CIDR's first host, "" none at
    all; `allocation_pools` None is the CIDR's hosts but the gateway."""

    network_id: str
    cidr: str
    ip_version: int = 4
    name: str = ""
    project: str = ""
    gateway_ip: str | None = None
    allocation_pools: tuple[AllocationPool, ...] | None = None
    dns_nameservers: tuple[str, ...] = ()
    enable_dhcp: bool = True
    host_routes: tuple[HostRoute, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class IpRequest:
    """One fixed IP asked for: a subnet, an address, or both (at least one)."""

    subnet_id: str = ""
    ip_address: str = ""


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port to make. `fixed_ips` None is one address from the network's first
    IPv4 subnet with a free one; `mac_address` None is a generated one."""

    network_id: str
    name: str = ""
    project: str = ""
    mac_address: str | None = None
    fixed_ips: tuple[IpRequest, ...] | None = None
    device_id: str = ""
    device_owner: str = ""
    binding_host: str = ""
    admin_state_up: bool = True
    security_groups: tuple[str, ...] | None = None  # None: the project's default group
    description: str = ""


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    """A group to make; `project` "" is the caller's."""

    name: str = ""
    description: str = ""
    project: str = ""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule to add to group `security_group_id` (SecurityGroupRule says what
    each field means); the store validates it as Neutron does."""

    security_group_id: str
    direction: str
    ethertype: str = EtherType.IPV4.value
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""
    project: str = ""


@dataclass(frozen=True, slots=True)
class Changes:
    """The fields of an update, by the contract's field name (`name`,
    `admin_state_up`, ...). Which fields a resource accepts is its store's say."""

    values: Mapping[str, object] = field(default_factory=dict)


class SortDir(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A page of a list: equality `filters` by field name (several values: any
    of them), ordered by `sort` (then id), after the resource with id `marker`
    (before it with `page_reverse`), at most `limit`."""

    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: tuple[tuple[str, SortDir], ...] = ()
    limit: int | None = None
    marker: str = ""
    page_reverse: bool = False


# ------------------------------------------------------------ routers


@dataclass(frozen=True, slots=True)
class Router:
    """A router AS A RECORD (network.routers): its interfaces are ports on
    its subnets (device_id its id, device_owner network:router_interface).
    Nothing routes: no agent forwards between its subnets, and it has no
    external gateway (no external networks are built)."""

    id: str
    name: str
    project: str
    admin_state_up: bool
    status: str
    created_at: float
    updated_at: float
    description: str = ""


@dataclass(frozen=True, slots=True)
class RouterSpec:
    """A router to make; `project` "" is the caller's. `gateway_network` is
    the network an external gateway is asked on ("": none); no network is
    external here, so one asked for is refused."""

    name: str = ""
    project: str = ""
    admin_state_up: bool = True
    description: str = ""
    gateway_network: str = ""


@dataclass(frozen=True, slots=True)
class InterfaceRequest:
    """An interface to add or remove: by a subnet (a port made on its
    network with its gateway IP) or by a port (an existing one); one of them,
    or on removal both (that port's address on that subnet)."""

    subnet_id: str = ""
    port_id: str = ""


@dataclass(frozen=True, slots=True)
class RouterInterface:
    """An interface added or removed: the port, its network and the subnets
    concerned."""

    router_id: str
    project: str  # the port's
    port_id: str
    network_id: str
    subnet_ids: tuple[str, ...]
