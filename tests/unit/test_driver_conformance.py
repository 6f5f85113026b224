"""One contract, every driver: the same tests run against the fake driver and
against libvirt-python on libvirt's own test driver (no daemon, no mocks)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from cells.client import boot_spec
from virt.driver import VirtDriver
from virt.errors import IllegalTransition, InstanceNotFound, InvalidSpec, NoCapacity
from virt.model import Action, BootSpec, InstanceState, Port, Resources
from virt.states import TRANSITIONS

# Two hosts of different sizes, the same for every driver.
HOSTS = [
    {"name": "small", "vcpus": 4, "memory_mb": 4096, "disk_gb": 40},
    {"name": "large", "vcpus": 16, "memory_mb": 32768, "disk_gb": 400},
]


def _fake(state_dir: Path) -> VirtDriver:
    from virt.fake import from_config

    return from_config({}, HOSTS, state_dir)


def _libvirt(state_dir: Path) -> VirtDriver:
    libvirt_driver = pytest.importorskip("virt.libvirt_driver",
                                         reason="libvirt-python is not installed")
    return libvirt_driver.from_config({}, HOSTS, state_dir)


DRIVERS: dict[str, Callable[[Path], VirtDriver]] = {"fake": _fake, "libvirt": _libvirt}


@pytest.fixture(params=sorted(DRIVERS), ids=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VirtDriver]:
    made = DRIVERS[request.param](tmp_path)
    yield made
    made.close()


def spec(vcpus: int = 1, memory_mb: int = 512, disk_gb: int = 4, **kw: object) -> BootSpec:
    return replace(boot_spec("vm", vcpus, memory_mb, disk_gb, **kw),  # type: ignore[arg-type]
                   uuid=str(uuidlib.uuid4()))


def used(driver: VirtDriver, host: str) -> Resources:
    return next(h.used for h in driver.hosts() if h.name == host)


class TestDriverConformance:
    def test_hosts_report_their_sizes(self, driver: VirtDriver) -> None:
        sizes = {h.name: h.total for h in driver.hosts()}
        assert sizes == {"small": Resources(4, 4096, 40), "large": Resources(16, 32768, 400)}

    def test_spawn_builds_an_active_instance_with_what_was_asked(
        self, driver: VirtDriver
    ) -> None:
        s = spec(2, 1024, 10, project="p", ports=[Port("br0", "52:54:00:00:00:09", "10.0.0.9")])
        made = driver.spawn(s, "large")
        assert (made.uuid, made.state, made.host) == (s.uuid, InstanceState.ACTIVE, "large")
        got = driver.get(s.uuid)
        assert (got.name, got.flavor, got.project, got.request_id, got.ports) == (
            "vm", Resources(2, 1024, 10), "p", s.request_id, s.ports)
        assert [i.uuid for i in driver.instances()] == [s.uuid]

    def test_spawn_is_idempotent_on_uuid(self, driver: VirtDriver) -> None:
        s = spec()
        first = driver.spawn(s, "small")
        assert driver.spawn(s, "small").uuid == first.uuid
        assert len(driver.instances()) == 1

    @pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS, key=str),
                             ids=[f"{s.value}-{a.value}" for s, a in sorted(TRANSITIONS, key=str)])
    def test_every_legal_transition(
        self, driver: VirtDriver, state: InstanceState, action: Action
    ) -> None:
        s = spec()
        driver.spawn(s, "small")
        _bring_to(driver, s.uuid, state)
        assert driver.act(s.uuid, action).state is TRANSITIONS[(state, action)]
        assert driver.get(s.uuid).state is TRANSITIONS[(state, action)]

    @pytest.mark.parametrize(
        ("state", "action"),
        [(InstanceState.ACTIVE, Action.UNPAUSE), (InstanceState.ACTIVE, Action.RESUME),
         (InstanceState.ACTIVE, Action.START), (InstanceState.PAUSED, Action.PAUSE),
         (InstanceState.PAUSED, Action.STOP), (InstanceState.SUSPENDED, Action.PAUSE),
         (InstanceState.STOPPED, Action.REBOOT), (InstanceState.STOPPED, Action.UNPAUSE)],
        ids=lambda v: v.value,
    )
    def test_illegal_transition_changes_nothing(
        self, driver: VirtDriver, state: InstanceState, action: Action
    ) -> None:
        s = spec()
        driver.spawn(s, "small")
        _bring_to(driver, s.uuid, state)
        with pytest.raises(IllegalTransition, match=f"while it is {state.value}"):
            driver.act(s.uuid, action)
        assert driver.get(s.uuid).state is state

    @pytest.mark.parametrize("state", [InstanceState.ACTIVE, InstanceState.PAUSED,
                                       InstanceState.SUSPENDED, InstanceState.STOPPED],
                             ids=lambda v: v.value)
    def test_delete_from_any_state_frees_the_host_and_repeats_safely(
        self, driver: VirtDriver, state: InstanceState
    ) -> None:
        s = spec(2, 1024, 10)
        driver.spawn(s, "small")
        _bring_to(driver, s.uuid, state)
        assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED
        assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED  # a retry
        assert driver.instances() == []
        assert used(driver, "small") == Resources()
        with pytest.raises(InstanceNotFound):
            driver.get(s.uuid)

    def test_capacity_after_boots(self, driver: VirtDriver) -> None:
        for _ in range(3):
            driver.spawn(spec(1, 1024, 10), "small")
        assert used(driver, "small") == Resources(3, 3072, 30)
        assert used(driver, "large") == Resources()
        with pytest.raises(NoCapacity):
            driver.spawn(spec(2, 512, 1), "small")  # 1 vCPU left
        assert len(driver.instances()) == 3

    def test_concurrent_claims_never_overcommit(self, driver: VirtDriver) -> None:
        def claim(_: int) -> bool:
            try:
                driver.spawn(spec(1, 256, 1), "small")
                return True
            except NoCapacity:
                return False

        with ThreadPoolExecutor(8) as pool:
            won = sum(pool.map(claim, range(12)))
        assert won == 4
        assert used(driver, "small").vcpus == 4

    @pytest.mark.parametrize("call", ["get", "act", "delete"], ids=str)
    def test_unknown_uuid(self, driver: VirtDriver, call: str) -> None:
        unknown = str(uuidlib.uuid4())
        with pytest.raises(InstanceNotFound):
            if call == "get":
                driver.get(unknown)
            else:
                driver.act(unknown, Action.PAUSE if call == "act" else Action.DELETE)

    def test_unknown_host_is_invalid(self, driver: VirtDriver) -> None:
        with pytest.raises(InvalidSpec):
            driver.spawn(spec(), "nowhere")


def _bring_to(driver: VirtDriver, uuid: str, state: InstanceState) -> None:
    route = {
        InstanceState.ACTIVE: [],
        InstanceState.PAUSED: [Action.PAUSE],
        InstanceState.SUSPENDED: [Action.SUSPEND],
        InstanceState.STOPPED: [Action.STOP],
    }[state]
    for action in route:
        driver.act(uuid, action)
    assert driver.get(uuid).state is state
