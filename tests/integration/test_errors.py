"""Each refusal comes with the right status code, names the cell, and changes nothing."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import replace

import grpc
import pytest

from cellops.tree import TreeRunner
from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import InstanceState, Resources
from model.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from tests.integration.conftest import leaf_client


def test_malformed_uuid_is_invalid_argument(top: CellClient) -> None:
    with pytest.raises(InvalidArgument, match="malformed instance uuid 'not-a-uuid'"):
        top.pause("not-a-uuid")


def test_boot_without_flavor_is_invalid_argument(top: CellClient) -> None:
    spec = replace(boot_spec("x", 1, 1), flavor=Resources())
    with pytest.raises(InvalidArgument, match="flavor is required"):
        top.boot(spec)


def test_unknown_uuid_is_not_found_naming_the_cell(top: CellClient) -> None:
    unknown = str(uuidlib.uuid4())
    with pytest.raises(NotFound, match=rf"{unknown} not found \(at top\)"):
        top.stop(unknown, wait=True)


def test_illegal_transition_is_refused_and_changes_nothing(
    tree: TreeRunner, top: CellClient
) -> None:
    instance = top.boot(boot_spec("still", 1, 512))
    with pytest.raises(FailedPrecondition) as caught:
        top.unpause(instance.uuid, wait=True)
    assert "while it is ACTIVE" in caught.value.message
    assert instance.cell_path in caught.value.message
    with leaf_client(tree, instance.cell_path) as leaf:
        assert leaf.get(instance.uuid).state is InstanceState.ACTIVE
    top.delete(instance.uuid, wait=True)


def test_nothing_fits_is_resource_exhausted_with_reasons(top: CellClient) -> None:
    def used_on_hosts() -> dict[str, object]:
        # Read live from the leaves (the top's own figures lag by a report).
        return {h.name: h.capacity.used for n in top.topology().walk() for h in n.hosts}

    before = used_on_hosts()
    with pytest.raises(ResourceExhausted) as caught:
        top.boot(boot_spec("giant", 64, 512))
    assert "vcpu: 2 of 2 cells" in caught.value.message
    assert used_on_hosts() == before
    assert not top.list(ListQuery(name_prefix="giant")).instances


def test_unknown_state_filter_is_invalid_argument(tree: TreeRunner) -> None:
    with grpc.insecure_channel(tree.top_address) as channel:
        stub = pb_grpc.CellsStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.List(pb.ListRequest(state=99), timeout=5)  # type: ignore[arg-type]
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_hop_limit_stops_a_looping_request(tree: TreeRunner) -> None:
    with grpc.insecure_channel(tree.top_address) as channel:
        stub = pb_grpc.CellsStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Get(pb.GetRequest(uuid=str(uuidlib.uuid4())),
                     metadata=[("x-cellrouter-hops", "10")], timeout=5)
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "over the limit of 10" in (caught.value.details() or "")
