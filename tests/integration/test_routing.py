"""Boot and act on instances through the top of a real three-level tree."""

from __future__ import annotations

import uuid as uuidlib

import grpc
import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery, fits
from model.compute import Action, Instance, InstanceState, Resources
from model.edits import Edit
from model.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from tests.integration.conftest import LEAVES, eventually, leaf_client


def boot(top: CellClient, name: str, **kw: object) -> Instance:
    return top.boot(boot_spec(name, 1, 512, 1, **kw))  # type: ignore[arg-type]


def test_boot_lands_on_a_leaf_three_levels_down(tree: TreeRunner, top: CellClient) -> None:
    instance = boot(top, "web", project="p1")
    assert instance.state is InstanceState.ACTIVE
    assert instance.cell_path in LEAVES.values()
    assert instance.host
    located = top.locate(instance.uuid)
    assert (located.cell_path, located.host) == (instance.cell_path, instance.host)
    with leaf_client(tree, instance.cell_path) as leaf:
        assert leaf.get(instance.uuid).state is InstanceState.ACTIVE
    top.delete(instance.uuid, wait=True)


# Each step: the action, then the state the leaf must show.
LIFECYCLE = [
    (Action.PAUSE, InstanceState.PAUSED),
    (Action.UNPAUSE, InstanceState.ACTIVE),
    (Action.SUSPEND, InstanceState.SUSPENDED),
    (Action.RESUME, InstanceState.ACTIVE),
    (Action.REBOOT, InstanceState.ACTIVE),
    (Action.REBOOT_HARD, InstanceState.ACTIVE),
    (Action.STOP, InstanceState.STOPPED),
    (Action.START, InstanceState.ACTIVE),
    (Action.DELETE, InstanceState.DELETED),
]


def test_every_action_routed_from_the_top(tree: TreeRunner, top: CellClient) -> None:
    instance = boot(top, "lifecycle")
    with leaf_client(tree, instance.cell_path) as leaf:
        for action, expected in LIFECYCLE:
            answered = top.act(instance.uuid, action, wait=True)
            assert answered.state is expected, action
            if expected is not InstanceState.DELETED:
                assert leaf.get(instance.uuid).state is expected, action
        with pytest.raises(NotFound):
            leaf.get(instance.uuid)
    with pytest.raises(NotFound):
        top.locate(instance.uuid)




def test_shelve_offload_and_unshelve_onto_another_host_of_the_leaf(
        tree: TreeRunner, top: CellClient) -> None:
    instance = boot(top, "shelved", target_cell=LEAVES["z1"])
    other = {"h1": "h2", "h2": "h1"}[instance.host]
    shelved = top.act(instance.uuid, Action.SHELVE, wait=True)
    assert (shelved.state, shelved.host) == (InstanceState.SHELVED, instance.host)
    gone = top.act(instance.uuid, Action.SHELVE_OFFLOAD, wait=True)
    assert (gone.state, gone.host) == (InstanceState.SHELVED_OFFLOADED, "")
    eventually(lambda: top.locate(instance.uuid).host == "")  # the routers' rows too
    with pytest.raises(InvalidArgument, match="not a host of leaf top!r1!z1"):
        top.act(instance.uuid, Action.UNSHELVE, wait=True, host="h3")  # z2's: a migration
    back = top.act(instance.uuid, Action.UNSHELVE, wait=True, host=other)
    assert (back.state, back.host, back.cell_path) == (InstanceState.ACTIVE, other, LEAVES["z1"])
    with leaf_client(tree, instance.cell_path) as leaf:
        assert (leaf.get(instance.uuid).host, leaf.get(instance.uuid).state) == (
            other, InstanceState.ACTIVE)
    assert top.get(instance.uuid).host == other
    eventually(lambda: top.locate(instance.uuid).host == other)
    top.delete(instance.uuid, wait=True)


def test_an_edit_is_routed_to_the_leaf_and_kept_there(tree: TreeRunner, top: CellClient) -> None:
    instance = boot(top, "to-rename")
    edited = top.update(instance.uuid, Edit(name="renamed", metadata=(("k", "v"),),
                                            tags=("t",), locked=True))
    assert (edited.name, edited.attributes.metadata) == ("renamed", (("k", "v"),))
    with leaf_client(tree, instance.cell_path) as leaf:
        kept = leaf.get(instance.uuid)
    assert kept.name == "renamed" and kept.attributes.tags == ("t",) and kept.attributes.locked
    assert top.get(instance.uuid).attributes == kept.attributes
    with pytest.raises(InvalidArgument):
        top.update(instance.uuid, Edit(tags=("no/slash",)))
    with pytest.raises(NotFound):
        top.update(str(uuidlib.uuid4()), Edit(name="nobody"))
    top.stop(instance.uuid, wait=True)
    rebuilt = top.rebuild(instance.uuid, "another-image")
    assert (rebuilt.image, rebuilt.state, rebuilt.host) == (
        "another-image", InstanceState.STOPPED, instance.host)
    assert rebuilt.name == "renamed" and rebuilt.attributes == kept.attributes
    top.delete(instance.uuid, wait=True)


def test_an_instances_actions_are_kept_at_its_leaf_and_found_after_its_delete(
    tree: TreeRunner, top: CellClient
) -> None:
    instance = boot(top, "logged", project="p-log")
    top.act(instance.uuid, Action.REBOOT_HARD, wait=True)
    top.update(instance.uuid, Edit(locked=True))
    top.delete(instance.uuid, wait=True)
    with pytest.raises(NotFound):
        top.locate(instance.uuid)  # gone from every index on the way
    log = top.actions(instance.uuid)  # asked of every cell: its leaf keeps the log
    assert (log.project, log.deleted) == ("p-log", True)
    assert [a.action for a in log.actions] == ["delete", "lock", "reboot", "create"]
    assert all(a.project == "p-log" for a in log.actions)
    assert log.actions[0].event == "compute_terminate_instance"
    assert log.actions[-1].host == instance.host
    with leaf_client(tree, instance.cell_path) as leaf:
        assert leaf.actions(instance.uuid) == log
    reboot = log.actions[2]
    only = top.actions(instance.uuid, reboot.request_id)
    assert only.actions == (reboot,)
    with pytest.raises(NotFound):
        top.actions(str(uuidlib.uuid4()))


def test_cast_returns_before_the_action_and_the_leaf_applies_it(
    tree: TreeRunner, top: CellClient
) -> None:
    instance = boot(top, "cast")
    accepted = top.pause(instance.uuid, wait=False)
    assert accepted.uuid == instance.uuid
    assert accepted.state in (InstanceState.ACTIVE, InstanceState.PAUSED)
    with leaf_client(tree, instance.cell_path) as leaf:
        assert eventually(lambda: leaf.get(instance.uuid).state is InstanceState.PAUSED)
    # The change reaches the top's index through the reports.
    assert eventually(lambda: top.get(instance.uuid).state is InstanceState.PAUSED)
    top.delete(instance.uuid, wait=True)


def test_retried_boot_returns_the_same_instance(top: CellClient) -> None:
    spec = boot_spec("retry", 1, 512, request_id=f"req-{uuidlib.uuid4()}")
    first = top.boot(spec)
    second = top.boot(spec)
    assert second.uuid == first.uuid
    named = top.list(ListQuery(name_prefix="retry")).instances
    assert [i.uuid for i in named] == [first.uuid]
    top.delete(first.uuid, wait=True)


def test_client_chosen_uuid_cannot_be_taken_twice(top: CellClient) -> None:
    chosen = str(uuidlib.uuid4())
    first = top.boot(boot_spec("mine", 1, 512, uuid=chosen))
    assert first.uuid == chosen
    with pytest.raises(AlreadyExists):
        top.boot(boot_spec("thief", 1, 512, uuid=chosen))
    assert top.get(chosen).name == "mine"
    top.delete(chosen, wait=True)


@pytest.mark.parametrize("leaf", sorted(LEAVES.values()))
def test_target_cell_places_inside_that_cell(top: CellClient, leaf: str) -> None:
    instance = boot(top, "targeted", target_cell=leaf)
    assert instance.cell_path == leaf
    top.delete(instance.uuid, wait=True)


def test_target_region_places_below_it(top: CellClient) -> None:
    instance = boot(top, "in-r1", target_cell="top!r1")
    assert instance.cell_path.startswith("top!r1!")
    top.delete(instance.uuid, wait=True)


@pytest.mark.parametrize(
    ("target", "error", "words"),
    [
        ("elsewhere!r1", InvalidArgument, "not inside top"),
        ("top!r9", NotFound, "top!r9"),
        ("top!r1!z9", NotFound, "top!r1!z9"),
        ("Top!R1", InvalidArgument, "bad target cell"),
    ],
    ids=["outside-the-tree", "unknown-region", "unknown-zone", "malformed"],
)
def test_bad_target_cell_is_refused(
    top: CellClient, target: str, error: type[Exception], words: str
) -> None:
    before = len(top.list().instances)
    with pytest.raises(error, match=words):
        boot(top, "lost", target_cell=target)
    assert len(top.list().instances) == before


def test_topology_shows_every_cell_up_with_capacity(top: CellClient) -> None:
    root = top.topology()
    paths = {n.path: n for n in root.walk()}
    assert set(paths) == {"top", "top!r1", "top!r2", *LEAVES.values()}
    assert all(n.up for n in paths.values())
    assert root.capacity.total.vcpus == 8 + 4 + 8 + 16
    assert root.capacity.largest_free.vcpus <= 16
    assert [h.name for h in paths["top!r1!z1"].hosts] == ["h1", "h2"]
    # Flavors that fit are counted host by host and summed up the tree. The top's
    # figure comes from reports, so it catches up with the leaves within an interval.
    small = Resources(1, 2048, 10)

    def counted() -> bool:
        now = top.topology()
        per_host = sum(fits(h.capacity.largest_free, small) for n in now.walk() for h in n.hosts)
        return per_host > 0 and dict(now.capacity.flavor_fits) == {"small": per_host}

    assert eventually(counted)


def test_health_and_reflection_are_served(tree: TreeRunner) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    for address in tree.addresses.values():
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            answer = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
            names = {s.name for s in answer.list_services_response.service}
            assert "cellrouter.v1.Cells" in names


def test_concurrent_boots_never_overcommit(private_tree: TreeRunner) -> None:
    """36 vCPUs in the tree; 48 concurrent 1-vCPU boots: 36 fit, 12 are refused."""
    from concurrent.futures import ThreadPoolExecutor

    with CellClient(private_tree.top_address, timeout=20) as top:
        def one(i: int) -> str:
            try:
                return top.boot(boot_spec(f"crowd-{i}", 1, 256)).uuid
            except ResourceExhausted:
                return ""

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(one, range(48)))
        booted = [u for u in results if u]
        assert len(booted) == 36
        assert len(set(booted)) == 36
        for node in top.topology().walk():
            for host in node.hosts:
                assert host.capacity.used.vcpus <= host.capacity.total.vcpus
        assert len(top.list().instances) == 36


def test_an_uppercase_uuid_finds_the_same_instance(top: CellClient) -> None:
    vm = top.boot(boot_spec("shouty", 1, 256))
    try:
        assert top.get(vm.uuid.upper()).uuid == vm.uuid
        assert top.locate(vm.uuid.upper()).cell_path == vm.cell_path
    finally:
        top.delete(vm.uuid.upper(), wait=True)
    with pytest.raises(NotFound):
        top.get(vm.uuid)
