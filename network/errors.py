"""What the network service refuses, one class per answer a caller can act on.

    NetworkError                  (kind: Neutron's type name)
    ├── InvalidInput              a malformed or impossible request (a bad CIDR, a
    │   │                         pool outside its subnet, an unknown filter)
    │   └── SecurityGroupRuleInvalid  a rule Neutron would not take (kind says why)
    ├── NotAuthorized             a member asking for what only admins may (provider
    │                             attributes, shared, another project's resources)
    ├── NotFound                  no such network, subnet, port, security group,
    │                             rule, router or router interface (or not visible)
    ├── NoNetworkAvailable        no segment is left for a tenant network
    └── Conflict                  the request collides with what is there
        ├── NetworkInUse          ports are still on the network
        ├── SubnetInUse           addresses of the subnet are still allocated
        ├── IpAddressAlreadyAllocated   a requested fixed IP is taken
        ├── IpAddressGenerationFailure  the subnets asked of are exhausted
        ├── MacAddressInUse       the requested MAC is another port's on the network
        ├── SegmentInUse          the VLAN (or flat physical network) is taken
        ├── PortInUse             the port is bound to another device
        ├── SecurityGroupInUse    ports still have the group
        ├── SecurityGroupRuleExists     the group has that rule already
        ├── DefaultSecurityGroup  a project's default group is not renamed or
        │                         deleted (kind: Neutron's CannotUpdate/RemoveDefault)
        ├── RouterInUse           the router still has interfaces
        └── L3PortInUse           a router's interface is deleted through the router,
                                  not the port API

The database failing is celldb's DatabaseUnavailable (a model.errors.Unavailable);
SQLAlchemy's errors become it in celldb.store.transaction, the one place. Each
class's `kind` is the `type` Neutron writes in its error body, so the HTTP layer
(api.network.errors) maps this tree to statuses by class, in one table, and
writes `kind` and the message as Neutron would.
"""

from __future__ import annotations


class NetworkError(Exception):
    kind = "NeutronError"

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind


class InvalidInput(NetworkError):
    kind = "InvalidInput"


class SecurityGroupRuleInvalid(InvalidInput):
    kind = "SecurityGroupRuleInvalid"


class NotAuthorized(NetworkError):
    kind = "PolicyNotAuthorized"


class NotFound(NetworkError):
    kind = "NotFound"


class NoNetworkAvailable(NetworkError):
    kind = "NoNetworkAvailable"


class Conflict(NetworkError):
    kind = "Conflict"


class NetworkInUse(Conflict):
    kind = "NetworkInUse"


class SubnetInUse(Conflict):
    kind = "SubnetInUse"


class IpAddressAlreadyAllocated(Conflict):
    kind = "IpAddressAlreadyAllocated"


class IpAddressGenerationFailure(Conflict):
    kind = "IpAddressGenerationFailure"


class MacAddressInUse(Conflict):
    kind = "MacAddressInUse"


class SegmentInUse(Conflict):
    kind = "SegmentInUse"


class PortInUse(Conflict):
    kind = "PortInUse"


class SecurityGroupInUse(Conflict):
    kind = "SecurityGroupInUse"


class SecurityGroupRuleExists(Conflict):
    kind = "SecurityGroupRuleExists"


class DefaultSecurityGroup(Conflict):
    kind = "SecurityGroupCannotRemoveDefault"


class RouterInUse(Conflict):
    kind = "RouterInUse"


class L3PortInUse(Conflict):
    kind = "L3PortInUse"


def invalid(message: str) -> InvalidInput:
    """Neutron's wording for a request it cannot act on."""
    return InvalidInput(f"Invalid input for operation: {message}.")


def not_found(what: str, ident: str) -> NotFound:
    """`what` is Network, Subnet or Port; the kind is Neutron's (NetworkNotFound...)."""
    return NotFound(f"{what} {ident[:64]} could not be found.", f"{what}NotFound")


def group_not_found(ident: str) -> NotFound:
    return NotFound(f"Security group {ident[:64]} does not exist", "SecurityGroupNotFound")


def rule_not_found(ident: str) -> NotFound:
    return NotFound(f"Security group rule {ident[:64]} does not exist",
                    "SecurityGroupRuleNotFound")


def router_not_found(ident: str) -> NotFound:
    return NotFound(f"Router {ident[:64]} could not be found", "RouterNotFound")


def bad_router_request(message: str) -> InvalidInput:
    """Neutron's wording (and type) for an interface or gateway it will not take."""
    return InvalidInput(f"Bad router request: {message}.", "BadRequest")
