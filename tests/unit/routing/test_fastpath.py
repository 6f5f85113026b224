"""The fast path at a router's gRPC edge: what goes as bytes, what takes the
full path, and that nothing is done twice or answered differently."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from cellrouter.v1 import cells_pb2 as pb
from cells.edge.servicers import CellsServicer
from cells.security.scope import ScopedCells
from model.call import REQUEST_ID_KEY, Call
from model.cells import ChildReport, LeafInfo
from model.compute import Action, InstanceState
from model.errors import FailedPrecondition, Unavailable
from model.principal import Principal
from tests.unit.fakes import AbortedCall, FakeContext
from tests.unit.routing.router_tree import ROOMY, Tree, boot_into, edge_of, run, uuid


def action(uuid: str, wait: bool = True) -> bytes:
    return pb.ActionRequest(uuid=uuid, wait=wait).SerializeToString()  # type: ignore[no-any-return]


def test_the_answer_is_the_childs_bytes_unchanged(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        sent_by_child: list[bytes] = []
        forward = t.kids["a"].forward

        async def recording(*args: object, **kw: object) -> bytes:
            answer = await forward(*args, **kw)  # type: ignore[arg-type]
            sent_by_child.append(answer)
            return answer

        t.kids["a"].forward = recording  # type: ignore[method-assign]
        request = action(held)
        answer = await edge_of(t).routed("Pause", request, FakeContext())
        assert [answer] == sent_by_child
        (sent,) = t.kids["a"].calls("forward")
        assert sent.args == ("Pause", request)  # the caller's bytes, as they came
        assert t.kids["a"].calls("act") == []
        assert pb.Instance.FromString(answer).state == pb.PAUSED

    run(tmp_path, body)


def test_a_miss_is_located_and_served_by_the_full_path_then_forwarded(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = t.kids["b"].holds("old", uuid()).uuid
        edge = edge_of(t)
        request = pb.GetRequest(uuid=held).SerializeToString()
        first = pb.Instance.FromString(await edge.routed("Get", request, FakeContext()))
        assert first.uuid == held
        assert len(t.kids["b"].calls("locate")) == 1 and len(t.kids["b"].calls("get")) == 1
        await edge.routed("Get", request, FakeContext())
        assert len(t.kids["b"].calls("forward")) == 1  # known now: bytes

    run(tmp_path, body)


def test_a_stale_row_is_evicted_and_the_instance_found_where_it_is(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.kids["b"].instances[held] = t.kids["a"].instances.pop(held)
        answer = await edge_of(t).routed("Pause", action(held), FakeContext())
        assert pb.Instance.FromString(answer).state == pb.PAUSED
        assert t.kids["b"].instances[held].state is InstanceState.PAUSED
        row = t.index.lookup(held)
        assert row is not None and row.child == "b"

    run(tmp_path, body)


def test_an_action_whose_answer_was_lost_is_sent_again_with_its_request_id(
        tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.kids["a"].fail_next["forward"] = Unavailable("cell top!a!z did not answer")
        context = FakeContext(metadata=((REQUEST_ID_KEY, "pause-1"),))
        answer = await edge_of(t).routed("Pause", action(held), context)
        assert pb.Instance.FromString(answer).state == pb.PAUSED
        # The full path sent it again, under the same request id: the leaf
        # applies an action once per request id (cells.outcomes).
        sent = [*t.kids["a"].calls("forward"), *t.kids["a"].calls("act")]
        assert [s.metadata[REQUEST_ID_KEY] for s in sent] == ["pause-1", "pause-1"]

    run(tmp_path, body)


def test_a_read_the_child_could_not_finish_is_retried_by_the_full_path(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.kids["a"].fail_next["forward"] = Unavailable("cell top!a!z did not answer")
        request = pb.GetRequest(uuid=held).SerializeToString()
        answer = await edge_of(t).routed("Get", request, FakeContext())
        assert pb.Instance.FromString(answer).uuid == held
        assert len(t.kids["a"].calls("get")) == 1

    run(tmp_path, body)


def test_an_error_of_the_child_is_passed_through_unchanged(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        with pytest.raises(AbortedCall) as refused:
            await edge_of(t).routed("Unpause", action(held), FakeContext())
        assert refused.value.code is grpc.StatusCode.FAILED_PRECONDITION
        assert refused.value.details.startswith(f"cannot unpause instance {held} while")
        assert len(t.kids["a"].calls("forward")) == 1

    run(tmp_path, body)


def test_deletes_pending_rows_and_stand_ins_take_the_full_path(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        edge = edge_of(t)
        gone = await boot_into(t, "a")
        await edge.routed("Delete", action(gone), FakeContext())
        assert t.index.lookup(gone) is None  # forgotten at once, as the full path does
        assert len(t.kids["a"].calls("act")) == 1

        held = await boot_into(t, "a")
        row = t.index.lookup(held)
        assert row is not None
        t.index.record(type(row)(held, "a", "", "", "acme", "BUILDING", "r", pending=True))
        await edge.routed("Stop", action(held), FakeContext())
        assert len(t.kids["a"].calls("act")) == 2 and t.kids["a"].calls("forward") == []

    run(tmp_path, body)


def test_pause_as_suspend_changes_the_request_on_the_full_path(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.index.set_state(held, "ACTIVE", "top!a", "h1")
        no_pause = LeafInfo("", "fake", tuple(a.value for a in Action
                                              if a not in (Action.PAUSE, Action.UNPAUSE)))
        t.router.on_report(ChildReport("a", ROOMY, leaves=(no_pause,)))
        answer = await edge_of(t).routed("Pause", action(held), FakeContext())
        assert pb.Instance.FromString(answer).state == pb.SUSPENDED
        assert t.kids["a"].calls("forward") == []
        assert [s.args[1] for s in t.kids["a"].calls("act")] == [Action.SUSPEND]

    run(tmp_path, body, pause_as_suspend=True)


def test_a_members_call_takes_the_scoped_path(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a", project="other")
        member = Principal("tok", "acme", "member")
        scoped = CellsServicer(ScopedCells(t.router), t.router.identity, max_hops=10,
                               gate=lambda metadata, peer: member, fast=t.router.fast)
        with pytest.raises(AbortedCall) as hidden:
            await scoped.routed("Pause", action(held), FakeContext())
        assert hidden.value.code is grpc.StatusCode.NOT_FOUND
        assert t.kids["a"].calls("forward") == t.kids["a"].calls("act") == []

    run(tmp_path, body)


def test_malformed_bytes_are_invalid_argument_and_reach_nobody(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        with pytest.raises(AbortedCall) as refused:
            await edge_of(t).routed("Pause", b"\xff\xff\xff", FakeContext())
        assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed request to /cellrouter.v1.Cells/Pause" in refused.value.details
        assert all(kid.sent == [] for kid in t.kids.values())

    run(tmp_path, body)


def test_direct_to_leaf_uses_the_bytes_path_too(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.index.set_state(held, "ACTIVE", "top!a!z", "h1")
        t.router.on_report(ChildReport("a", ROOMY, leaves=(LeafInfo("z", "fake:b"),)))
        t.kids["b"].instances[held] = t.kids["a"].instances[held]
        await edge_of(t).routed("Pause", action(held), FakeContext())
        assert len(t.kids["b"].calls("forward")) == 1 and t.kids["a"].sent[-1].method == "boot"
        t.kids["b"].fail_next["forward"] = FailedPrecondition("no")
        with pytest.raises(AbortedCall):  # a final answer of the leaf is the answer
            await edge_of(t).routed("Unpause", action(held), FakeContext())
        assert t.kids["a"].sent[-1].method == "boot"

    run(tmp_path, body, direct=True)


def test_a_member_still_may_act_on_its_own_instance(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a", project="acme")
        member = Call(principal=Principal("tok", "acme", "member"))
        done = await ScopedCells(t.router).act(held, Action.PAUSE, True, member)
        assert done.state is InstanceState.PAUSED

    run(tmp_path, body)


def test_a_router_answers_locate_from_its_own_index(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        request = pb.LocateRequest(uuid=held).SerializeToString()
        answer = pb.LocateResponse.FromString(
            await edge_of(t).routed("Locate", request, FakeContext()))
        assert (answer.cell_path, answer.host, answer.project) == ("top!a", "h1", "acme")
        assert t.kids["a"].calls("forward") == t.kids["a"].calls("locate") == []

    run(tmp_path, body)
