"""Tests for cells.validate: checks on what clients send."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import replace

import pytest

from cells.client import boot_spec
from cells.errors import InvalidArgument
from cells.validate import (
    MAX_DISK_GB,
    MAX_HINTS,
    MAX_MEMORY_MB,
    MAX_NAME,
    MAX_PORTS,
    MAX_VCPUS,
    check_boot,
    check_uuid,
)
from virt.model import BootSpec, Port, Resources

CANONICAL = "12345678-9abc-4def-8123-456789abcdef"


def good_spec() -> BootSpec:
    return boot_spec(
        "web-1", 2, 2048, 20,
        image="cirros", project="demo", target_cell="top!eu!eu-a",
        ports=[Port("net-a", "52:54:00:12:34:56", "10.0.0.2")],
        hints={"group": "web"}, uuid=CANONICAL,
    )


def test_check_uuid_accepts_canonical() -> None:
    assert check_uuid(CANONICAL) == CANONICAL
    fresh = str(uuidlib.uuid4())
    assert check_uuid(fresh) == fresh


def test_check_uuid_accepts_uppercase_and_returns_lowercase() -> None:
    # The code compares value.lower() with the canonical form.
    assert check_uuid(CANONICAL.upper()) == CANONICAL


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("123", "malformed instance uuid '123'$"),
        ("", "malformed instance uuid ''$"),
        ("not-a-uuid-at-all-not-a-uuid-at-all", "malformed instance uuid"),
        ("{" + CANONICAL + "}", "use the 8-4-4-4-12 hex form"),
        ("urn:uuid:" + CANONICAL, "use the 8-4-4-4-12 hex form"),
        (CANONICAL.replace("-", ""), "use the 8-4-4-4-12 hex form"),
        (CANONICAL + "0", "malformed instance uuid"),
        (" " + CANONICAL, "malformed instance uuid"),
    ],
    ids=["short", "empty", "garbage", "braces", "urn", "no-dashes", "too-long",
         "leading-space"],
)
def test_check_uuid_rejects(value: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_uuid(value)


def test_good_spec_passes() -> None:
    check_boot(good_spec())


@pytest.mark.parametrize(
    "changes",
    [
        {"uuid": ""},
        {"image": "", "project": "", "target_cell": "", "ports": (), "hints": ()},
        {"flavor": Resources(1, 1, 0)},
        {"flavor": Resources(MAX_VCPUS, MAX_MEMORY_MB, MAX_DISK_GB)},
        {"name": "n" * MAX_NAME},
        {"ports": tuple(Port("n", f"52:54:00:00:00:{i:02x}") for i in range(MAX_PORTS))},
        {"ports": (Port("n", "52:54:00:AB:CD:EF"),)},
        {"uuid": CANONICAL.upper()},
        {"target_cell": "top"},
    ],
    ids=["no-uuid", "minimal", "smallest-flavor", "largest-flavor", "longest-name",
         "max-ports", "uppercase-mac", "uppercase-uuid", "root-target"],
)
def test_edge_specs_pass(changes: dict[str, object]) -> None:
    check_boot(replace(good_spec(), **changes))  # type: ignore[arg-type]


TOO_MANY_PORTS = tuple(Port("n", f"52:54:00:00:01:{i:02x}") for i in range(MAX_PORTS + 1))
TOO_MANY_HINTS = tuple((f"k{i}", "v") for i in range(MAX_HINTS + 1))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"request_id": ""}, "request_id is required"),
        ({"name": ""}, "needs a name"),
        ({"flavor": Resources(0, 0, 0)}, "a flavor is required"),
        ({"flavor": Resources(0, 1024, 0)}, "at least 1 vcpu"),
        ({"flavor": Resources(1, 0, 0)}, "at least 1 vcpu and 1 MB"),
        ({"flavor": Resources(-1, 1024, 0)}, "vcpus must be between 0 and"),
        ({"flavor": Resources(MAX_VCPUS + 1, 1024, 0)}, f"vcpus must be between 0 and {MAX_VCPUS}"),
        ({"flavor": Resources(1, MAX_MEMORY_MB + 1, 0)}, "memory_mb must be between"),
        ({"flavor": Resources(1, 10**15, 0)}, "memory_mb must be between"),
        ({"flavor": Resources(1, 1024, -5)}, "disk_gb must be between"),
        ({"ports": (Port("n", "52:54:00:12:34"),)}, "port MAC '52:54:00:12:34'"),
        ({"ports": (Port("n", "52-54-00-12-34-56"),)}, "is not like"),
        ({"ports": (Port("n", "zz:54:00:12:34:56"),)}, "is not like"),
        ({"ports": (Port("", "52:54:00:12:34:56"),)}, "every port needs a network"),
        ({"ports": TOO_MANY_PORTS}, f"at most {MAX_PORTS} ports, got {MAX_PORTS + 1}"),
        ({"hints": TOO_MANY_HINTS}, f"at most {MAX_HINTS} scheduler hints"),
        ({"name": "web\n1"}, "name contains control characters"),
        ({"name": "web\x001"}, "name contains control characters"),
        ({"name": "tab\there"}, "name contains control characters"),
        ({"name": "n" * (MAX_NAME + 1)}, f"name is {MAX_NAME + 1} characters long"),
        ({"request_id": "r\r"}, "request_id contains control characters"),
        ({"project": "p\x1b"}, "project contains control characters"),
        ({"hints": (("k", "v\n"),)}, "hint 'k' contains control characters"),
        ({"uuid": "123"}, "malformed instance uuid"),
        ({"target_cell": "top!!eu"}, "bad target cell"),
        ({"target_cell": "Top!eu"}, "bad target cell"),
        ({"target_cell": "top!eu a"}, "bad target cell"),
    ],
    ids=["no-request-id", "no-name", "zero-flavor", "zero-vcpus", "zero-memory",
         "negative-vcpus", "too-many-vcpus", "too-much-memory", "huge-memory",
         "negative-disk", "short-mac", "dashed-mac", "non-hex-mac", "port-no-network",
         "too-many-ports", "too-many-hints", "newline-in-name", "nul-in-name",
         "tab-in-name", "name-too-long", "cr-in-request-id", "escape-in-project",
         "newline-in-hint", "bad-uuid", "target-doubled-separator", "target-uppercase",
         "target-space"],
)
def test_bad_specs(changes: dict[str, object], message: str) -> None:
    spec = replace(good_spec(), **changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=message):
        check_boot(spec)


def test_target_cell_with_trailing_newline_is_rejected() -> None:
    with pytest.raises(InvalidArgument):
        check_boot(replace(good_spec(), target_cell="top!eu\n"))


def test_boot_spec_fills_request_id() -> None:
    a, b = boot_spec("x", 1, 1), boot_spec("x", 1, 1)
    assert a.request_id and b.request_id and a.request_id != b.request_id
    assert boot_spec("x", 1, 1, request_id="fixed").request_id == "fixed"
