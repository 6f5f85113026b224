"""Tests for routing.validate: checks on what clients and child cells send."""

from __future__ import annotations

import base64
import uuid as uuidlib
from dataclasses import replace

import pytest

from cellrouter.v1 import cells_pb2 as pb
from cellwire import wire
from cellwire.client import boot_spec
from model.cells import CellCapacity, CellKind, ChildReport, InstanceChange, LeafInfo, Registration
from model.compute import BootSpec, InstanceState, Port, Resources
from model.errors import InvalidArgument
from routing.paging import decode_token, sort_key
from routing.validate import (
    MAX_CAPABILITIES,
    MAX_DISK_GB,
    MAX_FIELD,
    MAX_HINTS,
    MAX_HOSTS,
    MAX_MEMORY_MB,
    MAX_NAME,
    MAX_PORTS,
    MAX_REPORTED,
    MAX_VCPUS,
    check_boot,
    check_registration,
    check_report,
    check_uuid,
)

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
        {"target_cell": "top"},
    ],
    ids=["no-uuid", "minimal", "smallest-flavor", "largest-flavor", "longest-name",
         "max-ports", "uppercase-mac", "root-target"],
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
        # Lookups compare uuids as written: a second spelling would make a twin.
        ({"uuid": CANONICAL.upper()}, "must be written in lowercase"),
        ({"target_cell": "top!!eu"}, "bad target cell"),
        ({"target_cell": "Top!eu"}, "bad target cell"),
        ({"target_cell": "top!eu a"}, "bad target cell"),
    ],
    ids=["no-request-id", "no-name", "zero-flavor", "zero-vcpus", "zero-memory",
         "negative-vcpus", "too-many-vcpus", "too-much-memory", "huge-memory",
         "negative-disk", "short-mac", "dashed-mac", "non-hex-mac", "port-no-network",
         "too-many-ports", "too-many-hints", "newline-in-name", "nul-in-name",
         "tab-in-name", "name-too-long", "cr-in-request-id", "escape-in-project",
         "newline-in-hint", "bad-uuid", "uppercase-uuid", "target-doubled-separator",
         "target-uppercase", "target-space"],
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


def test_a_refusal_does_not_echo_a_huge_value() -> None:
    # gRPC sends the message in a trailer of at most 8 KB: past that the caller
    # would get RESOURCE_EXHAUSTED and no reason at all.
    huge = "x" * 300_000
    for spec in (replace(good_spec(), target_cell=huge),
                 replace(good_spec(), target_cell=f"top!{huge}"),
                 replace(good_spec(), uuid=huge), replace(good_spec(), name=huge)):
        with pytest.raises(InvalidArgument) as caught:
            check_boot(spec)
        assert len(caught.value.message) < 300
    with pytest.raises(InvalidArgument) as caught:
        sort_key(huge)
    assert len(caught.value.message) < 300


@pytest.mark.parametrize("depth", [10, 980, 100_000], ids=["shallow", "near-limit", "deep"])
def test_a_deeply_nested_page_token_is_malformed(depth: int) -> None:
    token = base64.urlsafe_b64encode(b"[" * depth + b"]" * depth).decode()
    with pytest.raises(InvalidArgument, match="malformed page token"):
        decode_token(token, "name")


# ------------------------------------------------------------ registrations


def good_registration() -> Registration:
    return Registration("zone-a", "10.0.0.5:50051", CellKind.LEAF, ("pause", "reboot"))


def test_good_registration_passes() -> None:
    check_registration(good_registration())
    check_registration(replace(good_registration(), address="[::1]:50051", capabilities=()))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Zone-A"}, "bad cell name 'Zone-A'"),
        ({"name": "x" * 300_000}, "bad cell name 'xxxx"),
        ({"address": ""}, "registered without an address"),
        ({"address": "10.0.0.5:50051\n"}, "address contains control characters"),
        ({"address": "h" * (MAX_FIELD + 1)}, f"address is {MAX_FIELD + 1} characters long"),
        ({"capabilities": ("pause",) * (MAX_CAPABILITIES + 1)},
         f"capabilities: at most {MAX_CAPABILITIES}"),
        ({"capabilities": ("pause\x00",)}, "capabilities contains control characters"),
        ({"capabilities": ("p" * (MAX_NAME + 1),)}, "capabilities is 256 characters long"),
    ],
    ids=["uppercase-name", "huge-name", "no-address", "newline-in-address", "long-address",
         "too-many-capabilities", "nul-in-capability", "long-capability"],
)
def test_bad_registrations(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        check_registration(replace(good_registration(), **changes))  # type: ignore[arg-type]
    assert len(caught.value.message) < 300


def test_unknown_cell_kind_number_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown cell kind number 99"):
        wire.registration_from_pb(pb.RegisterRequest(name="z", address="a:1", kind=99))  # type: ignore[arg-type]
    unspecified = wire.registration_from_pb(pb.RegisterRequest(name="z", address="a:1"))
    assert unspecified.kind is CellKind.ROUTER  # as before: a cell that does not say


# ------------------------------------------------------------------ reports

SIZE = Resources(16, 32768, 500)


def good_report() -> ChildReport:
    """What a router reports: its leaves by relative path, its instances' changes."""
    return ChildReport(
        name="r1",
        capacity=CellCapacity(total=SIZE, used=Resources(2, 1024, 10),
                              largest_free=Resources(8, 16384, 100), hosts=3, hosts_up=2,
                              instances=2, flavor_fits=(("small", 12),)),
        changes=(InstanceChange(CANONICAL, InstanceState.ACTIVE, "top!r1!z1", "h1"),
                 InstanceChange(str(uuidlib.uuid4()), InstanceState.DELETED, "z1")),
        leaves=(LeafInfo("z1", "10.0.0.5:50051", ("pause",),
                         (("suspend", "the engine cannot\nsuspend"),)),
                LeafInfo("z2!deep", "10.0.0.6:50051")),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"capacity": CellCapacity()},
        # Free space is negative on a host running more than it holds.
        {"capacity": CellCapacity(total=SIZE, used=SIZE, largest_free=Resources(-4, -1, 0))},
        {"capacity": CellCapacity(total=Resources(MAX_REPORTED, MAX_REPORTED, MAX_REPORTED),
                                  hosts=MAX_HOSTS, hosts_up=MAX_HOSTS, instances=MAX_REPORTED)},
        {"changes": (InstanceChange(CANONICAL.upper(), InstanceState.UNKNOWN),)},
        {"leaves": (LeafInfo("", "10.0.0.5:50051"),)},
    ],
    ids=["router", "empty-capacity", "overcommitted", "largest-figures", "uppercase-uuid",
         "leaf-itself"],
)
def test_good_reports_pass(changes: dict[str, object]) -> None:
    check_report(replace(good_report(), **changes))  # type: ignore[arg-type]


def capacity(**figures: object) -> dict[str, object]:
    return {"capacity": replace(good_report().capacity, **figures)}  # type: ignore[arg-type]


def change(**fields: object) -> dict[str, object]:
    return {"changes": (replace(good_report().changes[0], **fields),)}  # type: ignore[arg-type]


def leaf(**fields: object) -> dict[str, object]:
    return {"leaves": (replace(good_report().leaves[0], **fields),)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (capacity(total=Resources(-1, 1, 1)), "capacity total.vcpus must be between 0 and"),
        (capacity(used=Resources(1, 2**63 - 1, 1)), "capacity used.memory_mb must be between"),
        (capacity(largest_free=Resources(1, 1, -(2**63))),
         "capacity largest_free.disk_gb must be between"),
        (capacity(hosts=-1), f"capacity hosts must be between 0 and {MAX_HOSTS}, got -1"),
        (capacity(hosts_up=MAX_HOSTS + 1), "capacity hosts_up must be between"),
        (capacity(instances=MAX_REPORTED + 1), "capacity instances must be between"),
        (capacity(flavor_fits=(("small", -3),)), "capacity flavor_fits 'small' must be between"),
        (capacity(flavor_fits=(("sm\nall", 3),)), "flavor name contains control characters"),
        (change(uuid="not-a-uuid"), "malformed instance uuid 'not-a-uuid'"),
        (change(cell_path="top!!z1"), "bad cell path of instance"),
        (change(host="h1\x00"), "host of instance .* contains control characters"),
        (change(host="h" * (MAX_NAME + 1)), "host of instance .* is 256 characters long"),
        (leaf(path="z1!"), "bad leaf path"),
        (leaf(path="Z1"), "bad leaf path"),
        (leaf(address="10.0.0.5:50051\r"), "leaf z1: address contains control characters"),
        (leaf(actions=("pause",) * (MAX_CAPABILITIES + 1)), "leaf z1: actions: at most"),
        (leaf(actions=("pa\tuse",)), "leaf z1: actions contains control characters"),
        (leaf(refusals=(("pause\n", "why"),)), "refused action contains control characters"),
        (leaf(refusals=(("pause", "w" * (MAX_FIELD + 1)),)),
         f"why 'pause' is refused is {MAX_FIELD + 1} characters long"),
    ],
    ids=["negative-total", "huge-used", "hugely-negative-free", "negative-hosts",
         "too-many-hosts-up", "too-many-instances", "negative-fits", "newline-in-flavor",
         "bad-change-uuid", "bad-change-path", "nul-in-host", "long-host", "leaf-path-trailing",
         "leaf-path-uppercase", "cr-in-leaf-address", "too-many-actions", "tab-in-action",
         "newline-in-refused-action", "long-refusal"],
)
def test_bad_reports(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_report(replace(good_report(), **changes))  # type: ignore[arg-type]
