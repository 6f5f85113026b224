"""Service objects at a leaf: the choice of agent (agents.choose), the store and
its binding log (agents.objects), and an agent's watch (agents.service)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from agents.choose import choose
from agents.objects import ObjectStore
from agents.registry import AgentRegistry
from agents.service import ObjectService
from bestmatch.plugins import load_filters
from celldb.engine import open_database
from model.agents import Agent, AgentReport, BindingEvent, Failover, ObjectState, PlaceSpec
from model.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted

HAPROXY = AgentReport("lb-1", "h1", "loadbalancer", ("haproxy",), "az1")


def agent(agent_id: str, **change: object) -> Agent:
    report = replace(HAPROXY, id=agent_id, host=f"host-{agent_id}")
    fields = {k: v for k, v in change.items() if k in ("alive", "enabled")}
    report = replace(report, **{k: v for k, v in change.items() if k not in fields})
    return Agent(report, **{"alive": True, **fields})  # type: ignore[arg-type]


def spec(name: str, *needs: str, **hints: str) -> PlaceSpec:
    return PlaceSpec(f"req-{name}", name, "loadbalancer", needs, tuple(sorted(hints.items())))


# ------------------------------------------------------------------ choose


def test_the_agent_holding_fewest_objects_is_chosen() -> None:
    agents = [agent("a"), agent("b"), agent("c")]
    assert choose(agents, {"a": 3, "b": 1, "c": 2}, spec("vip")).id == "b"


def test_ties_are_broken_at_random_among_the_least_loaded() -> None:
    agents = [agent("a"), agent("b"), agent("c")]
    picked = Counter(choose(agents, {"c": 1}, spec("vip"), random.Random(n)).id
                     for n in range(200))
    assert set(picked) == {"a", "b"} and min(picked.values()) > 50


def test_each_rule_turns_agents_away_and_says_how_many() -> None:
    agents = [agent("vpn", kind="vpn"), agent("old", capabilities=()),
              agent("dead", alive=False), agent("off", enabled=False),
              agent("busy", admin_up=False), agent("far", availability_zone="az2")]
    with pytest.raises(ResourceExhausted) as refused:
        choose(agents, {}, spec("vip", "haproxy", availability_zone="az1"))
    assert refused.value.message == (
        "no agent can hold loadbalancer object vip needing haproxy (kind: 1 of 6 agents,"
        " capability: 1 of 6 agents, alive: 1 of 6 agents, enabled: 2 of 6 agents,"
        " availability_zone: 1 of 6 agents)")
    assert choose([*agents, agent("ok")], {}, spec("vip", "haproxy")).id in {"ok", "far"}


def test_a_host_hint_takes_only_the_agents_on_that_host() -> None:
    agents = [agent("a", host="h1"), agent("b", host="h2")]
    for n in range(8):
        assert choose(agents, {"a": 0, "b": 9}, spec("port", host="h2"), random.Random(n)).id == "b"
    with pytest.raises(ResourceExhausted, match="host: 2 of 2 agents"):
        choose(agents, {}, spec("port", host="h9"))


def test_zones_are_judged_as_for_hosts_an_agent_naming_none_passes() -> None:
    """The one availability-zone filter (bestmatch's): an agent in another
    zone is turned away; one that names no zone is not, as a host is not."""
    near, far, anywhere = (agent("near", availability_zone="az1"),
                           agent("far", availability_zone="az2"),
                           agent("anywhere", availability_zone=""))
    chosen = {choose([near, far, anywhere], {}, spec("vip", availability_zone="az1"),
                     random.Random(n)).id for n in range(50)}
    assert chosen == {"near", "anywhere"}


# ---------------------------------------------------------- store, service


def service(tmp_path: Path, *reports: AgentReport) -> ObjectService:
    engine = open_database(f"sqlite:///{tmp_path / 'leaf.db'}")
    registry = AgentRegistry(engine, down_after=60)
    for report in reports:
        registry.report(report)
    return ObjectService(registry, ObjectStore(engine), random.Random(7))


TWO = (replace(HAPROXY, id="lb-1"), replace(HAPROXY, id="lb-2", host="h2"))


def test_objects_spread_over_agents_and_a_retry_makes_nothing_new(tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO)
    placed = [objects.place(spec(f"vip-{n}", "haproxy")) for n in range(10)]
    assert Counter(o.agent for o in placed) == {"lb-1": 5, "lb-2": 5}
    assert objects.place(spec("vip-3", "haproxy")) == placed[3]  # same request id
    assert len(objects.objects()) == 10
    assert [o.revision for o in placed] == list(range(1, 11))


def test_a_refused_placement_changes_nothing(tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO)
    with pytest.raises(ResourceExhausted, match="capability: 2 of 2 agents"):
        objects.place(spec("vip", "f5"))
    with pytest.raises(InvalidArgument, match="bad kind"):
        objects.place(replace(spec("vip"), kind="Load Balancer"))
    with pytest.raises(InvalidArgument, match="bad capability"):
        objects.place(spec("vip", "no way"))
    assert objects.objects() == [] and objects.store.revision == 0


def test_only_an_objects_agent_reports_its_state(tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO)
    vip = objects.place(spec("vip"))
    other = "lb-2" if vip.agent == "lb-1" else "lb-1"
    with pytest.raises(FailedPrecondition, match=f"bound to agent {vip.agent}"):
        objects.set_state(other, vip.uuid, ObjectState.ACTIVE, "")
    with pytest.raises(NotFound, match="no agent"):
        objects.set_state("nobody", vip.uuid, ObjectState.ACTIVE, "")
    assert objects.get(vip.uuid).state is ObjectState.PENDING
    failed = objects.set_state(vip.agent, vip.uuid, ObjectState.ERROR, "port 443 in use")
    assert (failed.state, failed.fault) == (ObjectState.ERROR, "port 443 in use")
    assert objects.store.revision == 1  # a state is not a binding change


def test_a_resumed_watch_hears_every_change_once_however_often_an_object_moved(
        tmp_path: Path) -> None:
    three = (*TWO, replace(HAPROXY, id="lb-3", host="h3"))
    objects = service(tmp_path, *three)
    store = objects.store
    vip = store.bind(spec("vip"), "lb-1")
    keep = store.bind(spec("keep"), "lb-1")
    seen = store.revision  # lb-1 went away here
    store.move(vip.uuid, "lb-2")
    store.move(vip.uuid, "lb-3")  # lb-1 must still hear that vip left it
    store.delete(keep.uuid)
    again = store.bind(spec("again"), "lb-1")
    heard = [(e.revision, e.object.spec.name if e.object else "", e.bound)
             for e in store.events("lb-1", seen)]
    assert heard == [(3, "vip", False), (5, "keep", False), (6, "again", True)]
    assert [(e.object.spec.name if e.object else "", e.bound)
            for e in store.events("lb-3", 0)] == [("vip", True)]  # a full resync: what it holds
    assert again.revision == 6


def test_a_watch_sends_the_backlog_then_caught_up_then_changes_as_they_happen(
        tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO)
    first = objects.store.bind(spec("one"), "lb-1")

    async def run() -> list[BindingEvent]:
        heard: list[BindingEvent] = []

        async def watch() -> None:
            async for event in objects.watch("lb-1", 0):
                heard.append(event)
                if len(heard) == 4:
                    return

        task = asyncio.create_task(watch())
        while not any(e.caught_up for e in heard):  # the backlog sent: now live
            assert not task.done()
            await asyncio.sleep(0.01)
        objects.store.bind(spec("two"), "lb-1")
        objects.store.bind(spec("elsewhere"), "lb-2")  # not lb-1's: not heard
        objects.delete(first.uuid)
        await asyncio.wait_for(task, 60)
        return heard

    heard = asyncio.run(run())
    assert [(e.revision, e.object.spec.name if e.object else None, e.bound, e.caught_up)
            for e in heard] == [(1, "one", True, False), (1, None, False, True),
                                (2, "two", True, False), (4, "one", False, False)]


# -------------------------------------------------------- moves, failover


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing_over(tmp_path: Path, threshold: int = 3, enabled: bool = True
                 ) -> tuple[ObjectService, Clock]:
    clock = Clock()
    engine = open_database(f"sqlite:///{tmp_path / 'leaf.db'}")
    registry = AgentRegistry(engine, down_after=10, clock=clock)
    service = ObjectService(registry, ObjectStore(engine), random.Random(3),
                            Failover(enabled, threshold))
    return service, clock


def heartbeat(objects: ObjectService, *ids: str) -> None:
    for agent_id in ids:
        objects.registry.report(replace(HAPROXY, id=agent_id, host=f"host-{agent_id}"))


def test_an_operator_binds_to_an_agent_that_can_hold_it_and_no_other(tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO, AgentReport("vpn-1", "h9", "vpn"))
    vip = objects.store.bind(spec("vip", "haproxy"), "lb-1")
    moved = objects.bind(vip.uuid, "lb-2")
    assert (moved.agent, moved.state, moved.revision) == ("lb-2", ObjectState.PENDING, 2)
    with pytest.raises(FailedPrecondition, match=r"agent vpn-1 cannot hold object .*kind: 1 of 1"):
        objects.bind(vip.uuid, "vpn-1")
    with pytest.raises(NotFound, match="no agent"):
        objects.bind(vip.uuid, "lb-9")
    assert objects.get(vip.uuid).agent == "lb-2"  # refused: unchanged
    assert objects.unbind(vip.uuid).agent == "lb-1"  # the only other that fits


def test_unbind_with_nowhere_to_go_is_refused_and_moves_nothing(tmp_path: Path) -> None:
    objects = service(tmp_path, TWO[0])
    vip = objects.store.bind(spec("vip"), "lb-1")
    with pytest.raises(ResourceExhausted, match="no agent can hold"):
        objects.unbind(vip.uuid)
    assert objects.get(vip.uuid).agent == "lb-1" and objects.store.revision == 1


def test_objects_of_an_agent_dead_for_two_down_periods_move(tmp_path: Path) -> None:
    objects, clock = failing_over(tmp_path)
    heartbeat(objects, "a", "b", "c")
    held = [objects.store.bind(spec(f"vip-{n}"), "a") for n in range(4)]
    clock.now += 15  # a is down (10 s), not yet dead (20 s)
    heartbeat(objects, "b", "c")
    assert objects.fail_over() == []
    clock.now += 10
    heartbeat(objects, "b", "c")
    moved = objects.fail_over()
    assert sorted(o.uuid for o in moved) == sorted(o.uuid for o in held)
    assert Counter(o.agent for o in moved) == {"b": 2, "c": 2}  # the least loaded each time
    assert objects.fail_over() == []  # nothing left on a


def test_the_brake_holds_when_too_many_agents_are_down_at_once(tmp_path: Path) -> None:
    objects, clock = failing_over(tmp_path, threshold=1)
    heartbeat(objects, "a", "b", "c")
    objects.store.bind(spec("vip"), "a")
    clock.now += 25
    heartbeat(objects, "c")  # a and b are both down: a partition, maybe
    assert objects.fail_over() == []
    assert objects.braked.startswith("failover stopped: 2 agents are down at once, more than"
                                     " failover_threshold = 1")
    heartbeat(objects, "b")  # b is back: one down, under the threshold
    assert [o.agent for o in objects.fail_over()] in (["b"], ["c"])
    assert objects.braked == ""


def test_failover_is_off_unless_asked_for(tmp_path: Path) -> None:
    objects, clock = failing_over(tmp_path, enabled=False)
    heartbeat(objects, "a", "b")
    vip = objects.store.bind(spec("vip"), "a")
    clock.now += 100
    heartbeat(objects, "b")
    assert objects.fail_over() == [] and objects.get(vip.uuid).agent == "a"


def test_an_operators_filter_plugin_adds_a_rule(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'leaf.db'}")
    registry = AgentRegistry(engine, down_after=60)
    for report in TWO:
        registry.report(report)
    # max_instances, installed in the cellrouter.filters group, holds each agent to one object
    filters = load_filters(["max_instances"], {"max_instances": {"limit": 1}})
    objects = ObjectService(registry, ObjectStore(engine), random.Random(1), filters=filters)
    placed = [objects.place(spec(f"vip-{n}")) for n in range(2)]
    assert {o.agent for o in placed} == {"lb-1", "lb-2"}
    with pytest.raises(ResourceExhausted, match="max_instances: 2 of 2 agents"):
        objects.place(spec("vip-2"))
    with pytest.raises(FailedPrecondition, match="max_instances: 1 of 1 agents"):
        objects.bind(placed[0].uuid, placed[1].agent)


def test_a_change_made_while_a_watch_is_sending_is_not_skipped(tmp_path: Path) -> None:
    objects = service(tmp_path, *TWO)

    async def run() -> list[str]:
        heard: list[str] = []
        live = asyncio.Event()  # the backlog sent

        async def watch() -> None:
            async for event in objects.watch("lb-1", 0):
                if event.caught_up:
                    live.set()
                if event.object is None:
                    continue
                heard.append(event.object.spec.name)
                if event.object.spec.name == "one":
                    # while the stream is suspended on this event, more are bound
                    objects.store.bind(spec("two"), "lb-1")
                    objects.store.bind(spec("three"), "lb-1")
                if len(heard) == 4:
                    return

        objects.store.bind(spec("zero"), "lb-1")
        task = asyncio.create_task(watch())
        await asyncio.wait_for(live.wait(), 60)
        objects.store.bind(spec("one"), "lb-1")
        await asyncio.wait_for(task, 60)
        return heard

    assert asyncio.run(run()) == ["zero", "one", "two", "three"]
