"""A replicated tree run as users run it, `cellrouter up`, outlives any one of its
processes: SIGKILL a top replica, the active leaf process, the API process and
an agent, one after another, under 16 clients booting, reading and acting, and
`up` starts each again while no client sees an error and no action is applied
twice. And an action whose answer was lost with the replica that carried it
(killed between the leaf acting and the answer) is sent again with its request
id and applied once.

Faults are paced by progress (a process serving again, calls done since),
never by wall time. One tree (on PostgreSQL) serves the module."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from cellwire.channels import split_addresses
from cellwire.client import AsyncCellClient, CellClient, boot_spec
from model.agents import ObjectState, PlaceSpec
from model.cells import CellNode, ListQuery
from model.compute import Instance, InstanceState
from tests.integration.proxy import LossyProxy
from tests.integration.up_tree import SAFETY, Up, run_up, wait_until

pytestmark = pytest.mark.postgres

TREE = """
[tree]
insecure = true
report_interval = 0.2
# A parent marks a child down after 5 s of silence: long beside a killed
# process's restart, so that a loaded machine's late report is not a cell down.
down_after = 25

[flavors]
small = {{ vcpus = 1, memory_mb = 256, disk_gb = 1 }}

[api]

[cells.top]
replicas = 2
database_url = "{top}"

[cells.r1]
parent = "top"
database_url = "{r1}"

[cells.z1]
parent = "r1"
driver = "fake"
replicas = 2
database_url = "{z1}"
hosts = [{{ name = "h1", vcpus = 1000000, memory_mb = 1000000000, disk_gb = 1000000 }}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h2", vcpus = 1000000, memory_mb = 1000000000, disk_gb = 1000000 }}]

[[agents]]
cell = "z2"
id = "lb-1"
kind = "loadbalancer"
"""
LEAVES = ("top!r1!z1", "top!r1!z2")
CLIENTS = 12  # gRPC clients booting, reading and acting
READERS = 4  # HTTP clients of the API, reading
CALLS_BETWEEN_KILLS = 40  # calls done after a process is back, before the next kill


# ----------------------------------------------------------------- the tree


@dataclass
class UpTree:
    """The module's `cellrouter up` and the PostgreSQL schema of z1."""

    up: Up
    z1_schema_url: str


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory,
         pg_schemas_module: Callable[[], str]) -> Iterator[UpTree]:
    urls = {cell: pg_schemas_module() for cell in ("top", "r1", "z1")}
    with run_up(tmp_path_factory.mktemp("up"), TREE.format(**urls)) as running:
        yield UpTree(running, urls["z1"])


@pytest.fixture
def up(tree: UpTree) -> Up:
    return tree.up


def leaf_active(up: Up, client: CellClient) -> str:
    """The process of z1 that acts now, as the tree's topology says."""
    z1 = z1_node(client)
    for key in ("z1", "z1.r2"):
        if up.listen(key) == z1.address:
            return key
    raise LookupError(f"z1's address {z1.address} is neither process's")


def z1_node(client: CellClient) -> CellNode:
    return next(n for n in client.topology().walk() if n.name == "z1")


# ------------------------------------------------- an answer lost in a replica


def outcome_rows(tree: UpTree, request_id: str) -> list[tuple[str, str]]:
    engine = create_engine(tree.z1_schema_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT action, answer FROM action_outcomes"
                                     " WHERE request_id = :r"), {"r": request_id}).all()
    finally:
        engine.dispose()
    return [(action, json.loads(answer)["state"]) for action, answer in rows]


def test_an_action_whose_answer_was_lost_with_its_replica_is_applied_once(
        tree: UpTree) -> None:
    up = tree.up
    replicas = split_addresses(up.top)
    assert len(replicas) == 2
    names = {up.listen("top"): "cell top", up.listen("top.r2"): "cell top.r2"}
    armed = threading.Event()
    killed: list[tuple[str, int]] = []

    def kill(address: str) -> Callable[[], None]:
        def now() -> None:
            killed.append((names[address], up.kill(names[address])))
        return now

    cutters = [LossyProxy(lambda a=a: a, kill(a), armed)  # type: ignore[misc]
               for a in replicas]
    through = ",".join(c.address for c in cutters)
    try:
        with CellClient(up.top, timeout=60) as top:
            # On z1, whose memory of actions is in PostgreSQL (shared with its standby).
            vm = top.boot(boot_spec("lost-answer", 1, 256, request_id="lost-answer",
                                    target_cell="top!r1!z1"))
        with CellClient(through, timeout=60) as client:
            client.get(vm.uuid)  # connected, through both cutters
            armed.set()
            answer = client.pause(vm.uuid, wait=True, request_id="lost-pause")
        assert answer.state is InstanceState.PAUSED
        assert sum(c.cut for c in cutters) == 1 and len(killed) == 1  # really lost
        assert outcome_rows(tree, "lost-pause") == [("pause", "PAUSED")]  # applied once

        # The CLI does the same, with a request id of its own.
        name, pid = killed[0]
        wait_until(lambda: up.back(name, pid), f"{name} started again", up)
        with CellClient(up.listen(name.removeprefix("cell ")), timeout=10) as again:
            wait_until(lambda: again.topology() is not None, f"{name} serving", up)
        armed.set()
        cli = subprocess.run(
            [sys.executable, "-m", "cellops.cli", "--cell", through, "--json", "unpause",
             vm.uuid, "--wait"], capture_output=True, text=True, timeout=SAFETY)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["state"] == "ACTIVE"
        assert sum(c.cut for c in cutters) == 2 and len(killed) == 2
        with CellClient(up.top, timeout=60) as top:
            assert top.get(vm.uuid).state is InstanceState.ACTIVE
    finally:
        for cutter in cutters:
            cutter.close()
    for name, pid in killed:  # `up` brought each back
        wait_until(lambda n=name, p=pid: up.back(n, p), f"{name} started again", up)  # type: ignore[misc]
    replicas_serve(up)


def serves(address: str) -> bool:
    """The cell process at `address` answers (its own topology)."""
    with CellClient(address, timeout=10) as cell:
        return cell.topology().up


def replicas_serve(up: Up) -> None:
    """Both top replicas answer: the next kill leaves one serving."""
    for process in ("top", "top.r2"):
        wait_until(lambda p=process: serves(up.listen(p)), f"{process} serving", up)  # type: ignore[misc]


# ------------------------------------------------ one process after another


@dataclass
class Load:
    """16 clients at work: what they made, did, and any error they saw."""

    stop: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    booted: list[Instance] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self, what: str = "") -> None:
        with self.lock:
            self.calls += 1
            if what:
                self.actions[what] += 1

    def failed(self, who: str, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{who}: {type(exc).__name__}: {exc}")


def grpc_client(up: Up, load: Load, n: int) -> None:
    """Boot, read, pause and unpause its own instances, list a page, delete one
    instance in three; each call's retries are the client's own (cellwire.client),
    nothing added here."""
    with CellClient(up.top, timeout=120) as top:
        i, step = 0, ""
        while not load.stop.is_set():
            i += 1
            try:
                step = "boot"
                vm = top.boot(boot_spec(f"c{n}-{i}", 1, 256, request_id=f"up-{n}-{i}"))
                with load.lock:
                    load.booted.append(vm)
                load.done()
                step = f"get {vm.uuid}"
                assert top.get(vm.uuid).uuid == vm.uuid
                load.done()
                step = f"pause {vm.uuid}"
                assert top.pause(vm.uuid, wait=True).state is InstanceState.PAUSED
                load.done("pause")
                step = f"unpause {vm.uuid}"
                assert top.unpause(vm.uuid, wait=True).state is InstanceState.ACTIVE
                load.done("unpause")
                step = "list"
                top.list(ListQuery(limit=5))
                load.done()
                if i % 3 == 0:
                    step = f"delete {vm.uuid}"
                    assert top.delete(vm.uuid, wait=True).state is InstanceState.DELETED
                    with load.lock:
                        load.deleted.add(vm.uuid)
                    load.done("delete")
            except Exception as exc:
                load.failed(f"client {n}, {step}", exc)
                return


def api_reader(up: Up, load: Load, n: int) -> None:
    """Read servers through the API; a request refused at the connection (the
    API process is down) never arrived, and is sent again, as clients do."""
    session = requests.Session()
    token = ""
    while not load.stop.is_set():
        try:
            if not token:
                token = login(up, session)
            answer = session.get(f"{up.api}/v2.1/servers/detail?limit=5",
                                 headers={"X-Auth-Token": token}, timeout=120)
            assert answer.status_code == 200, answer.text
            load.done()
        except requests.ConnectionError:
            time.sleep(0.05)  # not delivered: the API process is starting again
        except Exception as exc:
            load.failed(f"reader {n}", exc)
            return


def login(up: Up, session: requests.Session) -> str:
    auth: dict[str, Any] = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": up.env["OS_USERNAME"], "domain": {"name": "Default"},
            "password": up.env["OS_PASSWORD"]}}},
        "scope": {"project": {"id": up.env["OS_PROJECT_ID"]}}}}
    answer = session.post(f"{up.api}/identity/v3/auth/tokens", json=auth, timeout=120)
    assert answer.status_code == 201, answer.text
    return str(answer.headers["X-Subject-Token"])


def calls_since(load: Load, since: int) -> Callable[[], bool]:
    return lambda: load.calls >= since + CALLS_BETWEEN_KILLS


def place_on_agent(up: Up, name: str) -> bool:
    """An object placed through the top lands on lb-1, which makes it live."""
    async def go() -> bool:
        top = AsyncCellClient(up.top, timeout=60, ride_out=True)
        try:
            placed = await top.place_object(PlaceSpec(name, name, "loadbalancer"))
            while True:
                seen = await top.get_object(placed.uuid)
                if seen.state is ObjectState.ACTIVE:
                    return seen.agent == "lb-1"
                await asyncio.sleep(0.1)
        finally:
            await top.close()

    return asyncio.run(asyncio.wait_for(go(), SAFETY))


def test_up_outlives_a_sigkill_of_each_kind_of_process_under_load(up: Up) -> None:
    load = Load()
    workers = [threading.Thread(target=grpc_client, args=(up, load, n)) for n in range(CLIENTS)]
    workers += [threading.Thread(target=api_reader, args=(up, load, n)) for n in range(READERS)]
    for w in workers:
        w.start()
    restarted: dict[str, int] = {}
    replicas_serve(up)  # one top replica is killed below: the other must serve
    try:
        wait_until(calls_since(load, 0), "the clients' first calls", up)
        with CellClient(up.top, timeout=60) as top:
            # 1. One top replica.
            restarted["cell top.r2"] = up.kill("cell top.r2")
            wait_until(lambda: up.back("cell top.r2", restarted["cell top.r2"]),
                       "top.r2 started again", up)
            replicas_serve(up)
            wait_until(calls_since(load, load.calls), "calls after top.r2", up)

            # 2. The leaf's active process: the standby takes over.
            active = leaf_active(up, top)
            standby = "z1.r2" if active == "z1" else "z1"
            restarted[f"cell {active}"] = up.kill(f"cell {active}")
            wait_until(lambda: leaf_active(up, top) == standby, "z1's standby acting", up)
            wait_until(lambda: up.back(f"cell {active}", restarted[f"cell {active}"]),
                       f"{active} started again", up)
            wait_until(lambda: [r.standby for r in z1_node(top).replicas].count(True) == 1,
                       f"{active} standing by", up)
            wait_until(calls_since(load, load.calls), f"calls after {active}", up)

            # 3. The API process.
            restarted["api"] = up.kill("api")
            wait_until(lambda: up.back("api", restarted["api"]), "the API started again", up)
            wait_until(lambda: requests.get(f"{up.api}/", timeout=5).ok, "the API serving", up)
            wait_until(calls_since(load, load.calls), "calls after the API", up)

            # 4. An agent: it comes back, resumes its watch, and takes new objects.
            restarted["agent lb-1"] = up.kill("agent lb-1")
            wait_until(lambda: up.back("agent lb-1", restarted["agent lb-1"]),
                       "lb-1 started again", up)
            assert place_on_agent(up, "after-lb-1-restart")
            wait_until(calls_since(load, load.calls), "calls after lb-1", up)
    finally:
        load.stop.set()
        for w in workers:
            w.join(SAFETY)

    assert load.errors == [], load.errors[:10]
    assert up.proc.poll() is None, "cellrouter up exited"
    processes = up.processes()
    for name in restarted:
        assert processes[name]["restarts"] >= 1, processes[name]
        assert processes[name]["last_exit"] == "killed by SIGKILL"
    assert all(p["state"] == "running" for p in processes.values()), processes
    told = up.output.read_text()
    for name in restarted:
        assert f"{name} exited (killed by SIGKILL)" in told
    # `cellrouter tree` with up's state directory says so too.
    shown = subprocess.run(
        [sys.executable, "-m", "cellops.cli", "--cell", up.top, "tree", "--state-dir",
         str(up.state)], capture_output=True, text=True, timeout=SAFETY)
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line for line in shown.stdout.splitlines()[1:] if line.strip()}
    assert "(last: killed by SIGKILL)" in rows["top"] and "(last: killed by SIGKILL)" in rows[
        "top!r1!z1"]
    assert rows["top!r1"].rstrip().endswith(" 0")
    assert "api: running, " in shown.stdout and "agent lb-1: running, " in shown.stdout

    # Every boot that returned exists exactly once, but those deleted; every
    # action was applied once (a second would have been refused, and seen above),
    # so every instance is ACTIVE or, where its client stopped between the two,
    # PAUSED.
    mine = [i for i in at_leaves(up) if i.request_id.startswith("up-")]
    per_request = Counter(i.request_id for i in mine)
    assert load.booted and max(per_request.values()) == 1
    assert {i.uuid for i in mine} == {vm.uuid for vm in load.booted} - load.deleted
    assert {i.state for i in mine} <= {InstanceState.ACTIVE, InstanceState.PAUSED}
    print(f"{load.calls} calls, {len(load.booted)} boots, {dict(load.actions)}, 0 errors;"
          f" restarted {sorted(restarted)}")


def at_leaves(up: Up) -> list[Instance]:
    """Every instance, as each leaf lists it (page by page)."""
    found: list[Instance] = []
    with CellClient(up.top, timeout=60) as top:
        leaves = [n.address for n in top.topology().walk() if n.path in LEAVES]
    for address in leaves:
        with CellClient(address, timeout=60) as leaf:
            token = ""
            while True:
                page = leaf.list(ListQuery(limit=1000, page_token=token))
                found += page.instances
                token = page.next_page_token
                if not token:
                    break
    return found


def test_up_stops_every_process_on_sigterm(up: Up) -> None:
    pids = [int(p["pid"]) for p in up.processes().values()]
    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(timeout=SAFETY) == 0
    assert "all cells stopped" in up.output.read_text()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
