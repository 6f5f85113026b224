"""Checks on what clients send, before anything is changed.

Every refusal is an InvalidArgument whose message says what to fix.
"""

from __future__ import annotations

import re
import uuid as uuidlib

from cells.errors import InvalidArgument
from routing.errors import BadPath
from routing.path import CellPath
from virt.model import BootSpec

MAX_NAME = 255
MAX_FIELD = 1024
MAX_PORTS = 32
MAX_HINTS = 64
MAX_VCPUS = 4096
MAX_MEMORY_MB = 64 * 1024 * 1024
MAX_DISK_GB = 1024 * 1024
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.IGNORECASE)


def check_uuid(value: str) -> str:
    """The uuid in canonical form, or InvalidArgument."""
    if not isinstance(value, str):
        raise InvalidArgument(f"instance uuid must be a string, got {type(value).__name__}")
    try:
        parsed = uuidlib.UUID(value)
    except ValueError:
        raise InvalidArgument(f"malformed instance uuid {value[:80]!r}") from None
    canonical = str(parsed)
    if value.lower() != canonical:
        raise InvalidArgument(
            f"malformed instance uuid {value[:80]!r}: use the 8-4-4-4-12 hex form"
        )
    return canonical


def check_boot(spec: BootSpec) -> None:
    """Raise InvalidArgument unless `spec` can be placed and built."""
    if not spec.request_id:
        raise InvalidArgument("request_id is required: it makes retried boots safe")
    _check_text("request_id", spec.request_id, MAX_NAME)
    if not spec.name:
        raise InvalidArgument("an instance needs a name")
    _check_text("name", spec.name, MAX_NAME)
    _check_text("image", spec.image, MAX_FIELD)
    _check_text("project", spec.project, MAX_NAME)
    if spec.uuid:
        check_uuid(spec.uuid)
    _check_flavor(spec)
    _check_ports(spec)
    if len(spec.hints) > MAX_HINTS:
        raise InvalidArgument(f"at most {MAX_HINTS} scheduler hints, got {len(spec.hints)}")
    for key, value in spec.hints:
        _check_text("hint key", key, MAX_NAME)
        _check_text(f"hint {key[:40]!r}", value, MAX_FIELD)
    if spec.target_cell:
        try:
            CellPath.parse(spec.target_cell)
        except BadPath as exc:
            raise InvalidArgument(f"bad target cell: {exc}") from None


def _check_flavor(spec: BootSpec) -> None:
    f = spec.flavor
    if f.vcpus == 0 and f.memory_mb == 0:
        raise InvalidArgument("a flavor is required: give vcpus and memory_mb")
    for field, value, limit in (
        ("vcpus", f.vcpus, MAX_VCPUS),
        ("memory_mb", f.memory_mb, MAX_MEMORY_MB),
        ("disk_gb", f.disk_gb, MAX_DISK_GB),
    ):
        if value < 0 or value > limit:
            raise InvalidArgument(f"flavor {field} must be between 0 and {limit}, got {value}")
    if f.vcpus < 1 or f.memory_mb < 1:
        raise InvalidArgument("a flavor needs at least 1 vcpu and 1 MB of memory")


def _check_ports(spec: BootSpec) -> None:
    if len(spec.ports) > MAX_PORTS:
        raise InvalidArgument(f"at most {MAX_PORTS} ports, got {len(spec.ports)}")
    for port in spec.ports:
        if not port.network:
            raise InvalidArgument("every port needs a network")
        _check_text("port network", port.network, MAX_NAME)
        if not _MAC.match(port.mac):
            raise InvalidArgument(f"port MAC {port.mac[:40]!r} is not like 52:54:00:12:34:56")
        _check_text("port ip", port.ip, 64)


def _check_text(what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidArgument(f"{what} is {len(value)} characters long; the limit is {limit}")
    if any(ord(ch) < 32 for ch in value):
        raise InvalidArgument(f"{what} contains control characters")
