"""Compute API microversions: which one a request asks for, and the headers to echo.

Clients send `OpenStack-API-Version: compute 2.79` (and often the legacy
`X-OpenStack-Nova-API-Version: 2.79`); `latest` means the newest served. A
request without either gets the oldest, 2.1, as from Nova. Outside the range
is 406. Answers carry the version used in both headers and `Vary` on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from api.errors import BadRequest, NotAcceptable

_NUMBER = re.compile(r"[0-9]{1,6}")
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE = "compute"


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Version:
        major, dot, minor = text.strip().partition(".")
        if not dot or not _NUMBER.fullmatch(major) or not _NUMBER.fullmatch(minor):
            raise BadRequest(f"API version string {text[:32]!r} is not of the form"
                             " MAJOR.MINOR (for example 2.69)")
        return cls(int(major), int(minor))


MIN = Version(2, 1)
MAX = Version(2, 100)
# What each microversion changed in a body: api.compute.shapes.


def requested(headers: Mapping[str, str]) -> Version:
    """The microversion a request asks for; 406 outside [MIN, MAX]."""
    text = _compute_part(headers.get(HEADER, "")) or headers.get(LEGACY_HEADER, "")
    if not text:
        return MIN
    if text.strip().lower() == "latest":
        return MAX
    version = Version.parse(text)
    if not MIN <= version <= MAX:
        raise NotAcceptable(f"Version {version} is not supported by the API. Minimum is {MIN}"
                            f" and maximum is {MAX}.")
    return version


def _compute_part(header: str) -> str:
    """The compute entry of `OpenStack-API-Version: compute 2.1, image 2.5`."""
    for entry in header.split(","):
        service, _, version = entry.strip().partition(" ")
        if service.lower() == SERVICE:
            return version.strip()
    return ""


def response_headers(version: Version) -> dict[str, str]:
    return {HEADER: f"{SERVICE} {version}", LEGACY_HEADER: str(version),
            "Vary": f"{HEADER}, {LEGACY_HEADER}"}
