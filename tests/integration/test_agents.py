"""Agents as processes reporting to leaf cells of a real tree: known by their
first report, marked down when they stop, kept until an operator removes them;
bad reports refused with the reason, changing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from cellops.tree import TreeRunner
from cellrouter.v1 import cells_pb2 as pb
from cellwire.agents import AgentsClient
from cellwire.client import CellClient
from model.agents import AgentReport, Heard, ObjectState, PlaceSpec, ServiceObject
from model.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from tests.integration.conftest import HEAD, eventually, start_tree

TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
[cells.z1.agents]
down_after = 1.0

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{ name = "h2", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]

[cells.z3]
parent = "r1"
driver = "fake"
hosts = [{ name = "h3", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
[cells.z3.agents]
down_after = 1.0

[cells.z4]
parent = "r1"
driver = "fake"
hosts = [{ name = "h4", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
[cells.z4.agents]
down_after = 1.0
failover = true
failover_threshold = 1
"""
CLI = [sys.executable, "-m", "cellops.cli"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("agents"), TREE)
    yield runner
    runner.stop()


def agent_process(cell: str, state: Path, agent_id: str, *caps: str,
                  kind: str = "loadbalancer") -> subprocess.Popen[str]:
    args = [*CLI, "agent", "--kind", kind, "--cell", cell, "--state-dir", str(state),
            "--id", agent_id, "--host", f"host-{agent_id}", "--interval", "0.2",
            "--availability-zone", "az1"]
    for cap in caps:
        args += ["--capability", cap]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cellrouter(cell: str, *args: str) -> Any:
    """`cellrouter ARGS --cell CELL --json`: what it printed, as JSON when it is."""
    done = subprocess.run([*CLI, *args, "--cell", cell, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip().startswith("[") else done.stdout


def agents_cli(cell: str, *args: str) -> Any:
    return cellrouter(cell, "agents", *args)


def offered(top: str, key: str) -> int:
    """How many agents the top hears offer `key` ("KIND/CAPABILITY")."""
    with CellClient(top, timeout=10) as client:
        return dict(client.topology().capacity.agents).get(key, 0)


def listed(cell: str) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in agents_cli(cell, "list")}


def test_agents_report_are_marked_down_and_kept_until_removed(
        tree: TreeRunner, tmp_path: Path) -> None:
    z1, z2 = tree.addresses["z1"], tree.addresses["z2"]
    procs = [agent_process(z1, tmp_path / "a", "lb-a", "haproxy"),
             agent_process(z1, tmp_path / "b", "lb-b", "haproxy", "octavia-amphora"),
             agent_process(z2, tmp_path / "c", "lb-c", "haproxy")]
    try:
        assert eventually(lambda: set(listed(z1)) == {"lb-a", "lb-b"})
        assert set(listed(z2)) == {"lb-c"}
        # Only lb-b offers octavia-amphora: the object is its, and its load says so.
        (amp,) = cellrouter(z1, "place", "loadbalancer", "amp-1", "--needs", "octavia-amphora")
        assert (amp["agent"], amp["cell_path"], amp["state"]) == ("lb-b", "top!r1!z1", "PENDING")
        assert eventually(lambda: listed(z1)["lb-b"]["load"] == 1)
        assert eventually(lambda: [o["state"] for o in cellrouter(z1, "objects", "list")]
                          == ["ACTIVE"], timeout=10)
        (gone,) = cellrouter(z1, "objects", "delete", amp["uuid"])
        assert gone["state"] == "DELETED"
        assert eventually(lambda: listed(z1)["lb-b"]["load"] == 0)
        b = listed(z1)["lb-b"]
        assert (b["kind"], b["host"], b["capabilities"], b["availability_zone"], b["alive"],
                b["cell_path"]) == ("loadbalancer", "host-lb-b", ["haproxy", "octavia-amphora"],
                                    "az1", True, "top!r1!z1")

        procs[0].kill()  # lb-a stops reporting: down after a second, and kept
        procs[0].wait()
        assert eventually(lambda: not listed(z1)["lb-a"]["alive"])
        assert listed(z1)["lb-b"]["alive"]

        agents_cli(z1, "disable", "lb-b")
        assert listed(z1)["lb-b"]["enabled"] is False
        agents_cli(z1, "enable", "lb-b")
        assert listed(z1)["lb-b"]["enabled"] is True

        agents_cli(z1, "remove", "lb-a")
        assert set(listed(z1)) == {"lb-b"}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_the_top_lists_and_switches_the_agents_of_every_leaf_below(
        tree: TreeRunner, tmp_path: Path) -> None:
    """Asked at the top (two levels above the leaves), `cellrouter agents`
    lists every leaf's agents with their leaf's path, and switches or removes
    one at the one leaf that has it; an id two leaves have is refused, naming
    them, and changes nothing."""
    top, z1, z2, z3 = (tree.addresses[n] for n in ("top", "z1", "z2", "z3"))
    procs = [agent_process(z1, tmp_path / "a", "up-a", "haproxy"),
             agent_process(z3, tmp_path / "b", "up-b", "haproxy"),
             agent_process(z1, tmp_path / "t1", "up-twin", "haproxy"),
             agent_process(z2, tmp_path / "t2", "up-twin", "haproxy")]
    mine = {"up-a", "up-b", "up-twin"}

    def client_of(cell: str, what: Callable[[AgentsClient], Awaitable[T]]) -> T:
        async def ask() -> T:
            client = AgentsClient(cell, timeout=10)
            try:
                return await what(client)
            finally:
                await client.close()
        return asyncio.run(ask())

    def at(cell: str) -> list[tuple[str, str]]:
        return sorted((a.id, path) for a, path in client_of(cell, lambda c: c.agents())
                      if a.id in mine)

    def enabled(cell: str) -> dict[str, bool]:
        return {a.id: a.enabled for a, _ in client_of(cell, lambda c: c.agents())
                if a.id in mine}

    try:
        assert eventually(lambda: at(top) == [
            ("up-a", "top!r1!z1"), ("up-b", "top!r1!z3"), ("up-twin", "top!r1!z1"),
            ("up-twin", "top!r1!z2")])
        assert at(tree.addresses["r1"]) == at(top)
        assert sorted((a["id"], a["cell_path"]) for a in agents_cli(top, "list")
                      if a["id"] in mine) == at(top)  # as the command shows them

        (b,) = agents_cli(top, "disable", "up-b")
        assert (b["id"], b["enabled"], b["cell_path"]) == ("up-b", False, "top!r1!z3")
        assert enabled(z3) == {"up-b": False}  # at its leaf
        assert enabled(z1) == {"up-a": True, "up-twin": True}
        client_of(top, lambda c: c.set_enabled("up-b", True))
        assert enabled(z3) == {"up-b": True}

        twin = subprocess.run([*CLI, "agents", "disable", "up-twin", "--cell", top],
                              capture_output=True, text=True, timeout=60)
        assert twin.returncode != 0
        assert "FAILED_PRECONDITION" in twin.stderr and "top!r1!z1, top!r1!z2" in twin.stderr
        assert enabled(z1)["up-twin"] and enabled(z2)["up-twin"]
        with pytest.raises(NotFound, match="no agent up-nobody under top"):
            client_of(top, lambda c: c.remove("up-nobody"))

        procs[0].kill()  # up-a stops reporting (else its next report makes it known again)
        procs[0].wait()
        assert "removed" in agents_cli(top, "remove", "up-a")
        assert "up-a" not in enabled(z1)
        assert "up-a" not in {i for i, _ in at(top)}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        for cell, agent in ((z1, "up-a"), (z3, "up-b"), (z1, "up-twin"), (z2, "up-twin")):
            with contextlib.suppress(NotFound):  # the others count this tree's agents
                client_of(cell, lambda c, a=agent: c.remove(a))  # type: ignore[misc]


def test_bad_reports_are_refused_with_the_reason_and_change_nothing(tree: TreeRunner) -> None:
    z2 = tree.addresses["z2"]

    async def run() -> None:
        client = AgentsClient(z2)
        try:
            good = AgentReport("vpn-1", "host-1", "vpn", ("strongswan",))
            assert (await client.report(good))[0] is Heard.NEW
            before = [(a.report, a.enabled) for a, _ in await client.agents()]
            with pytest.raises(AlreadyExists, match="held by the agent on host host-1"):
                await client.report(AgentReport("vpn-1", "host-2", "vpn", ("strongswan",)))
            with pytest.raises(InvalidArgument, match="bad kind"):
                await client.report(AgentReport("vpn-2", "host-2", "VPN!"))
            with pytest.raises(InvalidArgument, match="load must be"):
                await client.report(AgentReport("vpn-2", "host-2", "vpn", load=-5))
            with pytest.raises(NotFound, match="no agent 'nobody'"):
                await client.remove("nobody")
            assert [(a.report, a.enabled) for a, _ in await client.agents()] == before
        finally:
            await client.close()

    asyncio.run(run())


def test_a_restarted_leaf_still_knows_its_agents(tree: TreeRunner, tmp_path: Path) -> None:
    z2 = tree.addresses["z2"]
    proc = agent_process(z2, tmp_path / "d", "lb-d", "haproxy")
    try:
        assert eventually(lambda: "lb-d" in listed(z2))
    finally:
        proc.kill()
        proc.wait()
    tree.restart_cell("z2")

    def known_again() -> bool:
        try:
            return listed(z2)["lb-d"]["capabilities"] == ["haproxy"]
        except AssertionError:  # the new process is not listening yet
            return False

    assert eventually(known_again)


def files(state: Path) -> set[str]:
    return {p.stem for p in (state / "objects").glob("*.json")}


def applied(state: Path) -> list[int]:
    log = state / "applied.log"
    return [int(line.split()[0]) for line in log.read_text().splitlines()] if log.exists() else []


def test_objects_land_on_agents_files_and_a_cut_watch_resumes_exactly(
        tree: TreeRunner, tmp_path: Path) -> None:
    z3 = tree.addresses["z3"]
    states = {name: tmp_path / name for name in ("x1", "x2", "v1")}
    procs = {"x1": agent_process(z3, states["x1"], "x1", "haproxy"),
             "x2": agent_process(z3, states["x2"], "x2", "haproxy"),
             "v1": agent_process(z3, states["v1"], "v1", "strongswan", kind="vpn")}

    async def call(what: Callable[[AgentsClient], Awaitable[T]]) -> T:
        client = AgentsClient(z3)
        try:
            return await what(client)
        finally:
            await client.close()

    def on(agent: str) -> set[str]:
        return {o.uuid for o in asyncio.run(call(lambda c: c.objects(agent=agent)))}

    try:
        assert eventually(lambda: set(listed(z3)) == {"x1", "x2", "v1"})
        placed = [asyncio.run(call(lambda c, n=n: c.place(PlaceSpec(  # type: ignore[misc]
            f"req-vip-{n}", f"vip-{n}", "loadbalancer", ("haproxy",)))))
            for n in range(20)]
        assert Counter(o.agent for o in placed) == {"x1": 10, "x2": 10}  # the fewest first
        assert eventually(lambda: files(states["x1"]) == on("x1")
                          and files(states["x2"]) == on("x2"), timeout=20)
        assert eventually(lambda: all(o.state is ObjectState.ACTIVE for o in asyncio.run(
            call(lambda c: c.objects()))), timeout=20)

        # Nothing fits: refused with the reason, nothing made.
        with pytest.raises(ResourceExhausted, match="capability: 2 of 3 agents"):
            asyncio.run(call(lambda c: c.place(PlaceSpec("req-f5", "f5", "loadbalancer",
                                                         ("f5-bigip",)))))

        # x1's watch is cut (SIGKILL) while two of its objects are deleted; it
        # comes back with its state directory and catches up.
        procs["x1"].kill()
        procs["x1"].wait()
        gone = sorted(on("x1"))[:2]
        for uuid in gone:
            asyncio.run(call(lambda c, u=uuid: c.delete_object(u)))  # type: ignore[misc]
        procs["x1"] = agent_process(z3, states["x1"], "x1", "haproxy")
        assert eventually(lambda: files(states["x1"]) == on("x1"))
        assert not set(gone) & files(states["x1"])
        revisions = applied(states["x1"])
        assert revisions == sorted(set(revisions)), "an event was applied twice"
        assert files(states["v1"]) == set()  # a vpn agent holds no load balancer
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("method", [
    "/cellrouter.v1.Objects/Place", "/cellrouter.v1.Objects/GetObject",
    "/cellrouter.v1.Agents/Report", "/cellrouter.v1.Agents/SetObjectState",
])
def test_undecodable_bytes_are_invalid_argument(tree: TreeRunner, method: str) -> None:
    with grpc.insecure_channel(tree.addresses["z2"]) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as refused:
            call(b"\xff\xff\xff\xff", timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed request" in (refused.value.details() or "")


def test_a_watch_of_garbage_or_of_nobody_is_refused(tree: TreeRunner) -> None:
    with grpc.insecure_channel(tree.addresses["z2"]) as channel:
        watch = channel.unary_stream("/cellrouter.v1.Agents/Watch", request_serializer=None,
                                     response_deserializer=None)
        with pytest.raises(grpc.RpcError) as garbage:
            list(watch(b"\xff\xff\xff\xff", timeout=10))
        assert garbage.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        nobody = pb.WatchRequest(agent_id="nobody").SerializeToString()
        with pytest.raises(grpc.RpcError) as unknown:
            list(watch(nobody, timeout=10))
        assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


def test_an_agent_cannot_report_a_state_that_is_not_its_to_report(tree: TreeRunner) -> None:
    async def run() -> None:
        client = AgentsClient(tree.addresses["z2"])
        try:
            await client.report(AgentReport("lb-s", "host-s", "loadbalancer", ("haproxy",)))
            obj = await client.place(PlaceSpec("req-s", "s-1", "loadbalancer", ("haproxy",)))
            for state in (ObjectState.DELETED, ObjectState.PENDING):
                with pytest.raises(FailedPrecondition, match="ACTIVE or ERROR"):
                    await client.set_object_state(obj.agent, obj.uuid, state)
            assert (await client.get_object(obj.uuid)).state is ObjectState.PENDING
            await client.delete_object(obj.uuid)
        finally:
            await client.close()

    asyncio.run(run())


def test_objects_are_placed_found_and_deleted_through_the_top(
        tree: TreeRunner, tmp_path: Path) -> None:
    top = tree.top_address
    procs = [agent_process(tree.addresses["z1"], tmp_path / "w1", "w1", "wireguard", kind="vpn"),
             agent_process(tree.addresses["z3"], tmp_path / "w2", "w2", "wireguard", "ipsec",
                           kind="vpn")]

    async def call(what: Callable[[AgentsClient], Awaitable[T]]) -> T:
        client = AgentsClient(top)
        try:
            return await what(client)
        finally:
            await client.close()

    def offered() -> dict[str, int]:
        with CellClient(top, timeout=10) as client:
            return dict(client.topology().capacity.agents)

    try:
        # The leaves report their agents up: the top counts them by kind and capability.
        assert eventually(lambda: offered().get("vpn/wireguard") == 2
                          and offered().get("vpn/ipsec") == 1, timeout=20)
        placed = [asyncio.run(call(lambda c, n=n: c.place(PlaceSpec(  # type: ignore[misc]
            f"req-wg-{n}", f"wg-{n}", "vpn", ("wireguard",))))) for n in range(12)]
        assert {(o.agent, o.cell_path) for o in placed} == {("w1", "top!r1!z1"),
                                                             ("w2", "top!r1!z3")}
        again = asyncio.run(call(lambda c: c.place(PlaceSpec(
            "req-wg-3", "wg-3", "vpn", ("wireguard",)))))
        assert again.uuid == placed[3].uuid  # a retry through the top: the same object
        ipsec = asyncio.run(call(lambda c: c.place(PlaceSpec(
            "req-ipsec", "ipsec-1", "vpn", ("wireguard", "ipsec")))))
        assert (ipsec.agent, ipsec.cell_path) == ("w2", "top!r1!z3")
        # Hints: down the path to one cell, to an agent on one host there.
        aimed = [asyncio.run(call(lambda c, n=n: c.place(PlaceSpec(  # type: ignore[misc]
            f"req-aim-{n}", f"aim-{n}", "vpn", ("wireguard",),
            (("host", "host-w1"), ("target_cell", "top!r1!z1")))))) for n in range(4)]
        assert {(o.agent, o.cell_path) for o in aimed} == {("w1", "top!r1!z1")}
        with pytest.raises(ResourceExhausted, match="host"):
            asyncio.run(call(lambda c: c.place(PlaceSpec(
                "req-nohost", "nohost", "vpn", ("wireguard",),
                (("host", "host-w2"), ("target_cell", "top!r1!z1"))))))
        with pytest.raises(InvalidArgument, match="not inside"):
            asyncio.run(call(lambda c: c.place(PlaceSpec(
                "req-away", "away", "vpn", (), (("target_cell", "elsewhere!z9"),)))))
        with pytest.raises(ResourceExhausted, match="no cell under top has agents of kind vpn"
                                                    " offering f5"):
            asyncio.run(call(lambda c: c.place(PlaceSpec("req-f5", "f5", "vpn", ("f5",)))))

        listed_top = asyncio.run(call(lambda c: c.objects(kind="vpn")))
        assert sorted(o.uuid for o in listed_top) == sorted(
            {o.uuid for o in placed} | {o.uuid for o in aimed} | {ipsec.uuid})
        shown = asyncio.run(call(lambda c: c.get_object(ipsec.uuid)))
        assert (shown.spec.name, shown.agent) == ("ipsec-1", "w2")
        gone = asyncio.run(call(lambda c: c.delete_object(ipsec.uuid)))
        assert gone.state is ObjectState.DELETED
        assert eventually(lambda: ipsec.uuid not in files(tmp_path / "w2"))
        with pytest.raises(NotFound, match="no object"):
            asyncio.run(call(lambda c: c.get_object("00000000-0000-4000-8000-000000000000")))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_an_operator_moves_objects_and_failover_moves_a_dead_agents_with_a_brake(
        tree: TreeRunner, tmp_path: Path) -> None:
    z4, top = tree.addresses["z4"], tree.top_address
    procs = {name: agent_process(z4, tmp_path / name, name, "nft", kind="firewall")
             for name in ("f1", "f2", "f3")}

    def on(agent: str) -> set[str]:
        return {o["uuid"] for o in cellrouter(top, "objects", "list", "--agent", agent)}

    try:
        assert eventually(lambda: set(listed(z4)) == {"f1", "f2", "f3"})
        # and the top has heard of them, with z4's next report
        assert eventually(lambda: offered(top, "firewall/nft") == 3)
        made = [cellrouter(top, "place", "firewall", f"fw-{n}", "--needs", "nft")[0]
                for n in range(6)]
        assert Counter(o["agent"] for o in made) == {"f1": 2, "f2": 2, "f3": 2}

        # An operator moves one, through the top; refusals name the rule.
        mover = next(o for o in made if o["agent"] != "f3")
        (moved,) = cellrouter(top, "bind", mover["uuid"], "f3")
        assert moved["agent"] == "f3"
        assert eventually(lambda: mover["uuid"] in files(tmp_path / "f3")
                          and mover["uuid"] not in files(tmp_path / mover["agent"]),
                          timeout=20)
        refused = subprocess.run([*CLI, "bind", made[1]["uuid"], "nobody", "--cell", top],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "NOT_FOUND" in refused.stderr

        # f1 dies: once silent two down periods, its objects move to f2 and f3.
        held_by_f1 = on("f1")
        assert held_by_f1
        procs["f1"].kill()
        procs["f1"].wait()
        assert eventually(lambda: on("f1") == set())
        assert eventually(lambda: held_by_f1 <= files(tmp_path / "f2") | files(tmp_path / "f3"),
                          timeout=20)

        # f2 and f3 die at once: more agents down than failover_threshold = 1, so
        # nothing moves, and the operator is told.
        before = {agent: on(agent) for agent in ("f2", "f3")}
        for name in ("f2", "f3"):
            procs[name].kill()
            procs[name].wait()
        stopped = subprocess.run([*CLI, "agents", "list", "--cell", z4], capture_output=True,
                                 text=True, timeout=60)
        assert eventually(lambda: "failover stopped: 3 agents are down at once" in subprocess.run(
            [*CLI, "agents", "list", "--cell", z4], capture_output=True, text=True,
            timeout=60).stdout, timeout=20), stopped.stdout
        assert {agent: on(agent) for agent in ("f2", "f3")} == before
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def test_a_hundred_objects_through_the_top_land_spread_on_agents_with_the_capability(
        tree: TreeRunner, tmp_path: Path) -> None:
    z1, z3, top = tree.addresses["z1"], tree.addresses["z3"], tree.top_address
    where = {"c1": z1, "m1": z1, "c2": z3, "c3": z3}
    procs = {name: agent_process(cell, tmp_path / name, name,
                                 "memcached" if name == "m1" else "redis", kind="cache")
             for name, cell in where.items()}

    async def run() -> None:
        client = AgentsClient(top)
        try:
            gate = asyncio.Semaphore(32)  # within one client's calls at once (64 by default)

            async def place(n: int) -> ServiceObject:
                async with gate:
                    return await client.place(PlaceSpec(
                        f"req-cache-{n}", f"cache-{n:03d}", "cache", ("redis",)))

            placed = await asyncio.gather(*(place(n) for n in range(100)))
            agents = Counter(o.agent for o in placed)
            assert set(agents) <= {"c1", "c2", "c3"}, agents  # never m1: no redis
            assert agents["c1"] > 0 and agents["c2"] + agents["c3"] > 0  # both leaves used
            assert abs(agents["c2"] - agents["c3"]) <= 1  # the fewest first, within a leaf
            assert all(o.cell_path == {"c1": "top!r1!z1"}.get(o.agent, "top!r1!z3")
                       for o in placed)
            listed_top = await client.objects(kind="cache")
            assert sorted(o.uuid for o in listed_top) == sorted(o.uuid for o in placed)
            for o in placed[:10]:  # located through the top: its leaf and its agent
                found = await client.get_object(o.uuid)
                assert (found.cell_path, found.agent) == (o.cell_path, o.agent)
            for name in ("c1", "c2", "c3"):
                mine = {o.uuid for o in placed if o.agent == name}
                assert eventually(lambda n=name, m=mine: files(tmp_path / n) == m,  # type: ignore[misc]
                                  timeout=30), (name, len(mine), len(files(tmp_path / name)))
            gone = placed[:10]
            for o in gone:
                await client.delete_object(o.uuid)
            left = {o.uuid for o in placed[10:]}
            assert eventually(lambda: set().union(*(files(tmp_path / n) for n in where)) == left,
                              timeout=30)
        finally:
            await client.close()

    try:
        assert eventually(lambda: set(listed(z1)) >= {"c1", "m1"}
                          and set(listed(z3)) >= {"c2", "c3"}, timeout=20)
        assert eventually(lambda: offered(top, "cache/redis") == 3)
        asyncio.run(run())
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
