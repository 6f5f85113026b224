"""What the network service refuses, one class per answer a caller can act on.

    NetworkError                  (kind: Neutron's type name)
    ├── InvalidInput              a malformed or impossible request (a bad CIDR, a
    │                             pool outside its subnet, an unknown filter)
    ├── NotAuthorized             a member asking for what only admins may (provider
    │                             attributes, shared, another project's resources)
    ├── NotFound                  no such network, subnet or port (or not visible)
    ├── NoNetworkAvailable        no segment is left for a tenant network
    └── Conflict                  the request collides with what is there
        ├── NetworkInUse          ports are still on the network
        ├── SubnetInUse           addresses of the subnet are still allocated
        ├── IpAddressAlreadyAllocated   a requested fixed IP is taken
        ├── IpAddressGenerationFailure  the subnets asked of are exhausted
        ├── MacAddressInUse       the requested MAC is another port's on the network
        ├── SegmentInUse          the VLAN (or flat physical network) is taken
        └── PortInUse             the port is bound to another device

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


def invalid(message: str) -> InvalidInput:
    """Neutron's wording for a request it cannot act on."""
    return InvalidInput(f"Invalid input for operation: {message}.")


def not_found(what: str, ident: str) -> NotFound:
    """`what` is Network, Subnet or Port; the kind is Neutron's (NetworkNotFound...)."""
    return NotFound(f"{what} {ident[:64]} could not be found.", f"{what}NotFound")
