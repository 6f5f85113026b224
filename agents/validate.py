"""What an agent may say about itself: names of sane shape, figures in range.
Each refusal is InvalidArgument naming the field and the rule."""

from __future__ import annotations

import re

from model.agents import AgentReport, PlaceSpec
from model.errors import InvalidArgument

MAX_CAPABILITIES = 32
MAX_LOAD = 2**31 - 1
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_CAPABILITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
_ZONE = re.compile(r"[A-Za-z0-9._:-]{0,255}")


def check_report(report: AgentReport) -> None:
    _match("agent id", report.id, _ID, "letters, digits and ._:@-, at most 255")
    _match("host", report.host, _HOST, "a host name or address, at most 255")
    _match("kind", report.kind, _KIND,
           "lower-case letters, digits, _ and -, starting with a letter, at most 63")
    if len(report.capabilities) > MAX_CAPABILITIES:
        raise InvalidArgument(f"agent {report.id}: at most {MAX_CAPABILITIES} capabilities,"
                              f" got {len(report.capabilities)}")
    if len(set(report.capabilities)) != len(report.capabilities):
        raise InvalidArgument(f"agent {report.id}: a capability is given twice")
    for capability in report.capabilities:
        _match("capability", capability, _CAPABILITY, "letters, digits and ._-, at most 63")
    _match("availability zone", report.availability_zone, _ZONE,
           "letters, digits and ._:-, at most 255")
    if not 0 <= report.load <= MAX_LOAD:
        raise InvalidArgument(f"agent {report.id}: load must be from 0 to {MAX_LOAD},"
                              f" got {report.load}")


def _match(what: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    if not pattern.fullmatch(value):
        shown = repr(value[:40] + ("…" if len(value) > 40 else ""))
        raise InvalidArgument(f"bad {what} {shown}: {rule}")


MAX_HINTS = 16
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


def check_place(spec: PlaceSpec) -> None:
    """What a placement may ask: a request id and a name, a kind, capabilities
    and hints of sane shape (InvalidArgument naming the field otherwise)."""
    _match("request id", spec.request_id, _NAME, "1 to 255 printable characters")
    _match("name", spec.name, _NAME, "1 to 255 printable characters")
    _match("kind", spec.kind, _KIND,
           "lower-case letters, digits, _ and -, starting with a letter, at most 63")
    if len(spec.needs) > MAX_CAPABILITIES:
        raise InvalidArgument(f"an object needs at most {MAX_CAPABILITIES} capabilities,"
                              f" got {len(spec.needs)}")
    for need in spec.needs:
        _match("capability", need, _CAPABILITY, "letters, digits and ._-, at most 63")
    if len(spec.hints) > MAX_HINTS:
        raise InvalidArgument(f"at most {MAX_HINTS} hints, got {len(spec.hints)}")
    for key, value in spec.hints:
        _match("hint", key, _CAPABILITY, "letters, digits and ._-, at most 63")
        _match(f"hint {key}", value, _ZONE, "letters, digits and ._:-, at most 255")
    if spec.project:
        _match("project", spec.project, _ID, "letters, digits and ._:@-, at most 255")
