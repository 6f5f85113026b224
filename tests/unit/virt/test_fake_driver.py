"""Tests for virt.fake.FakeDriver: capacity, state machine, persistence, threads."""

from __future__ import annotations

import threading
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest

from cellwire.client import boot_spec
from model.compute import Action, BootSpec, HostInfo, InstanceState, Port, Resources
from virt.errors import IllegalTransition, InstanceNotFound, InvalidSpec, NoCapacity
from virt.fake import FakeDriver, FakeHost, from_config

BIG = Resources(8, 16384, 100)


def make_driver(state_file: Path | None = None) -> FakeDriver:
    hosts = [FakeHost("h1", BIG), FakeHost("h2", Resources(2, 2048, 10)),
             FakeHost("dead", BIG, alive=False)]
    return FakeDriver(hosts, state_file=state_file)


def spec(vcpus: int = 1, memory_mb: int = 1024, disk_gb: int = 10, **kw: Any) -> BootSpec:
    return boot_spec("vm", vcpus, memory_mb, disk_gb, uuid=str(uuidlib.uuid4()), **kw)


def host_info(driver: FakeDriver, name: str) -> HostInfo:
    return next(h for h in driver.hosts() if h.name == name)


def test_spawn_is_active_on_host_and_counted() -> None:
    driver = make_driver()
    s = spec(2, 4096, 20, project="p1", image="cirros")
    inst = driver.spawn(s, "h1")
    assert (inst.uuid, inst.state, inst.host) == (s.uuid, InstanceState.ACTIVE, "h1")
    assert (inst.flavor, inst.project, inst.image) == (Resources(2, 4096, 20), "p1", "cirros")
    assert inst.request_id == s.request_id
    assert inst.created_at is not None and inst.created_at.tzinfo is not None
    assert driver.get(s.uuid) == inst
    h1 = host_info(driver, "h1")
    assert (h1.used, h1.instances, h1.free) == (Resources(2, 4096, 20), 1, Resources(6, 12288, 80))
    assert host_info(driver, "h2").instances == 0


def test_spawn_is_idempotent_on_uuid() -> None:
    driver = make_driver()
    s = spec(2, 4096)
    first = driver.spawn(s, "h1")
    again = driver.spawn(s, "h1")
    assert again == first
    assert len(driver.instances()) == 1
    assert host_info(driver, "h1").used == Resources(2, 4096, 10)


@pytest.mark.parametrize(
    ("host", "flavor"),
    [("h2", (4, 1024, 1)), ("h2", (1, 4096, 1)), ("h2", (1, 1024, 11)), ("dead", (1, 1, 0))],
    ids=["too-many-vcpus", "too-much-ram", "too-much-disk", "host-down"],
)
def test_spawn_without_room_raises_and_claims_nothing(
    host: str, flavor: tuple[int, int, int]
) -> None:
    driver = make_driver()
    s = spec(*flavor)
    with pytest.raises(NoCapacity, match=f"host {host} cannot hold"):
        driver.spawn(s, host)
    assert driver.instances() == []
    assert host_info(driver, host).used == Resources()
    with pytest.raises(InstanceNotFound):
        driver.get(s.uuid)


def test_spawn_on_unknown_host() -> None:
    driver = make_driver()
    with pytest.raises(InvalidSpec, match="no host named 'nope'"):
        driver.spawn(spec(), "nope")
    assert driver.instances() == []


@pytest.mark.parametrize(
    ("path", "final"),
    [
        ([Action.PAUSE], InstanceState.PAUSED),
        ([Action.PAUSE, Action.UNPAUSE], InstanceState.ACTIVE),
        ([Action.SUSPEND], InstanceState.SUSPENDED),
        ([Action.SUSPEND, Action.RESUME], InstanceState.ACTIVE),
        ([Action.STOP], InstanceState.STOPPED),
        ([Action.STOP, Action.START], InstanceState.ACTIVE),
        ([Action.REBOOT], InstanceState.ACTIVE),
        ([Action.REBOOT_HARD], InstanceState.ACTIVE),
    ],
    ids=["pause", "unpause", "suspend", "resume", "stop", "start", "reboot", "reboot-hard"],
)
def test_act_legal(path: list[Action], final: InstanceState) -> None:
    driver = make_driver()
    s = spec()
    driver.spawn(s, "h1")
    for action in path:
        result = driver.act(s.uuid, action)
    assert result.state is final
    assert driver.get(s.uuid).state is final
    assert result.updated_at is not None and result.created_at is not None
    assert result.updated_at >= result.created_at


@pytest.mark.parametrize(
    ("setup", "action"),
    [([], Action.UNPAUSE), ([], Action.START), ([Action.PAUSE], Action.PAUSE),
     ([Action.STOP], Action.RESUME), ([Action.PAUSE], Action.REBOOT)],
    ids=["unpause-active", "start-active", "pause-paused", "resume-stopped", "reboot-paused"],
)
def test_act_illegal_leaves_state(setup: list[Action], action: Action) -> None:
    driver = make_driver()
    s = spec()
    driver.spawn(s, "h1")
    for a in setup:
        driver.act(s.uuid, a)
    before = driver.get(s.uuid)
    with pytest.raises(IllegalTransition, match=f"cannot {action.value}") as info:
        driver.act(s.uuid, action)
    assert info.value.state == before.state.value
    assert driver.get(s.uuid) == before


def test_delete_forgets_and_frees_capacity() -> None:
    driver = make_driver()
    s = spec(8, 16384, 100)
    driver.spawn(s, "h1")
    assert host_info(driver, "h1").free == Resources()
    gone = driver.act(s.uuid, Action.DELETE)
    assert gone.state is InstanceState.DELETED
    assert driver.instances() == []
    assert host_info(driver, "h1").used == Resources()
    with pytest.raises(InstanceNotFound):
        driver.get(s.uuid)
    driver.spawn(spec(8, 16384, 100), "h1")  # the room is usable again
    with pytest.raises(NoCapacity):  # and then full again
        driver.spawn(spec(1, 1, 0), "h1")


@pytest.mark.parametrize("call", ["get", "act"], ids=["get", "act"])
def test_unknown_uuid(call: str) -> None:
    driver = make_driver()
    unknown = str(uuidlib.uuid4())
    with pytest.raises(InstanceNotFound) as info:
        if call == "get":
            driver.get(unknown)
        else:
            driver.act(unknown, Action.REBOOT)
    assert info.value.uuid == unknown


def test_state_file_persists_instances(tmp_path: Path) -> None:
    state_file = tmp_path / "x.db"
    first = make_driver(state_file)
    ports = (Port("net-a", "52:54:00:12:34:56", "10.0.0.5"), Port("net-b", "52:54:00:ab:cd:ef"))
    a = first.spawn(spec(2, 2048, 20, ports=ports, project="p", image="img"), "h1")
    b = first.spawn(spec(1, 1024, 5), "h2")
    first.act(b.uuid, Action.STOP)
    c = first.spawn(spec(), "h1")
    first.act(c.uuid, Action.DELETE)
    d = first.spawn(spec(1, 1024, 5), "h2")  # the last change before the reopen is a spawn
    assert state_file.exists()

    second = make_driver(state_file)
    assert {i.uuid for i in second.instances()} == {a.uuid, b.uuid, d.uuid}
    assert second.get(d.uuid) == d
    assert second.get(a.uuid) == first.get(a.uuid)
    assert second.get(a.uuid).ports == ports
    assert second.get(a.uuid).flavor == Resources(2, 2048, 20)
    assert second.get(b.uuid) == first.get(b.uuid)
    assert second.get(b.uuid).state is InstanceState.STOPPED
    assert host_info(second, "h1").used == Resources(2, 2048, 20)
    assert host_info(second, "h2").used == Resources(2, 2048, 10)


def test_concurrent_spawns_never_overcommit() -> None:
    driver = FakeDriver([FakeHost("h", Resources(10, 10240, 100))])
    barrier = threading.Barrier(8)
    outcomes: list[str] = []  # list.append is atomic under the GIL

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            try:
                driver.spawn(spec(1, 1024, 10), "h")
                outcomes.append("ok")
            except NoCapacity:
                outcomes.append("full")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    info = host_info(driver, "h")
    assert len(outcomes) == 40
    assert outcomes.count("ok") == 10 == info.instances == len(driver.instances())
    assert info.total.covers(info.used)
    assert info.used == Resources(10, 10240, 100)


def test_from_config_builds_hosts(tmp_path: Path) -> None:
    hosts = [{"name": "h1", "vcpus": 4, "memory_mb": 4096}, {"name": "h2", "vcpus": 2,
             "memory_mb": 1024, "disk_gb": 7, "alive": False}]
    driver = from_config({}, hosts, tmp_path)
    infos = {h.name: h for h in driver.hosts()}
    assert infos["h1"].total == Resources(4, 4096, 0)
    assert (infos["h2"].total, infos["h2"].alive) == (Resources(2, 1024, 7), False)
    driver.spawn(spec(1, 1024, 0), "h1")
    assert (tmp_path / "fake-hypervisor.db").exists()


def test_from_config_rejects_options(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match="takes only state_file, got flavour"):
        from_config({"flavour": 1}, [{"name": "h", "vcpus": 1, "memory_mb": 1}], tmp_path)


def test_a_state_file_elsewhere_is_shared_by_whoever_names_it(tmp_path: Path) -> None:
    hosts = [{"name": "h", "vcpus": 4, "memory_mb": 4096}]
    shared = tmp_path / "shared" / "hypervisor.db"
    shared.parent.mkdir()
    first = from_config({"state_file": str(shared)}, hosts, tmp_path / "a")
    built = first.spawn(spec(1, 1024, 0), "h")
    second = from_config({"state_file": str(shared)}, hosts, tmp_path / "b")  # a standby
    assert [i.uuid for i in second.instances()] == [built.uuid]


@pytest.mark.parametrize(
    ("entry", "missing"),
    [({"vcpus": 1, "memory_mb": 1}, "name"), ({"name": "h", "memory_mb": 1}, "vcpus"),
     ({"name": "h", "vcpus": 1}, "memory_mb")],
    ids=["no-name", "no-vcpus", "no-memory"],
)
def test_from_config_rejects_hosts_missing_keys(
    tmp_path: Path, entry: dict[str, object], missing: str
) -> None:
    with pytest.raises(InvalidSpec, match=f"lacks '{missing}'"):
        from_config({}, [entry], tmp_path)


def test_a_driver_without_hosts_has_none_to_offer() -> None:
    empty = FakeDriver([])  # a leaf of agents only
    assert empty.hosts() == [] and empty.instances() == []
