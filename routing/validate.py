"""Checks on what clients, and child cells, send, before anything is changed:
a boot, a registration, a report, a service object's placement (the last
shares its names' rules with agents' reports, `agents.validate`).

Every refusal is an InvalidArgument whose message says what to fix.
"""

from __future__ import annotations

import re
import uuid as uuidlib

from model.agents import PlaceSpec
from model.cells import CellCapacity, ChildReport, Registration
from model.compute import BootSpec, Resources
from model.errors import InvalidArgument
from routing.errors import BadPath
from routing.path import CellPath, check_name

MAX_NAME = 255
MAX_FIELD = 1024
MAX_PORTS = 32
MAX_HINTS = 64
MAX_VCPUS = 4096
MAX_MEMORY_MB = 64 * 1024 * 1024
MAX_DISK_GB = 1024 * 1024
MAX_CAPABILITIES = 64
# A reported figure (vCPUs, MB, instances of a subtree) above this is nonsense;
# sums over many children stay far inside int64.
MAX_REPORTED = 2**48
MAX_HOSTS = 2**20  # hosts in one child's subtree; sums stay inside int32
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
    if spec.uuid and check_uuid(spec.uuid) != spec.uuid:
        # Lookups compare uuids as written: a second spelling would be a second instance.
        raise InvalidArgument(f"instance uuid {spec.uuid} must be written in lowercase")
    _check_flavor(spec)
    _check_ports(spec)
    if len(spec.hints) > MAX_HINTS:
        raise InvalidArgument(f"at most {MAX_HINTS} scheduler hints, got {len(spec.hints)}")
    for key, value in spec.hints:
        _check_text("hint key", key, MAX_NAME)
        _check_text(f"hint {key[:40]!r}", value, MAX_FIELD)
    if spec.target_cell:
        check_path("target cell", spec.target_cell)


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


def check_registration(reg: Registration) -> None:
    """Raise InvalidArgument unless a child cell may register as `reg`."""
    try:
        check_name(reg.name)
    except BadPath as exc:
        raise InvalidArgument(str(exc)) from None
    if not reg.address:
        raise InvalidArgument(f"child {reg.name} registered without an address")
    _check_text(f"child {reg.name}'s address", reg.address, MAX_FIELD)
    _check_names(f"child {reg.name}'s capabilities", reg.capabilities)


def check_report(report: ChildReport) -> None:
    """Raise InvalidArgument unless `report` could come from a working child:
    figures in range, uuids and paths well formed, texts of sane length."""
    _check_capacity(report.capacity)
    for change in report.changes:
        check_uuid(change.uuid)
        if change.cell_path:
            check_path(f"cell path of instance {change.uuid}", change.cell_path)
        _check_text(f"host of instance {change.uuid}", change.host, MAX_NAME)
    for leaf in report.leaves:
        if leaf.path:  # relative to the child; "" is the child itself
            check_path("leaf path", leaf.path)
        where = f"leaf {leaf.path or report.name}"
        _check_text(f"{where}: address", leaf.address, MAX_FIELD)
        _check_names(f"{where}: actions", leaf.actions)
        _check_text(f"{where}: driver", leaf.driver, MAX_NAME)
        for action, why in leaf.refusals:
            _check_text(f"{where}: refused action", action, MAX_NAME)
            if len(why) > MAX_FIELD:  # a sentence for a person: any characters
                raise InvalidArgument(f"{where}: why {action[:40]!r} is refused is {len(why)}"
                                      f" characters long; the limit is {MAX_FIELD}")


def _check_capacity(c: CellCapacity) -> None:
    _check_resources("capacity total", c.total, 0)
    _check_resources("capacity used", c.used, 0)
    # Free space is negative on a host running more than it has.
    _check_resources("capacity largest_free", c.largest_free, -MAX_REPORTED)
    _check_range("capacity hosts", c.hosts, 0, MAX_HOSTS)
    _check_range("capacity hosts_up", c.hosts_up, 0, MAX_HOSTS)
    _check_range("capacity instances", c.instances, 0, MAX_REPORTED)
    for name, fits in c.flavor_fits:
        _check_text("flavor name", name, MAX_NAME)
        _check_range(f"capacity flavor_fits {name!r}", fits, 0, MAX_REPORTED)


def _check_resources(what: str, r: Resources, low: int) -> None:
    for field, value in (("vcpus", r.vcpus), ("memory_mb", r.memory_mb),
                         ("disk_gb", r.disk_gb)):
        _check_range(f"{what}.{field}", value, low, MAX_REPORTED)


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidArgument(f"{what} must be between {low} and {high}, got {value}")


def check_path(what: str, text: str) -> None:
    """InvalidArgument unless `text` is a well-formed cell path."""
    try:
        CellPath.parse(text)
    except BadPath as exc:
        raise InvalidArgument(f"bad {what}: {exc}") from None


def _check_names(what: str, names: tuple[str, ...]) -> None:
    if len(names) > MAX_CAPABILITIES:
        raise InvalidArgument(f"{what}: at most {MAX_CAPABILITIES}, got {len(names)}")
    for name in names:
        _check_text(what, name, MAX_NAME)


# Service objects and the agents that hold them (model.agents): the shapes of
# their names, for a placement here and for an agent's report (agents.validate).
MAX_AGENT_CAPABILITIES = 32  # an agent offers, and an object needs, at most this many
MAX_OBJECT_HINTS = 16
AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}")
AGENT_KIND = re.compile(r"[a-z][a-z0-9_-]{0,62}")
CAPABILITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
ZONE = re.compile(r"[A-Za-z0-9._:-]{0,255}")
# A zone, a cell's path (top!eu), a physical network (physnet_1), a MAC.
HINT_VALUE = re.compile(r"[A-Za-z0-9_.:!-]{0,255}")
_OBJECT_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


def check_place(spec: PlaceSpec) -> None:
    """What a placement may ask: a request id and a name, a kind, capabilities
    and hints of sane shape (InvalidArgument naming the field otherwise)."""
    check_match("request id", spec.request_id, _OBJECT_NAME, "1 to 255 printable characters")
    check_match("name", spec.name, _OBJECT_NAME, "1 to 255 printable characters")
    check_match("kind", spec.kind, AGENT_KIND,
                "lower-case letters, digits, _ and -, starting with a letter, at most 63")
    if len(spec.needs) > MAX_AGENT_CAPABILITIES:
        raise InvalidArgument(f"an object needs at most {MAX_AGENT_CAPABILITIES} capabilities,"
                              f" got {len(spec.needs)}")
    for need in spec.needs:
        check_match("capability", need, CAPABILITY, "letters, digits and ._-, at most 63")
    if len(spec.hints) > MAX_OBJECT_HINTS:
        raise InvalidArgument(f"at most {MAX_OBJECT_HINTS} hints, got {len(spec.hints)}")
    for key, value in spec.hints:
        check_match("hint", key, CAPABILITY, "letters, digits and ._-, at most 63")
        check_match(f"hint {key}", value, HINT_VALUE, "letters, digits and _.:!-, at most 255")
    if spec.project:
        check_match("project", spec.project, AGENT_ID, "letters, digits and ._:@-, at most 255")


def check_match(what: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    """InvalidArgument ("bad WHAT 'VALUE': RULE") unless `pattern` matches all of `value`."""
    if not pattern.fullmatch(value):
        shown = repr(value[:40] + ("…" if len(value) > 40 else ""))
        raise InvalidArgument(f"bad {what} {shown}: {rule}")
