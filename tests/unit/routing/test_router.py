"""The router in-process, against fake children (tests/unit/fakes.py): routing,
healing, lists across slow and down children, boots with fallback and unknown
outcomes, the hop limit, and ownership checks answered from the index.

A real SQLite index sits under it; the children are `FakeChild`, reached only
through the `Connect` function a router is given, as gRPC links are in a cell.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from cellrouter.v1 import cells_pb2 as pb
from cells.security.scope import ScopedCells
from cellwire import wire
from model.call import ACT_FOR_KEY, HOPS_KEY, LOCK_KEY, REQUEST_ID_KEY, Call
from model.cells import ChildReport, InstanceChange, LeafInfo, ListQuery
from model.compute import Action, InstanceState
from model.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
)
from model.principal import Principal
from routing.errors import UnknownInstance
from routing.lists import LIST_BUDGET_SHARE
from tests.unit.fakes import AbortedCall, FakeContext
from tests.unit.routing.router_tree import ROOMY, Tree, boot_into, edge_of, run, spec, uuid

# ------------------------------------------------------------------ routing


def test_an_action_goes_to_the_child_that_holds_it_with_the_next_hop(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "b")
        call = Call(hops=2, deadline=time.monotonic() + 3.0, request_id="trace-7")
        paused = await t.router.act(held, Action.PAUSE, True, call)
        assert paused.state is InstanceState.PAUSED
        assert t.kids["a"].calls("act") == []
        (sent,) = t.kids["b"].calls("act")
        assert sent.metadata == {HOPS_KEY: "3", REQUEST_ID_KEY: "trace-7"}
        assert sent.timeout is not None and 2.0 < sent.timeout <= 3.0  # the caller's time left
        assert t.kids["a"].calls("locate") == t.kids["b"].calls("locate") == []

    run(tmp_path, body)


def test_an_unknown_uuid_is_located_in_every_child_once_then_routed_by_the_index(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        held = t.kids["b"].holds("old", uuid(), project="acme").uuid
        assert t.index.lookup(held) is None
        assert (await t.router.get(held, Call())).name == "old"
        assert len(t.kids["a"].calls("locate")) == len(t.kids["b"].calls("locate")) == 1
        row = t.index.lookup(held)
        assert row is not None and (row.child, row.cell_path, row.project) == (
            "b", "top!b", "acme")
        await t.router.get(held, Call())
        assert len(t.kids["b"].calls("locate")) == 1  # the index answered this time
        assert len(t.kids["b"].calls("get")) == 2

    run(tmp_path, body)


def test_a_stale_row_is_evicted_and_the_instance_found_where_it_is_now(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.kids["b"].instances[held] = t.kids["a"].instances.pop(held)  # moved behind our back
        got = await t.router.get(held, Call())
        assert got.uuid == held
        assert [s.method for s in t.kids["a"].sent[-2:]] == ["get", "locate"]
        row = t.index.lookup(held)
        assert row is not None and row.child == "b"

    run(tmp_path, body)


def test_a_uuid_no_child_has_is_not_found(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        with pytest.raises(UnknownInstance):
            await t.router.get(uuid(), Call())

    run(tmp_path, body)


@pytest.mark.parametrize("how", ["down", "unreachable"])
def test_a_relocation_with_a_silent_child_is_unavailable_naming_it(
    tmp_path: Path, how: str
) -> None:
    async def body(t: Tree) -> None:
        if how == "down":
            t.mark_down("b")
        else:
            t.kids["b"].down = True
        missing = uuid()
        with pytest.raises(Unavailable) as refused:
            await t.router.act(missing, Action.PAUSE, False, Call())
        assert "top!b did not answer" in refused.value.message
        assert "top!a" not in refused.value.message  # a said no
        assert t.index.lookup(missing) is None

    run(tmp_path, body)


def test_a_down_child_fails_a_routed_call_at_once_naming_it(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.mark_down("a")
        before = len(t.kids["a"].sent)
        with pytest.raises(Unavailable, match="cell top!a is down"):
            await t.router.act(held, Action.PAUSE, False, Call())
        assert len(t.kids["a"].sent) == before

    run(tmp_path, body)


def test_an_action_whose_answer_was_lost_is_sent_again_with_its_request_id(
        tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        t.kids["a"].fail_next["act"] = Unavailable("cell top!a!x did not answer")
        answer = await t.router.act(held, Action.PAUSE, True, Call(request_id="pause-1"))
        assert answer.state is InstanceState.PAUSED
        sent = t.kids["a"].calls("act")
        # The leaf applies an action once per request id: both carried the same.
        assert [s.metadata[REQUEST_ID_KEY] for s in sent] == ["pause-1", "pause-1"]

    run(tmp_path, body)


def test_a_leaf_that_cannot_pause_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        no_pause = t.kids["a"].leaf_info(
            [a for a in Action if a not in (Action.PAUSE, Action.UNPAUSE)],
            (("pause", "oVirt has no pause"), ("unpause", "oVirt has no pause")))
        t.router.on_report(ChildReport("a", ROOMY, leaves=(no_pause,)))
        with pytest.raises(FailedPrecondition, match="cell top!a cannot pause instances: oVirt"):
            await t.router.act(held, Action.PAUSE, True, Call())
        assert t.kids["a"].calls("act") == []

    run(tmp_path, body)


def test_direct_to_leaf_skips_the_child_and_falls_back_when_the_leaf_fails(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        # Child "a" is a router whose report names a leaf below it, at "fake:b".
        held = await boot_into(t, "a")
        t.index.set_state(held, "ACTIVE", "top!a!z", "h1")
        t.router.on_report(ChildReport("a", ROOMY, leaves=(LeafInfo("z", "fake:b"),)))
        t.kids["b"].instances[held] = t.kids["a"].instances[held]
        await t.router.get(held, Call())
        assert len(t.kids["b"].calls("get")) == 1 and t.kids["a"].calls("get") == []
        t.kids["b"].down = True
        await t.router.get(held, Call())
        assert len(t.kids["a"].calls("get")) == 1  # hop by hop, after the leaf failed

    run(tmp_path, body, direct=True)


# -------------------------------------------------------------------- lists


def test_a_list_merges_every_child_in_order_across_pages(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        for n in range(7):
            t.kids["ab"[n % 2]].holds(f"vm-{n:02d}", uuid())
        seen: list[str] = []
        token = ""
        while True:
            page = await t.router.list(ListQuery(limit=3, page_token=token), Call())
            seen += [i.name for i in page.instances]
            assert page.unreachable_cells == ()
            token = page.next_page_token
            if not token:
                break
        assert seen == [f"vm-{n:02d}" for n in range(7)]

    run(tmp_path, body)


def test_a_list_of_one_subtree_asks_only_the_child_on_its_path(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        for name in "ab":
            t.kids[name].holds(f"vm-{name}", uuid())
        page = await t.router.list(ListQuery(cell="top!b"), Call())
        assert [i.name for i in page.instances] == ["vm-b"]
        assert t.kids["a"].calls("list") == []  # not on the path: not asked
        whole = await t.router.list(ListQuery(cell="top"), Call())
        assert [i.name for i in whole.instances] == ["vm-a", "vm-b"]
        elsewhere = await t.router.list(ListQuery(cell="other!b"), Call())
        assert elsewhere.instances == ()
        with pytest.raises(InvalidArgument, match="bad cell"):
            await t.router.list(ListQuery(cell="top!!b"), Call())

    run(tmp_path, body)


def test_a_list_with_a_slow_and_a_down_child_shows_them_unknown_from_the_index(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        known = {name: await boot_into(t, name, name=f"vm-{name}") for name in "abc"}
        t.kids["c"].holds("vm-c-2", uuid())
        t.kids["b"].delay = 0.5  # past its share of list_timeout (0.2 s x 0.8)
        t.mark_down("a")
        page = await t.router.list(ListQuery(), Call())
        (asked_b,) = t.kids["b"].calls("list")  # given its share of the time, no more
        assert asked_b.timeout is not None and asked_b.timeout <= 0.2 * LIST_BUDGET_SHARE
        assert page.unreachable_cells == ("top!a", "top!b")
        assert [(i.name, i.state) for i in page.instances] == [
            ("vm-a", InstanceState.UNKNOWN), ("vm-b", InstanceState.UNKNOWN),
            ("vm-c", InstanceState.ACTIVE), ("vm-c-2", InstanceState.ACTIVE)]
        assert [i.uuid for i in page.instances[:3]] == [known["a"], known["b"], known["c"]]
        assert t.kids["a"].calls("list") == []  # down: not asked at all

    run(tmp_path, body, names=("a", "b", "c"), list_timeout=0.2)


# -------------------------------------------------------------------- boots


def test_a_boot_goes_to_the_next_child_when_the_first_is_full(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        t.kids["a"].full = True
        booted = await t.router.boot(spec(), Call())
        assert booted.cell_path == "top!b"
        assert len(t.kids["a"].calls("boot")) == len(t.kids["b"].calls("boot")) == 1
        row = t.index.lookup(booted.uuid)
        assert row is not None and (row.child, row.pending) == ("b", False)

    run(tmp_path, body)


def test_a_boot_nobody_can_take_says_why_each_child_refused(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        for kid in t.kids.values():
            kid.full = True
        asked = spec()
        with pytest.raises(ResourceExhausted) as refused:
            await t.router.boot(asked, Call())
        assert "a: no host in top!a" in refused.value.message
        assert "b: no host in top!b" in refused.value.message
        assert t.index.by_request_id(asked.request_id) is None  # nothing left behind

    run(tmp_path, body)


@pytest.mark.parametrize("lost", [Unavailable("cell top!a!z did not answer"),
                                  DeadlineExceeded("out of time")], ids=["unavailable",
                                                                         "deadline"])
def test_a_boot_with_an_unknown_outcome_keeps_its_pending_row_and_a_retry_makes_one(
    tmp_path: Path, lost: Exception
) -> None:
    async def body(t: Tree) -> None:
        asked = spec()
        # Every attempt the router makes "loses" its answer after the child built it.
        original = t.kids["a"].boot
        async def built_then_lost(*args: Any, **kw: Any) -> Any:
            await original(*args, **kw)
            raise lost
        t.kids["a"].boot = built_then_lost  # type: ignore[method-assign]
        with pytest.raises(type(lost)):
            await t.router.boot(asked, Call(deadline=time.monotonic() + 0.5))
        row = t.index.by_request_id(asked.request_id)
        assert row is not None and (row.pending, row.child) == (True, "a")
        t.kids["a"].boot = original  # type: ignore[method-assign]
        t.kids["a"].full = True  # a retry must not be placed afresh
        retried = await t.router.boot(asked, Call())
        assert retried.uuid == row.uuid
        assert len(t.kids["a"].instances) == 1 and t.kids["b"].instances == {}
        assert t.kids["b"].calls("boot") == []

    run(tmp_path, body)


def test_a_boot_refused_outright_leaves_no_row(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        asked = spec()
        t.kids["a"].fail_next["boot"] = FailedPrecondition("the image is not there")
        with pytest.raises(FailedPrecondition):
            await t.router.boot(asked, Call())
        assert t.index.by_request_id(asked.request_id) is None

    run(tmp_path, body)


# -------------------------------------------------------- the gRPC edge


def test_the_hop_limit_refuses_a_call_that_crossed_too_many_cells(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        edge = edge_of(t, max_hops=4)
        request = pb.ActionRequest(uuid=held, wait=True).SerializeToString()
        with pytest.raises(AbortedCall) as refused:
            await edge.routed("Pause", request, FakeContext([(HOPS_KEY, "4")]))
        assert refused.value.code is grpc.StatusCode.FAILED_PRECONDITION
        assert "crossed 4 cells, over the limit of 4" in refused.value.details
        assert t.kids["a"].calls("act") == t.kids["a"].calls("forward") == []
        await edge.routed("Pause", request, FakeContext([(HOPS_KEY, "3")]))
        assert t.kids["a"].calls("forward")[0].metadata[HOPS_KEY] == "4"

    run(tmp_path, body)


def test_the_edge_sets_the_request_id_once_and_a_boot_is_traced_by_its_own(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        edge = edge_of(t)
        asked = spec()
        booted = await edge.Boot(wire.boot_to_pb(asked),
                                 FakeContext([(REQUEST_ID_KEY, "client-trace")]))
        (sent,) = t.kids["a"].calls("boot")
        assert sent.serving == asked.request_id  # traced by its own at every cell
        assert sent.metadata[REQUEST_ID_KEY] == "client-trace"
        await edge.routed("Pause", pb.ActionRequest(uuid=booted.uuid).SerializeToString(),
                          FakeContext([(REQUEST_ID_KEY, "client-trace")]))
        (sent,) = t.kids["a"].calls("forward")
        assert sent.metadata[REQUEST_ID_KEY] == sent.serving == "client-trace"
        await edge.routed("Get", pb.GetRequest(uuid=booted.uuid).SerializeToString(),
                          FakeContext())
        (sent,) = [s for s in t.kids["a"].calls("forward") if s.args[0] == "Get"]
        made_up = sent.metadata[REQUEST_ID_KEY]  # the first cell makes one up
        assert made_up == sent.serving and made_up not in ("", "client-trace")

    run(tmp_path, body)


def test_a_members_action_is_checked_against_the_index_without_a_routed_get(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        ours = await boot_into(t, "a", project="acme")
        theirs = await boot_into(t, "b", project="other")
        scoped = ScopedCells(t.router)
        member = Call(principal=Principal("tok", "acme", "member"))
        assert (await scoped.act(ours, Action.PAUSE, True, member)).state is (
            InstanceState.PAUSED)
        with pytest.raises(UnknownInstance) as hidden:
            await scoped.act(theirs, Action.PAUSE, True, member)
        with pytest.raises(UnknownInstance) as missing:
            await scoped.act(uuid(), Action.PAUSE, True, member)
        assert str(hidden.value).replace(theirs, "X") == str(missing.value).replace(
            missing.value.uuid, "X")
        assert t.kids["a"].calls("get") == t.kids["b"].calls("get") == []
        assert t.kids["b"].calls("act") == []
        assert t.kids["b"].instances[theirs].state is InstanceState.ACTIVE

    run(tmp_path, body)


def test_a_members_action_carries_the_lock_below_an_admins_does_not(tmp_path: Path) -> None:
    """The lock is kept at the leaf; the cell that knows the caller says the
    call obeys it (model.call.LOCK_KEY), and the router passes that on."""
    async def body(t: Tree) -> None:
        ours = await boot_into(t, "a", project="acme")
        scoped = ScopedCells(t.router)
        member = Call(principal=Principal("tok", "acme", "member"))
        admin = Call(principal=Principal("root", "ops", "admin"))
        await scoped.act(ours, Action.PAUSE, True, member)
        await scoped.act(ours, Action.UNPAUSE, True, admin)
        sent = t.kids["a"].calls("act")
        assert [s.metadata.get(LOCK_KEY) for s in sent] == ["1", None]

    run(tmp_path, body)


def test_a_healed_row_knows_the_project_so_a_member_still_reaches_its_instance(
    tmp_path: Path,
) -> None:
    async def body(t: Tree) -> None:
        held = t.kids["b"].holds("old", uuid(), project="acme").uuid
        scoped = ScopedCells(t.router)
        member = Call(principal=Principal("tok", "acme", "member"))
        assert (await scoped.act(held, Action.STOP, True, member)).state is (
            InstanceState.STOPPED)
        other = Call(principal=Principal("tok2", "zeta", "member"))
        with pytest.raises(UnknownInstance):
            await scoped.act(held, Action.START, True, other)

    run(tmp_path, body)



def test_an_unreachable_leaf_is_shown_with_the_driver_its_reports_named(
        tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        t.router.on_report(ChildReport("a", ROOMY, leaves=(LeafInfo("", "fake:a",
                                                                    driver="ovirt"),)))
        t.kids["a"].down = True  # it reports, but does not answer the topology call
        shown = {c.name: c for c in (await t.router.topology(Call())).children}
        assert shown["a"].unreachable and shown["a"].driver == "ovirt"
        assert shown["b"].driver == ""  # its reports never said

    run(tmp_path, body)


def test_a_member_cannot_choose_a_uuid_and_nothing_is_sent(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        member = Call(principal=Principal("tok", "acme", "member"))
        chosen = replace(spec("web"), uuid=uuid())
        with pytest.raises(InvalidArgument, match="cannot choose an instance's uuid"):
            await ScopedCells(t.router).boot(chosen, member)
        assert t.kids["a"].calls("boot") == t.kids["b"].calls("boot") == []
        assert t.index.lookup(chosen.uuid) is None
        # An admin (an operator, adopting or rebuilding) still may.
        admin = Call(principal=Principal("op", "", "admin"))
        assert (await ScopedCells(t.router).boot(chosen, admin)).uuid == chosen.uuid

    run(tmp_path, body)


@pytest.mark.parametrize(("asked", "sent"), [
    ("db", "acme:db"),  # a member's own group, by its short name
    ("acme:db", "acme:db"),  # as the API already scoped it
    ("other:db", "acme:other:db"),  # another project's group: not joined
], ids=["short", "scoped", "another-projects"])
def test_a_members_server_group_is_its_own_projects(tmp_path: Path, asked: str,
                                                    sent: str) -> None:
    async def body(t: Tree) -> None:
        member = Call(principal=Principal("tok", "acme", "member"))
        grouped = replace(spec("web"), hints=(("group", asked), ("zone", "z1")))
        await ScopedCells(t.router).boot(grouped, member)
        [boot] = [*t.kids["a"].calls("boot"), *t.kids["b"].calls("boot")]
        assert dict(boot.args[0].hints) == {"group": sent, "zone": "z1"}

    run(tmp_path, body)


def test_a_uuid_no_child_has_is_not_asked_of_every_child_again_soon(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        guessed = uuid()
        for _ in range(3):  # a client guessing, or retrying, the same uuid
            with pytest.raises(UnknownInstance):
                await t.router.act(guessed, Action.PAUSE, True, Call())
        assert len(t.kids["a"].calls("locate")) == len(t.kids["b"].calls("locate")) == 1
        # A boot of that very uuid is not hidden by the remembered miss: the
        # index is read first, and the boot writes its row before it goes down.
        booted = await t.router.boot(replace(spec("named"), uuid=guessed), Call())
        assert (await t.router.act(guessed, Action.PAUSE, True, Call())).state is (
            InstanceState.PAUSED)
        assert booted.uuid == guessed

    run(tmp_path, body)


def test_a_child_cannot_report_on_another_childs_instance_or_outside_its_subtree(
        tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")  # at top!a!x
        t.router.changes().take()  # what the boot queued for the parent
        forged = [InstanceChange(held, InstanceState.DELETED, "top!b!y", "h1"),
                  InstanceChange(held, InstanceState.STOPPED, "", "")]
        t.router.on_report(ChildReport("b", ROOMY, changes=tuple(forged)))
        astray = InstanceChange(held, InstanceState.PAUSED, "top!b!y", "h9")
        t.router.on_report(ChildReport("a", ROOMY, changes=(astray,)))
        row = t.index.lookup_uncached(held)
        assert row is not None and (row.child, row.state, row.host) == ("a", "ACTIVE", "h1")
        assert t.router.changes().take() == []  # nothing passed on up either
        # Its own child's word about it counts.
        own = InstanceChange(held, InstanceState.PAUSED, "top!a!x", "h1")
        t.router.on_report(ChildReport("a", ROOMY, changes=(own,)))
        assert t.index.lookup_uncached(held).state == "PAUSED"  # type: ignore[union-attr]
        assert t.router.changes().take() == [own]

    run(tmp_path, body)


def test_a_reported_offload_leaves_the_row_on_no_host_until_unshelved(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")  # at top!a!x on h1
        gone = InstanceChange(held, InstanceState.SHELVED_OFFLOADED, "top!a!x", "")
        t.router.on_report(ChildReport("a", ROOMY, changes=(gone,)))
        row = t.index.lookup(held)
        assert row is not None and (row.state, row.host) == ("SHELVED_OFFLOADED", "")
        back = InstanceChange(held, InstanceState.ACTIVE, "top!a!x", "h2")
        t.router.on_report(ChildReport("a", ROOMY, changes=(back,)))
        assert (await t.router.locate(held, Call())).host == "h2"

    run(tmp_path, body)


def test_a_childs_reconciliation_claims_only_what_is_in_its_subtree(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "a")
        # b lists a's instance as its own, one placed outside its subtree, and a
        # new one of its own.
        t.kids["b"].holds("stolen", held)
        astray = t.kids["b"].holds("astray", uuid())
        t.kids["b"].instances[astray.uuid] = replace(astray, cell_path="top!a!x")
        mine = t.kids["b"].holds("mine", uuid())
        child_b = t.children.get("b")
        assert child_b is not None
        await t.router.reconcile(child_b)
        row = t.index.lookup_uncached(held)
        assert row is not None and row.child == "a"
        assert t.index.lookup_uncached(astray.uuid) is None
        found = t.index.lookup_uncached(mine.uuid)
        assert found is not None and found.child == "b"

    run(tmp_path, body)


@pytest.mark.parametrize("failing", ["internal", "unreachable"])
def test_a_member_reads_a_generic_failure_and_an_admin_the_detail(
        tmp_path: Path, failing: str) -> None:
    error = Internal("libvirt: internal error: process exited while connecting to monitor"
                     " on hv-3.internal (at top!a)")

    async def body(t: Tree) -> None:
        held = await boot_into(t, "a", project="acme")
        edge = edge_of(t)
        request = pb.ActionRequest(uuid=held, wait=True).SerializeToString()
        told = {}
        for who, metadata in (("member", [(ACT_FOR_KEY, "acme"), (REQUEST_ID_KEY, "r-7")]),
                              ("admin", [(REQUEST_ID_KEY, "r-8")])):
            t.kids["a"].fail_next = {"act": error, "forward": error}
            t.kids["a"].down = failing == "unreachable"
            with pytest.raises(AbortedCall) as refused:
                await edge.routed("Pause", request, FakeContext(metadata))
            told[who] = refused.value.code, refused.value.details
        # The code is the same for both (a client retries as it should); the words not.
        assert told["member"][0] == told["admin"][0]
        assert "(request r-7: the operator's log has the detail)" in told["member"][1]
        detail = "hv-3.internal" if failing == "internal" else "connection refused"
        assert detail not in told["member"][1] and detail in told["admin"][1]

    run(tmp_path, body)


def test_a_delete_of_what_vanished_since_the_call_began_is_done(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        made = await boot_into(t, "a")
        del t.kids["a"].instances[made]  # deleted meanwhile: an answer lost with a dead cell
        with pytest.raises(UnknownInstance):
            await t.router.act(made, Action.PAUSE, True, Call())
        made = await boot_into(t, "a")
        del t.kids["a"].instances[made]
        gone = await t.router.act(made, Action.DELETE, True, Call())
        assert gone.state is InstanceState.DELETED
        assert t.index.lookup(made) is None

    run(tmp_path, body)
