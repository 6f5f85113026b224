"""MAC addresses for ports: a configured base (Neutron's fa:16:3e by default)
and random rest. Uniqueness per network is the ports table's constraint; the
service draws again when it refuses one (network.ports)."""

from __future__ import annotations

import re
import secrets

from network.errors import invalid

DEFAULT_BASE = "fa:16:3e"
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_BASE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){0,5}")


def check_base(base: str) -> str:
    """`base` lower-cased; ValueError unless it is one to six octets, unicast."""
    base = base.lower()
    if not _BASE.fullmatch(base) or int(base[:2], 16) & 1:
        raise ValueError(f"mac base {base!r} is not 1 to 6 octets aa:bb:... of a unicast MAC")
    return base


def generate(base: str = DEFAULT_BASE) -> str:
    """A MAC starting with `base` (check_base's form), the rest random."""
    rest = 6 - len(base.split(":"))
    return ":".join([base, *(f"{b:02x}" for b in secrets.token_bytes(rest))]) if rest else base


def normalise(mac: str) -> str:
    """`mac` in the stored form (lower case, colons); InvalidInput otherwise."""
    lowered = mac.strip().lower().replace("-", ":")
    if not _MAC.fullmatch(lowered) or int(lowered[:2], 16) & 1:
        raise invalid(f"'{mac}' is not a valid MAC address")
    return lowered
