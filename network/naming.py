"""Names of the links a host's network wiring is made of, as Neutron's
linuxbridge agent names them, so that a libvirt leaf computes the same bridge
for a domain's interface as the network agent makes.

    bridge_name(network_id)            "brq" + the network id's first 11 characters
    vlan_interface_name("eth1", 100)   "eth1.100"

A Linux interface name has at most IFNAMSIZ - 1 = 15 characters: a longer
physical interface name is shortened deterministically (its head, then 6 hex
characters of its SHA-1), as Neutron does.
"""

from __future__ import annotations

import hashlib

MAX_NAME = 15  # IFNAMSIZ (16) less the terminating NUL
BRIDGE_PREFIX = "brq"
RESOURCE_ID_LENGTH = 11  # Neutron's: how much of an id goes into a link's name
_HASH_CHARS = 6


def bridge_name(network_id: str) -> str:
    """The bridge of a network on every host: "brq" and the id's first 11 characters."""
    return BRIDGE_PREFIX + network_id[:RESOURCE_ID_LENGTH]


def vlan_interface_name(physical: str, vlan: int) -> str:
    """The VLAN sub-interface of `physical` for `vlan` ("eth1.100"), at most 15
    characters: a physical name too long for its suffix is cut and hashed."""
    suffix = f".{vlan}"
    return shortened(physical, MAX_NAME - len(suffix)) + suffix


def shortened(name: str, limit: int) -> str:
    """`name` if it has at most `limit` characters; else its head and 6 hex
    characters of its SHA-1, `limit` characters in all (the same name always)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
    return name[: limit - _HASH_CHARS] + digest[:_HASH_CHARS]
