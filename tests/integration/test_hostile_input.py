"""Hostile input: malformed and extreme messages to every RPC of a real tree.

Hypothesis sends each RPC of `Cells` (to the top, the router or a leaf) and of
`Parent` (to the top and the router) what the typed client never would: huge
and odd strings, bad uuids, int64 extremes, unknown enum numbers, large maps,
bad page tokens, odd metadata. Every call must keep three properties:

    it answers   OK where the RPC allows it, else a status code from the RPC's
                 allowed set with a short message (UNKNOWN or INTERNAL is a bug)
    it survives  every cell process alive, the called cell SERVING afterwards
    it is inert  the instances listed at the top and the instance counts in
                 the topology are as before (a boot that is accepted is
                 deleted again, and then they are as before)

    top ─── r1 ─┬─ z1  (fake: h1, h2)
                └─ z2  (fake: h3)
"""

from __future__ import annotations

import base64
import json
import re
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cellops.tree import TreeRunner
from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from tests.integration.conftest import eventually, start_tree

TREE = """
[tree]
insecure = true
report_interval = 0.2
down_after = 10

[cells.top]
[cells.r1]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [
  { name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 },
  { name = "h2", vcpus = 4, memory_mb = 8192, disk_gb = 50 },
]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{ name = "h3", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""

SEED = "5eed0000-0000-4000-8000-000000000001"  # an instance in z1, booted by the fixture
OTHER = "5eed0000-0000-4000-8000-000000000002"  # one in z2
CHILDREN = {"top": "r1", "r1": "z1"}  # a real child of each Parent we call
TIMEOUT = 15.0
MAX_DETAILS = 2000  # a refusal's message is for a person: it must not echo a huge field
LIMIT = 4 * 1024 * 1024  # the cells' receive limit
Code = grpc.StatusCode
OK = Code.OK

# ------------------------------------------------------------ strategies

INT64 = st.one_of(
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, -(2**63)]),
    st.integers(-(2**63), 2**63 - 1),
)
INT32 = st.one_of(st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)]),
                  st.integers(-(2**31), 2**31 - 1))
ENUM = INT32  # proto3 enums are open: any int32 arrives, kept as a number
CONTROL = ["\x00", "\n", "\r", "\t", "\x1b", "\x01"]
UNITS = ["a", "Z", "0", "-", "!", ".", " ", "é", "ß", "İ", "😀", "\u202e", "\ufeff", "\u0301",
         *CONTROL]
ODD = ["", " ", "\x00", "null", "None", "-1", "top", "top!r1", "top!r1!z1", "top!!r1", "!top",
       "top!", "TOP", "../../etc/passwd", "%s%n%x", "${jndi:ldap://x}", "'; DROP TABLE x; --",
       "a" * 256, "😀" * 300, "İstanbul", "name\x00hidden", "\ud7ff\ue000\U0010ffff"]


def repeated(low: int, high: int) -> st.SearchStrategy[str]:
    """One character many times: a huge string without a huge hypothesis buffer."""
    return st.builds(lambda unit, n: unit * n, st.sampled_from(UNITS), st.integers(low, high))


HUGE = repeated(256, 60_000)  # up to ~240 KB of UTF-8
TEXT = st.one_of(st.sampled_from(ODD), st.text(max_size=40), HUGE)
WITH_CONTROL = st.builds(lambda a, c, b: a + c + b, st.text(max_size=20),
                         st.sampled_from(CONTROL), st.text(max_size=20))
OVERLONG_NAME = repeated(256, 60_000)  # past every name limit (255)
OVERLONG_FIELD = repeated(1025, 60_000)  # past every free-text limit (1024)


def uuid_spellings(uuid: str) -> list[str]:
    """Ways to write something that is not quite `uuid`."""
    return ["{" + uuid + "}", "urn:uuid:" + uuid, uuid.replace("-", ""), " " + uuid,
            uuid + "\n", uuid + "\x00", uuid[:-1], uuid + "0", uuid.replace("-", "_"),
            uuid.replace("-", "", 1), "\ufeff" + uuid, uuid.replace("5", "\uff15")]


UUIDS = st.one_of(TEXT, st.uuids().map(str), st.uuids().map(lambda u: u.hex),
                  st.sampled_from(uuid_spellings(SEED)))
BAD_UUIDS = st.one_of(st.sampled_from(uuid_spellings(SEED)), WITH_CONTROL, HUGE,
                      st.text(max_size=30))
BAD_PATHS = st.one_of(
    st.sampled_from(["!", "top!!r1", "top!", "!top", "TOP", "top r1", "top!r1\n",
                     "!".join(["a"] * 17), "top!" + "x" * 64, "top!r1!z1!\x00"]),
    WITH_CONTROL, HUGE)
TARGETS = st.one_of(BAD_PATHS, st.sampled_from(["top!r1!nope", "top!nope", "elsewhere",
                                                "top!r1!z1!deeper", "top!r1!z2!h3"]))
NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?")  # the documented cell name rule
BAD_NAMES = st.one_of(TEXT, WITH_CONTROL).filter(lambda s: not NAME.fullmatch(s))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=10,
)
PAGE_TOKENS = st.one_of(
    TEXT,
    st.binary(max_size=200).map(b64),
    JSON.map(lambda v: b64(json.dumps(v).encode())),
    st.tuples(st.sampled_from(["name", "created_at", "other", ""]), JSON, JSON).map(
        lambda t: b64(json.dumps([t[0], [t[1], t[2]]]).encode())),
    # Nested past what json can parse, near its limit, and deep below a cell's stack.
    st.sampled_from([980, 1_000, 100_000]).map(lambda n: b64(b"[" * n + b"]" * n)),
    st.integers(100, 200_000).map(lambda n: b64(b"[" * n + b"]" * n)),
    st.integers(4_400, 50_000).map(lambda n: b64(b'["name", [' + b"9" * n + b', "u"]]')),
    st.sampled_from([b64(b'["created_at", [NaN, "u"]]'), b64(b'["created_at", [1e999, "u"]]'),
                     b64(b'["name", ["a", 1]]'), b64(b'["name", [true, "u"]]'), "====", "%%%"]),
)
PORT = st.builds(pb.Port, network=TEXT, mac=st.one_of(TEXT, st.just("52:54:00:12:34:56")),
                 ip=TEXT)
HINT_KEYS = ["group", "group_policy", "group_members", "same_host", "different_host",
             "availability_zone", "aggregate:ssd", "aggregate:"]
HINTS = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(HINT_KEYS), TEXT), TEXT, max_size=6),
    st.integers(65, 20_000).map(lambda n: {f"k{i}": "v" for i in range(n)}),
    st.integers(10, 200_000).map(lambda n: {"group": "[" * n + "]" * n}),
)
FLAVORS = st.one_of(st.none(), st.builds(pb.Flavor, vcpus=INT64, memory_mb=INT64, disk_gb=INT64))

# Field by field, what may replace a valid value in a boot (1 to 3 of them).
BOOT_FAULTS: dict[str, st.SearchStrategy[Any]] = {
    "request_id": TEXT,
    "name": TEXT,
    "image": TEXT,
    "project": TEXT,
    "uuid": st.one_of(UUIDS, st.sampled_from([SEED, SEED.upper(), OTHER])),
    "target_cell": TARGETS,
    "flavor": FLAVORS,
    "ports": st.one_of(st.lists(PORT, max_size=4), st.integers(33, 5_000).map(
        lambda n: [pb.Port(network="n", mac="52:54:00:12:34:56")] * n)),
    "hints": HINTS,
}


@st.composite
def boot_requests(draw: st.DrawFn) -> pb.BootRequest:
    """A valid boot with one to three fields made hostile."""
    fields: dict[str, Any] = {
        "request_id": f"hostile-{uuidlib.uuid4().hex}", "name": "hostile",
        "flavor": pb.Flavor(vcpus=1, memory_mb=64, disk_gb=1), "image": "cirros",
        "project": "demo",
    }
    for name in draw(st.sets(st.sampled_from(sorted(BOOT_FAULTS)), min_size=1, max_size=3)):
        fields[name] = draw(BOOT_FAULTS[name])
    return pb.BootRequest(**fields)


PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=4_000)
METADATA = st.lists(st.one_of(
    st.tuples(st.just("x-cellrouter-hops"),
              st.sampled_from(["-1", "abc", "9" * 30, "10", "9", "1e3", " 3", "+12", "1_000",
                               ""])),
    st.tuples(st.just("x-request-id"), PRINTABLE),
), max_size=2, unique_by=lambda kv: kv[0])


def hops_of(metadata: Sequence[tuple[str, str]]) -> int:
    """The hop count a cell reads from `metadata` (as model.call does)."""
    for key, value in metadata:
        if key == "x-cellrouter-hops":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


# ------------------------------------------------------------------ tree


@dataclass(frozen=True)
class State:
    """What a refused call must leave as it was."""

    listed: frozenset[tuple[str, int]]  # (uuid, state) of every instance listed at the top
    counts: tuple[tuple[str, int], ...]  # (cell path, instances) in the topology


class Hostile:
    """Raw stubs to every cell of a running tree, and the checks of this module."""

    def __init__(self, runner: TreeRunner) -> None:
        self.runner = runner
        options = [("grpc.max_send_message_length", -1)]
        self.channels = {name: grpc.insecure_channel(address, options=options)
                         for name, address in runner.addresses.items()}

    def cells(self, name: str) -> pb_grpc.CellsStub:
        return pb_grpc.CellsStub(self.channels[name])  # type: ignore[no-untyped-call]

    def parent(self, name: str) -> pb_grpc.ParentStub:
        return pb_grpc.ParentStub(self.channels[name])  # type: ignore[no-untyped-call]

    def state(self) -> State:
        top = self.cells("top")
        listed: set[tuple[str, int]] = set()
        token = ""
        while True:
            page = top.List(pb.ListRequest(limit=1000, page_token=token), timeout=TIMEOUT)
            assert not page.unreachable_cells, f"unreachable: {list(page.unreachable_cells)}"
            listed |= {(i.uuid, i.state) for i in page.instances}
            token = page.next_page_token
            if not token:
                break
        root = top.Topology(pb.TopologyRequest(), timeout=TIMEOUT)
        return State(frozenset(listed), tuple(sorted(_counts(root))))

    def alive(self, called: str) -> None:
        for name, proc in self.runner.procs.items():
            assert proc.poll() is None, f"cell {name} exited with {proc.returncode}"
        health = health_pb2_grpc.HealthStub(self.channels[called])
        reply = health.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def send(self, cell: str, rpc: Callable[..., Any], request: Any, allowed: set[Code],
             metadata: Sequence[tuple[str, str]] = ()) -> tuple[Code, str, Any]:
        """Call `rpc` on `cell` and check the three properties; returns the outcome."""
        before = self.state()
        code, details, reply = call(rpc, request, metadata)
        method = type(request).__name__
        assert code in allowed, f"{method} to {cell}: {code.name} {details[:300]!r}"
        if code is not OK:
            assert details.strip(), f"{method} to {cell}: {code.name} without a message"
            assert len(details) <= MAX_DETAILS, (
                f"{method} to {cell}: a {len(details)}-character message: {details[:300]!r}")
            assert self.state() == before, f"{method} to {cell} refused, yet changed state"
        self.alive(cell)
        return code, details, reply

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()


def call(rpc: Callable[..., Any], request: Any,
         metadata: Sequence[tuple[str, str]] = ()) -> tuple[Code, str, Any]:
    try:
        return OK, "", rpc(request, timeout=TIMEOUT, metadata=tuple(metadata) or None)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or "", None


def _counts(node: pb.CellNode) -> Iterator[tuple[str, int]]:
    yield node.path, node.capacity.instances
    for child in node.children:
        yield from _counts(child)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    runner = start_tree(tmp_path_factory.mktemp("hostile"), TREE)
    tree = Hostile(runner)
    try:
        top = tree.cells("top")
        for uuid, leaf in ((SEED, "top!r1!z1"), (OTHER, "top!r1!z2")):
            top.Boot(pb.BootRequest(request_id=f"seed-{uuid}", name=f"seed-{leaf[-2:]}",
                                    uuid=uuid, flavor=pb.Flavor(vcpus=1, memory_mb=512),
                                    target_cell=leaf), timeout=TIMEOUT)
        assert eventually(lambda: dict(tree.state().counts)["top"] == 2)
        yield tree
    finally:
        tree.close()
        runner.stop()


CELLS = st.sampled_from(["top", "r1", "z1"])
FEW = settings(max_examples=100, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow, HealthCheck.data_too_large])
FEWER = settings(FEW, max_examples=40)


def hop_limited(allowed: set[Code], metadata: Sequence[tuple[str, str]]) -> set[Code]:
    """A call that claims to have crossed too many cells (10) is refused before
    anything; one that runs out of hops on the way down (the leaves are two below
    the top) is refused by the cell where it does, which its caller may take for
    a cell that did not answer."""
    hops = hops_of(metadata)
    if hops >= 10:
        return {Code.FAILED_PRECONDITION}
    if hops >= 8:
        return allowed | {Code.FAILED_PRECONDITION, Code.UNAVAILABLE}
    return allowed


# ------------------------------------------------------------- Cells


@FEW
@given(cell=CELLS, request=boot_requests(), metadata=METADATA)
def test_boot(hostile: Hostile, cell: str, request: pb.BootRequest,
              metadata: list[tuple[str, str]]) -> None:
    assume(request.ByteSize() < LIMIT - 64 * 1024)
    before = hostile.state()
    allowed = {OK, Code.INVALID_ARGUMENT, Code.ALREADY_EXISTS, Code.NOT_FOUND,
               Code.RESOURCE_EXHAUSTED}
    code, _, reply = hostile.send(cell, hostile.cells(cell).Boot, request,
                                  hop_limited(allowed, metadata), metadata)
    if code is OK:  # a hostile-looking boot can still be a good one: undo it
        assert reply.name == request.name and reply.uuid not in (SEED, OTHER)
        assert reply.uuid == reply.uuid.lower()
        hostile.cells("top").Delete(pb.ActionRequest(uuid=reply.uuid, wait=True),
                                    timeout=TIMEOUT)
        assert eventually(lambda: hostile.state() == before)


@FEW
@given(cell=CELLS, request=boot_requests(), metadata=METADATA)
def test_plan(hostile: Hostile, cell: str, request: pb.BootRequest,
              metadata: list[tuple[str, str]]) -> None:
    assume(request.ByteSize() < LIMIT - 64 * 1024)
    before = hostile.state()
    allowed = {OK, Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.RESOURCE_EXHAUSTED}
    hostile.send(cell, hostile.cells(cell).Plan, request, hop_limited(allowed, metadata),
                 metadata)
    assert hostile.state() == before  # a plan never builds anything


ACTIONS = ["Pause", "Unpause", "Suspend", "Resume", "Stop", "Start", "Delete"]


@pytest.mark.parametrize("method", ACTIONS)
@FEWER
@given(cell=CELLS, uuid=UUIDS, wait=st.booleans(), metadata=METADATA)
def test_actions(hostile: Hostile, method: str, cell: str, uuid: str, wait: bool,
                 metadata: list[tuple[str, str]]) -> None:
    allowed = hop_limited({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, metadata)
    hostile.send(cell, getattr(hostile.cells(cell), method),
                 pb.ActionRequest(uuid=uuid, wait=wait), allowed, metadata)


@FEW
@given(cell=CELLS, uuid=UUIDS, wait=st.booleans(), hard=st.booleans(), metadata=METADATA)
def test_reboot(hostile: Hostile, cell: str, uuid: str, wait: bool, hard: bool,
                metadata: list[tuple[str, str]]) -> None:
    allowed = hop_limited({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, metadata)
    hostile.send(cell, hostile.cells(cell).Reboot,
                 pb.RebootRequest(uuid=uuid, wait=wait, hard=hard), allowed, metadata)


@FEW
@given(cell=CELLS, uuid=UUIDS, metadata=METADATA)
def test_get(hostile: Hostile, cell: str, uuid: str, metadata: list[tuple[str, str]]) -> None:
    allowed = hop_limited({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, metadata)
    hostile.send(cell, hostile.cells(cell).Get, pb.GetRequest(uuid=uuid), allowed, metadata)


@FEW
@given(cell=CELLS, uuid=UUIDS, metadata=METADATA)
def test_locate(hostile: Hostile, cell: str, uuid: str, metadata: list[tuple[str, str]]) -> None:
    allowed = hop_limited({Code.INVALID_ARGUMENT, Code.NOT_FOUND}, metadata)
    hostile.send(cell, hostile.cells(cell).Locate, pb.LocateRequest(uuid=uuid), allowed,
                 metadata)


@settings(FEW, max_examples=200)
@given(cell=CELLS, limit=INT32, page_token=PAGE_TOKENS, project=TEXT,
       state=st.one_of(ENUM, st.integers(0, 8)), name_prefix=TEXT,
       sort=st.one_of(TEXT, st.sampled_from(["name", "created_at"])), metadata=METADATA)
def test_list(hostile: Hostile, cell: str, limit: int, page_token: str, project: str,
              state: int, name_prefix: str, sort: str, metadata: list[tuple[str, str]]) -> None:
    request = pb.ListRequest(limit=limit, page_token=page_token, project=project,
                             state=state, name_prefix=name_prefix, sort=sort)  # type: ignore[arg-type]
    allowed = hop_limited({OK, Code.INVALID_ARGUMENT}, metadata)
    code, _, reply = hostile.send(cell, hostile.cells(cell).List, request, allowed, metadata)
    if code is OK and hops_of(metadata) < 8:
        # A healthy cell below must not look unreachable to a strange query.
        assert not reply.unreachable_cells, list(reply.unreachable_cells)


def unknown_fields(fields: list[tuple[int, bytes]]) -> bytes:
    """Length-delimited fields with numbers the message does not have."""
    out = bytearray()
    for number, data in fields:
        out += _varint(number << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


@FEWER
@given(cell=CELLS, fields=st.lists(st.tuples(st.integers(1, 2**29 - 1), st.binary(max_size=64)),
                                   max_size=5), metadata=METADATA)
def test_topology(hostile: Hostile, cell: str, fields: list[tuple[int, bytes]],
                  metadata: list[tuple[str, str]]) -> None:
    raw = hostile.channels[cell].unary_unary(
        "/cellrouter.v1.Cells/Topology", response_deserializer=pb.CellNode.FromString)
    code, _, reply = hostile.send(cell, raw, unknown_fields(fields),
                                  hop_limited({OK}, metadata), metadata)
    if code is OK:
        assert reply.path.endswith(cell)


# ------------------------------------------------------------ Parent

PARENTS = st.sampled_from(sorted(CHILDREN))
CAPABILITIES = st.lists(st.sampled_from(["pause", "reboot", "delete"]), max_size=3)
REGISTRATION_FAULTS: dict[str, st.SearchStrategy[Any]] = {
    "name": BAD_NAMES,
    "address": st.one_of(st.just(""), OVERLONG_FIELD, WITH_CONTROL),
    "kind": ENUM.filter(lambda k: k not in (0, 1, 2)),
    "capabilities": st.one_of(
        st.integers(65, 5_000).map(lambda n: ["pause"] * n),
        st.lists(st.one_of(OVERLONG_NAME, WITH_CONTROL), min_size=1, max_size=3)),
}


@st.composite
def registrations(draw: st.DrawFn, parent: str) -> pb.RegisterRequest:
    """A registration, of a new cell or of the parent's real child, that is wrong
    in one to three ways: it must never be taken."""
    fields: dict[str, Any] = {
        "name": draw(st.sampled_from(["intruder", CHILDREN[parent]])),
        "address": "127.0.0.1:9", "kind": pb.CELL_KIND_LEAF,
        "capabilities": draw(CAPABILITIES),
    }
    for name in draw(st.sets(st.sampled_from(sorted(REGISTRATION_FAULTS)), min_size=1,
                             max_size=3)):
        fields[name] = draw(REGISTRATION_FAULTS[name])
    return pb.RegisterRequest(**fields)


@FEW
@given(data=st.data(), parent=PARENTS)
def test_register(hostile: Hostile, data: st.DataObject, parent: str) -> None:
    request = data.draw(registrations(parent))
    assume(request.ByteSize() < LIMIT - 64 * 1024)
    # A name the parent's config does not list is refused before it is read.
    stranger = {Code.PERMISSION_DENIED} if request.name != CHILDREN[parent] else set()
    hostile.send(parent, hostile.parent(parent).Register, request,
                 {Code.INVALID_ARGUMENT} | stranger)


BIG = st.one_of(st.integers(-(2**63), -1), st.integers(2**48 + 1, 2**63 - 1))


def flavor_with(field: str, value: int) -> pb.Flavor:
    return pb.Flavor(**{field: value})


FIGURES = st.sampled_from(["vcpus", "memory_mb", "disk_gb"])
CAPACITY_FAULTS = st.one_of(
    st.builds(lambda f, v: pb.Capacity(total=flavor_with(f, v)), FIGURES, BIG),
    st.builds(lambda f, v: pb.Capacity(used=flavor_with(f, v)), FIGURES, BIG),
    st.builds(lambda f, v: pb.Capacity(largest_free=flavor_with(f, v)), FIGURES,
              st.one_of(st.integers(-(2**63), -(2**48) - 1), st.integers(2**48 + 1, 2**63 - 1))),
    st.builds(lambda v: pb.Capacity(instances=v), BIG),
    st.builds(lambda v: pb.Capacity(hosts=v), st.integers(-(2**31), -1)),
    st.builds(lambda v: pb.Capacity(hosts_up=v), st.integers(-(2**31), -1)),
    st.builds(lambda v: pb.Capacity(flavor_fits={"small": v}), BIG),
    st.builds(lambda k: pb.Capacity(flavor_fits={k: 1}), st.one_of(OVERLONG_NAME, WITH_CONTROL)),
)
CHANGE_FAULTS = st.one_of(
    st.builds(pb.InstanceChange, uuid=BAD_UUIDS, state=st.integers(0, 8)),
    st.builds(pb.InstanceChange, uuid=st.just(SEED), state=ENUM.filter(lambda s: not 0 <= s <= 8)),
    st.builds(pb.InstanceChange, uuid=st.just(SEED), state=st.just(pb.ACTIVE), cell_path=BAD_PATHS),
    st.builds(pb.InstanceChange, uuid=st.just(SEED), state=st.just(pb.ACTIVE),
              host=st.one_of(OVERLONG_NAME, WITH_CONTROL)),
)
LEAF_FAULTS = st.one_of(
    st.builds(lambda key: {key: pb.LeafInfo(address="127.0.0.1:9")}, BAD_PATHS),
    st.builds(lambda a: {"": pb.LeafInfo(address=a)}, st.one_of(OVERLONG_FIELD, WITH_CONTROL)),
    st.builds(lambda a: {"": pb.LeafInfo(address="127.0.0.1:9", actions=a)},
              st.lists(st.one_of(OVERLONG_NAME, WITH_CONTROL), min_size=1, max_size=3)),
    st.builds(lambda why: {"": pb.LeafInfo(address="127.0.0.1:9", refusals={"pause": why})},
              OVERLONG_FIELD),
)
REPORT_FAULTS = {
    "capacity": CAPACITY_FAULTS,
    "changes": st.lists(CHANGE_FAULTS, min_size=1, max_size=3),
    "leaves": LEAF_FAULTS,
}


@st.composite
def reports(draw: st.DrawFn, parent: str) -> pb.ReportRequest:
    """A report in the name of the parent's real child, wrong in one to three ways.
    Taken, its empty capacity would show in the topology at once."""
    fields: dict[str, Any] = {"name": CHILDREN[parent]}
    for name in draw(st.sets(st.sampled_from(sorted(REPORT_FAULTS)), min_size=1, max_size=3)):
        fields[name] = draw(REPORT_FAULTS[name])
    return pb.ReportRequest(**fields)


@FEW
@given(data=st.data(), parent=PARENTS)
def test_report_of_a_real_child_is_refused(hostile: Hostile, data: st.DataObject,
                                           parent: str) -> None:
    request = data.draw(reports(parent))
    assume(request.ByteSize() < LIMIT - 64 * 1024)
    hostile.send(parent, hostile.parent(parent).Report, request, {Code.INVALID_ARGUMENT})


ANY_REPORT = st.builds(
    pb.ReportRequest,
    name=st.one_of(BAD_NAMES, st.just("intruder")),
    capacity=st.builds(pb.Capacity, total=FLAVORS, hosts=INT32, instances=INT64,
                       flavor_fits=st.dictionaries(TEXT, INT64, max_size=3)),
    changes=st.lists(st.builds(pb.InstanceChange, uuid=UUIDS, state=ENUM, cell_path=TEXT,
                               host=TEXT), max_size=3),
    leaves=st.dictionaries(TEXT, st.builds(pb.LeafInfo, address=TEXT), max_size=3),
)


@FEW
@given(parent=PARENTS, request=ANY_REPORT)
def test_report_of_a_stranger_changes_nothing(hostile: Hostile, parent: str,
                                              request: pb.ReportRequest) -> None:
    assume(request.ByteSize() < LIMIT - 64 * 1024)
    code, _, reply = hostile.send(parent, hostile.parent(parent).Report, request,
                                  {OK, Code.INVALID_ARGUMENT, Code.PERMISSION_DENIED})
    if code is OK:
        assert reply.register_again


def test_a_uuid_chosen_again_after_its_delete_is_deleted_again(hostile: Hostile) -> None:
    # The fake driver answered the second delete from its tombstone of the first,
    # and the instance stayed.
    before, top = hostile.state(), hostile.cells("top")
    uuid = "5eed0000-0000-4000-8000-0000000000ff"
    for attempt in range(2):
        top.Boot(pb.BootRequest(request_id=f"again-{attempt}", name="again", uuid=uuid,
                                flavor=pb.Flavor(vcpus=1, memory_mb=64),
                                target_cell="top!r1!z1"), timeout=TIMEOUT)
        top.Delete(pb.ActionRequest(uuid=uuid, wait=True), timeout=TIMEOUT)
        assert eventually(lambda: hostile.state() == before)


# ------------------------------------------------------ over the limits

OVERSIZED: Mapping[str, Callable[[str], Any]] = {
    "Boot": lambda huge: pb.BootRequest(request_id="r", name=huge),
    "Plan": lambda huge: pb.BootRequest(request_id="r", name=huge),
    "Pause": lambda huge: pb.ActionRequest(uuid=huge),
    "Reboot": lambda huge: pb.RebootRequest(uuid=huge),
    "Get": lambda huge: pb.GetRequest(uuid=huge),
    "List": lambda huge: pb.ListRequest(page_token=huge),
    "Locate": lambda huge: pb.LocateRequest(uuid=huge),
    "Register": lambda huge: pb.RegisterRequest(name=huge),
    "Report": lambda huge: pb.ReportRequest(name=huge),
}


@pytest.mark.parametrize("method", sorted(OVERSIZED))
def test_a_message_over_the_limit_is_resource_exhausted(hostile: Hostile, method: str) -> None:
    request = OVERSIZED[method]("x" * (LIMIT + 1))
    service = hostile.parent("top") if method in ("Register", "Report") else hostile.cells("top")
    hostile.send("top", getattr(service, method), request, {Code.RESOURCE_EXHAUSTED})


# Bytes no message can be: an impossible wire type, a varint that never ends,
# a length past the end.
GARBAGE = [b"\x07", b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x05ab"]
STRING_FIRST = ["Boot", "Plan", "Pause", "Reboot", "Get", "Locate", "Register", "Report"]


@pytest.mark.parametrize("method", [*STRING_FIRST, "List", "Topology"])
def test_bytes_that_are_no_message_are_invalid_argument(hostile: Hostile, method: str) -> None:
    service = "Parent" if method in ("Register", "Report") else "Cells"
    raw = hostile.channels["top"].unary_unary(f"/cellrouter.v1.{service}/{method}")
    # Field 1 of these is a string: bytes that are not UTF-8 cannot be one.
    not_utf8 = [b"\x0a\x02\xc3\x28"] if method in STRING_FIRST else []
    for garbage in GARBAGE + not_utf8:
        _, details, _ = hostile.send("top", raw, garbage, {Code.INVALID_ARGUMENT})
        assert "malformed request" in details
