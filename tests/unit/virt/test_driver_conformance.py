"""One contract, every driver: the same tests run against the fake driver,
against libvirt-python on libvirt's own test driver (no daemon, no mocks), and
against the oVirt SDK talking HTTP to the fake oVirt engine.

oVirt has no pause: wherever a test needs one, the refusal is asserted instead.
Shelving is an ability of its own (virt.driver.Shelver): a driver that has it
takes the shelving transitions through it; one that lacks it (libvirt, oVirt)
leaves them out of its capabilities and refuses them in `act`.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from cellwire.client import boot_spec
from model.compute import Action, BootSpec, Instance, InstanceState, Port, Resources
from model.states import SHELVING, TRANSITIONS
from virt.driver import Shelver, VirtDriver
from virt.errors import IllegalTransition, InstanceNotFound, InvalidSpec, NoCapacity

# Two hosts of different sizes, the same for every driver.
HOSTS = [
    {"name": "small", "vcpus": 4, "memory_mb": 4096, "disk_gb": 40},
    {"name": "large", "vcpus": 16, "memory_mb": 32768, "disk_gb": 400},
]


@dataclass
class Subject:
    """A driver under test and what its hosts look like."""

    driver: VirtDriver
    sizes: dict[str, Resources]
    roomy: str  # a host with room for anything the tests ask
    tight: str  # a host with exactly 4 vCPUs and 4096 MB
    close: Callable[[], None]

    def can(self, action: Action) -> bool:
        return action in self.driver.capabilities.actions


SIZES = {"small": Resources(4, 4096, 40), "large": Resources(16, 32768, 400)}


def _fake(state_dir: Path) -> Subject:
    from virt.fake import from_config

    made = from_config({}, HOSTS, state_dir)
    return Subject(made, SIZES, "large", "small", made.close)


def _libvirt(state_dir: Path) -> Subject:
    libvirt_driver = pytest.importorskip("virt.libvirt_driver",
                                         reason="libvirt-python is not installed")
    made = libvirt_driver.from_config({}, HOSTS, state_dir)
    return Subject(made, SIZES, "large", "small", made.close)


def _ovirt(state_dir: Path) -> Subject:
    sdk = pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")
    from virt.fake_ovirt import FakeEngine
    from virt.ovirt_driver import OvirtDriver

    # One engine host of 4 vCPUs and 4096 MB: the cluster the leaf sees. Ports are
    # plugged into the engine's networks, so it has the one the tests' ports name.
    engine = FakeEngine(hosts=1, host_cpus=4, host_memory_mb=4096, transition_delay=0.005,
                        networks=("ovirtmgmt", "br0")).start()
    connection = sdk.Connection(url=engine.url, username="admin@internal",
                                password="secret", insecure=True)
    made = OvirtDriver(connection, disk_gb=40, settle_timeout=10)

    def close() -> None:
        made.close()
        engine.stop()

    return Subject(made, {"Default": Resources(4, 4096, 40)}, "Default", "Default", close)


DRIVERS: dict[str, Callable[[Path], Subject]] = {
    "fake": _fake, "libvirt": _libvirt, "ovirt": _ovirt,
}


@pytest.fixture(params=sorted(DRIVERS), ids=sorted(DRIVERS))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    made = DRIVERS[request.param](tmp_path)
    yield made
    made.close()


def spec(vcpus: int = 1, memory_mb: int = 512, disk_gb: int = 4, **kw: object) -> BootSpec:
    return replace(boot_spec("vm", vcpus, memory_mb, disk_gb, **kw),  # type: ignore[arg-type]
                   uuid=str(uuidlib.uuid4()))


def used(driver: VirtDriver, host: str) -> Resources:
    return next(h.used for h in driver.hosts() if h.name == host)


class TestDriverConformance:
    def test_hosts_report_their_sizes(self, subject: Subject) -> None:
        assert {h.name: h.total for h in subject.driver.hosts()} == subject.sizes

    def test_spawn_builds_an_active_instance_with_what_was_asked(self, subject: Subject) -> None:
        driver = subject.driver
        s = spec(2, 1024, 10, project="p", ports=[Port("br0", "52:54:00:00:00:09", "10.0.0.9")])
        made = driver.spawn(s, subject.roomy)
        assert (made.uuid, made.state, made.host) == (s.uuid, InstanceState.ACTIVE, subject.roomy)
        got = driver.get(s.uuid)
        assert (got.name, got.flavor, got.project, got.request_id, got.ports) == (
            "vm", Resources(2, 1024, 10), "p", s.request_id, s.ports)
        assert [i.uuid for i in driver.instances()] == [s.uuid]

    def test_spawn_is_idempotent_on_uuid(self, subject: Subject) -> None:
        s = spec()
        first = subject.driver.spawn(s, subject.tight)
        assert subject.driver.spawn(s, subject.tight).uuid == first.uuid
        assert len(subject.driver.instances()) == 1

    @pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS, key=str),
                             ids=[f"{s.value}-{a.value}" for s, a in sorted(TRANSITIONS, key=str)])
    def test_every_legal_transition(
        self, subject: Subject, state: InstanceState, action: Action
    ) -> None:
        driver = subject.driver
        s = spec()
        driver.spawn(s, subject.tight)
        if not _reachable(subject, s.uuid, state, action):
            return  # the refusal was asserted instead
        assert _act(driver, s.uuid, action, subject.tight).state is TRANSITIONS[(state, action)]
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
        self, subject: Subject, state: InstanceState, action: Action
    ) -> None:
        driver = subject.driver
        s = spec()
        driver.spawn(s, subject.tight)
        if not _reachable(subject, s.uuid, state, None):
            return
        with pytest.raises(IllegalTransition):
            driver.act(s.uuid, action)
        assert driver.get(s.uuid).state is state

    @pytest.mark.parametrize("state", [InstanceState.ACTIVE, InstanceState.PAUSED,
                                       InstanceState.SUSPENDED, InstanceState.STOPPED],
                             ids=lambda v: v.value)
    def test_delete_from_any_state_frees_the_host_and_repeats_safely(
        self, subject: Subject, state: InstanceState
    ) -> None:
        driver = subject.driver
        s = spec(2, 1024, 10)
        driver.spawn(s, subject.tight)
        if not _reachable(subject, s.uuid, state, None):
            return
        assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED
        assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED  # a retry
        assert driver.instances() == []
        assert used(driver, subject.tight) == Resources()
        with pytest.raises(InstanceNotFound):
            driver.get(s.uuid)

    def test_a_uuid_booted_again_after_its_delete_is_deleted(self, subject: Subject) -> None:
        driver = subject.driver
        s = spec()
        driver.spawn(s, subject.tight)
        driver.act(s.uuid, Action.DELETE)
        driver.spawn(s, subject.tight)  # a client chose the same uuid again
        assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED
        assert driver.instances() == []

    def test_capacity_after_boots(self, subject: Subject) -> None:
        driver = subject.driver
        for _ in range(3):
            driver.spawn(spec(1, 1024, 10), subject.tight)
        assert used(driver, subject.tight) == Resources(3, 3072, 30)
        with pytest.raises(NoCapacity):
            driver.spawn(spec(2, 512, 1), subject.tight)  # 1 vCPU left
        assert len(driver.instances()) == 3

    def test_concurrent_claims_never_overcommit(self, subject: Subject) -> None:
        def claim(_: int) -> bool:
            try:
                subject.driver.spawn(spec(1, 256, 1), subject.tight)
                return True
            except NoCapacity:
                return False

        with ThreadPoolExecutor(8) as pool:
            won = sum(pool.map(claim, range(12)))
        assert won == 4
        assert used(subject.driver, subject.tight).vcpus == 4

    @pytest.mark.parametrize("call", ["get", "act", "delete"], ids=str)
    def test_unknown_uuid(self, subject: Subject, call: str) -> None:
        unknown = str(uuidlib.uuid4())
        with pytest.raises(InstanceNotFound):
            if call == "get":
                subject.driver.get(unknown)
            else:
                subject.driver.act(unknown, Action.STOP if call == "act" else Action.DELETE)

    def test_unknown_host_is_invalid(self, subject: Subject) -> None:
        with pytest.raises(InvalidSpec):
            subject.driver.spawn(spec(), "nowhere")

    def test_what_a_driver_cannot_do_is_refused_and_changes_nothing(
        self, subject: Subject
    ) -> None:
        missing = set(Action) - set(subject.driver.capabilities.actions)
        s = spec()
        subject.driver.spawn(s, subject.tight)
        for action in sorted(missing, key=lambda a: a.value):
            with pytest.raises(IllegalTransition):
                subject.driver.act(s.uuid, action)
            assert subject.driver.get(s.uuid).state is InstanceState.ACTIVE
        # Only pause and shelving may be missing: every driver does everything else.
        assert missing <= {Action.PAUSE, Action.UNPAUSE, *SHELVING}
        assert (missing >= SHELVING) is not isinstance(subject.driver, Shelver)


def _reachable(subject: Subject, uuid: str, state: InstanceState, action: Action | None) -> bool:
    """Bring the instance to `state` and say whether `action` can be tried there.

    When either needs a pause the driver cannot do, assert that the driver
    refuses it, and answer False.
    """
    needs_pause = state is InstanceState.PAUSED or action in (Action.PAUSE, Action.UNPAUSE)
    if needs_pause and not subject.can(Action.PAUSE):
        with pytest.raises(IllegalTransition, match="pause"):
            subject.driver.act(uuid, Action.PAUSE)
        assert subject.driver.get(uuid).state is InstanceState.ACTIVE
        return False
    needs_shelve = state in _SHELVED or action in SHELVING
    if needs_shelve and not subject.can(Action.SHELVE):
        with pytest.raises(IllegalTransition, match="shelve"):
            subject.driver.act(uuid, Action.SHELVE)
        assert subject.driver.get(uuid).state is InstanceState.ACTIVE
        return False
    _bring_to(subject.driver, uuid, state)
    return True


def _bring_to(driver: VirtDriver, uuid: str, state: InstanceState) -> None:
    route = {
        InstanceState.ACTIVE: [],
        InstanceState.PAUSED: [Action.PAUSE],
        InstanceState.SUSPENDED: [Action.SUSPEND],
        InstanceState.STOPPED: [Action.STOP],
        InstanceState.SHELVED: [Action.SHELVE],
        InstanceState.SHELVED_OFFLOADED: [Action.SHELVE, Action.SHELVE_OFFLOAD],
    }[state]
    for action in route:
        _act(driver, uuid, action, "")
    assert driver.get(uuid).state is state


_SHELVED = (InstanceState.SHELVED, InstanceState.SHELVED_OFFLOADED)


def _act(driver: VirtDriver, uuid: str, action: Action, host: str) -> Instance:
    """`action` as a leaf applies it: shelving through the Shelver ability (an
    offloaded instance unshelved onto `host`), the rest through `act`."""
    if action not in SHELVING:
        return driver.act(uuid, action)
    assert isinstance(driver, Shelver)
    if action is Action.SHELVE:
        return driver.shelve(uuid)
    if action is Action.SHELVE_OFFLOAD:
        return driver.offload(uuid)
    offloaded = driver.get(uuid).state is InstanceState.SHELVED_OFFLOADED
    return driver.unshelve(uuid, host if offloaded else "")
