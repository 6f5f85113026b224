"""A tree of cell processes under mutual TLS, with API tokens on the top's client port."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cellops import certs
from cellops.tree import TreeRunner
from cellops.tree_spec import load_tree
from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.security.auth import TokenStore
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import InstanceState
from model.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from routing.index import LocationIndex

TREE = """
[tree]
tls = true
tokens = true
report_interval = 0.2
down_after = 3

[cells.top]
[cells.r1]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 16, memory_mb = 32768, disk_gb = 100 }]
"""


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    tmp = tmp_path_factory.mktemp("secure")
    (tmp / "tree.toml").write_text(TREE)
    runner = TreeRunner(load_tree(tmp / "tree.toml"), tmp / "state")
    runner.start(timeout=60)
    yield runner
    runner.stop()


def member(runner: TreeRunner, project: str) -> CellClient:
    assert runner.tokens_file is not None
    token, _ = TokenStore(runner.tokens_file).issue(project, "member", f"{project} user")
    return runner.client(timeout=10, token=token)


def test_an_admin_token_sees_the_tree_and_acts(secure: TreeRunner) -> None:
    with secure.client() as admin:
        vm = admin.boot(boot_spec("admin-vm", 1, 512, project="ops"))
        assert {n.path for n in admin.topology().walk()} == {"top", "top!r1", "top!r1!z1"}
        assert admin.pause(vm.uuid, wait=True).state is InstanceState.PAUSED
        assert admin.delete(vm.uuid, wait=True).state is InstanceState.DELETED


@pytest.mark.parametrize("token", ["", "crt_nope_nope", "Basic xyz"], ids=["none", "unknown",
                                                                           "malformed"])
def test_a_call_without_a_valid_token_is_unauthenticated(secure: TreeRunner, token: str) -> None:
    with secure.client(token=token) as client, pytest.raises(Unauthenticated):
        client.list()


def test_a_revoked_token_is_refused_at_once(secure: TreeRunner) -> None:
    assert secure.tokens_file is not None
    store = TokenStore(secure.tokens_file)
    token, record = store.issue("temp", "member")
    with secure.client(token=token) as client:
        assert client.list().instances == ()
        store.revoke(record.id)
        with pytest.raises(Unauthenticated):
            client.list()


def test_members_see_and_touch_only_their_project(secure: TreeRunner) -> None:
    with member(secure, "acme") as acme, member(secure, "globex") as globex:
        mine = acme.boot(boot_spec("acme-web", 1, 512))
        assert mine.project == "acme"  # a member's boot lands in its project
        theirs = globex.boot(boot_spec("globex-db", 1, 512))

        assert [i.name for i in acme.list().instances] == ["acme-web"]
        missing = str(uuidlib.uuid4())
        for call in (lambda: globex.get(mine.uuid), lambda: globex.pause(mine.uuid, wait=True),
                     lambda: globex.delete(mine.uuid, wait=True),
                     lambda: globex.locate(mine.uuid)):
            with pytest.raises(NotFound) as hidden:
                call()
            assert mine.uuid in hidden.value.message
        # Exactly what a uuid that exists nowhere gets: existence does not leak.
        with pytest.raises(NotFound) as nowhere:
            globex.get(missing)
        with pytest.raises(NotFound) as hidden:
            globex.get(mine.uuid)
        assert hidden.value.message == nowhere.value.message.replace(missing, mine.uuid)

        assert acme.get(mine.uuid).state is InstanceState.ACTIVE  # untouched
        with pytest.raises(PermissionDenied):
            acme.boot(boot_spec("sneaky", 1, 512, project="globex"))
        with pytest.raises(PermissionDenied):
            acme.topology()
        with secure.client() as admin:
            names = {i.name for i in admin.list(ListQuery(name_prefix="acme-")).instances}
            assert names == {"acme-web"}
            for vm in (mine, theirs):
                admin.delete(vm.uuid, wait=True)


def test_a_plaintext_client_cannot_reach_the_tls_port(secure: TreeRunner) -> None:
    with CellClient(secure.top_address, timeout=3, token=secure.admin_token) as plain, \
            pytest.raises(Unavailable):
        plain.list()


def cells_stub(runner: TreeRunner, target: str, ca_dir: Path, name: str,
               server_name: str) -> tuple[grpc.Channel, pb_grpc.CellsStub, pb_grpc.ParentStub]:
    credentials = grpc.ssl_channel_credentials(
        (runner.certs / "ca.pem").read_bytes() if runner.certs else None,
        (ca_dir / f"{name}.key").read_bytes(), (ca_dir / f"{name}.pem").read_bytes())
    channel = grpc.secure_channel(runner.addresses[target], credentials,
                                  [("grpc.ssl_target_name_override", server_name)])
    return channel, pb_grpc.CellsStub(channel), pb_grpc.ParentStub(channel)  # type: ignore[no-untyped-call]


def test_a_certificate_from_another_ca_is_refused(secure: TreeRunner, tmp_path: Path) -> None:
    certs.init_ca(tmp_path)
    certs.issue(tmp_path, "r1")  # even claiming a real cell's name
    channel, _, parent = cells_stub(secure, "top", tmp_path, "r1", "top")
    with channel:
        with pytest.raises(grpc.RpcError) as refused:
            parent.Register(pb.RegisterRequest(name="r1", address="127.0.0.1:1",
                                               kind=pb.CELL_KIND_ROUTER), timeout=5)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert_r1_unchanged(secure)


def test_a_cell_cannot_register_under_another_name(secure: TreeRunner) -> None:
    assert secure.certs is not None
    certs.issue(secure.certs, "rogue")  # a genuine certificate, for another cell
    channel, _, parent = cells_stub(secure, "top", secure.certs, "rogue", "top")
    with channel:
        with pytest.raises(grpc.RpcError) as refused:
            parent.Register(pb.RegisterRequest(name="r1", address="127.0.0.1:1",
                                               kind=pb.CELL_KIND_ROUTER), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "cell rogue may not speak for cell r1" in (refused.value.details() or "")
    assert_r1_unchanged(secure)


def test_only_the_cells_above_may_call_a_cell(secure: TreeRunner) -> None:
    assert secure.certs is not None
    certs.issue(secure.certs, "sibling")
    channel, cells, _ = cells_stub(secure, "z1", secure.certs, "sibling", "z1")
    with channel:
        with pytest.raises(grpc.RpcError) as refused:
            cells.List(pb.ListRequest(), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    channel, cells, _ = cells_stub(secure, "z1", secure.certs, "r1", "z1")
    with channel:  # its parent's certificate (what r1 itself presents) is let in
        assert isinstance(cells.List(pb.ListRequest(), timeout=5), pb.ListResponse)


def assert_r1_unchanged(runner: TreeRunner) -> None:
    with runner.client() as admin:
        nodes = {n.path: n for n in admin.topology().walk()}
    assert nodes["top!r1"].address == runner.addresses["r1"] and nodes["top!r1"].up


def test_a_client_claiming_to_be_a_cell_is_still_limited(tmp_path: Path) -> None:
    limited = TREE.replace("[cells.r1]", "[cells.top.limits]\nrequests_per_second_per_client = 1"
                           "\nburst_per_client = 1\n\n[cells.r1]", 1)
    (tmp_path / "tree.toml").write_text(limited)
    runner = TreeRunner(load_tree(tmp_path / "tree.toml"), tmp_path / "state")
    runner.start(timeout=60)
    try:
        assert runner.tokens_file is not None and runner.ca is not None
        token, _ = TokenStore(runner.tokens_file).issue("acme", "member", "eager")
        metadata = (("authorization", f"Bearer {token}"), ("x-cellrouter-hops", "1"))
        with grpc.secure_channel(runner.client_address,
                                 grpc.ssl_channel_credentials(runner.ca)) as channel:
            stub = pb_grpc.CellsStub(channel)  # type: ignore[no-untyped-call]
            codes = []
            for _ in range(5):
                try:
                    stub.List(pb.ListRequest(), metadata=metadata, timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as exc:
                    codes.append(exc.code())  # type: ignore[attr-defined]
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes, codes
    finally:
        runner.stop()


def test_a_member_on_the_client_port_cannot_choose_a_uuid_or_join_anothers_group(
        secure: TreeRunner) -> None:
    with secure.client(timeout=10) as admin:
        before = len(admin.list(ListQuery(limit=1000)).instances)
    with member(secure, "acme") as acme:
        chosen = str(uuidlib.uuid4())
        with pytest.raises(InvalidArgument, match="cannot choose an instance's uuid"):
            acme.boot(boot_spec("mine", 1, 256, uuid=chosen))
        with pytest.raises(NotFound):
            acme.get(chosen)  # nothing was built under it
        joined = acme.boot(boot_spec("grouped", 1, 256, hints={"group": "zeta:db"}))
    with secure.client(timeout=10) as admin:
        assert len(admin.list(ListQuery(limit=1000)).instances) == before + 1
    # The leaf recorded the group as the member's own project's.
    index = LocationIndex.open(f"sqlite:///{secure.state_dir / 'z1' / 'cell.db'}")
    try:
        row = index.lookup_uncached(joined.uuid)
        assert row is not None and row.server_group == "acme:zeta:db"
    finally:
        index.close()


def test_a_members_dry_run_names_cells_not_hosts(secure: TreeRunner) -> None:
    with secure.client(timeout=10) as admin:
        seen_by_admin = admin.plan(boot_spec("planned", 1, 256))
    assert [o.host for o in seen_by_admin.ranked] == ["h1"]
    with member(secure, "acme") as acme:
        seen_by_member = acme.plan(boot_spec("planned", 1, 256))
    assert [(o.cell_path, o.host) for o in seen_by_member.ranked] == [("top!r1!z1", "")]
    assert seen_by_member.explanations == seen_by_admin.explanations  # counts, no names
    assert not any("h1" in line for line in seen_by_member.explanations)
