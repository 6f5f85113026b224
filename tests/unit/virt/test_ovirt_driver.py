"""The oVirt driver through the official SDK, against the stateful fake engine over HTTP."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cellwire.client import boot_spec
from model.compute import Action, BootSpec, InstanceState, Resources
from virt.errors import DriverMisconfigured, IllegalTransition, InstanceNotFound, InvalidSpec

sdk = pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")
from virt.fake_ovirt import FakeEngine  # noqa: E402
from virt.ovirt_driver import OvirtDriver, from_config  # noqa: E402
from virt.ovirt_engine import translated as _translated  # noqa: E402

PASSWORD = "secret"


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine(transition_delay=0.01, hosts=2, host_memory_mb=8192, host_cpus=4) as made:
        yield made


def connect(engine: FakeEngine, password: str = PASSWORD) -> object:
    return sdk.Connection(url=engine.url, username="admin@internal", password=password,
                          insecure=True)


@pytest.fixture
def driver(engine: FakeEngine) -> Iterator[OvirtDriver]:
    made = OvirtDriver(connect(engine), disk_gb=100, settle_timeout=10, adopt_prefix="legacy-")
    yield made
    made.close()


def spec(vcpus: int = 1, memory_mb: int = 1024) -> BootSpec:
    return replace(boot_spec("web", vcpus, memory_mb, 5, project="p"),
                   uuid=str(uuidlib.uuid4()))


def test_the_cluster_is_one_host_with_honest_room(driver: OvirtDriver) -> None:
    [cluster] = driver.hosts()
    assert cluster.name == "Default"
    assert cluster.total == Resources(8, 16384, 100)
    # Two hosts of 8 GB: the biggest VM that fits is one host's worth, not 16 GB.
    assert cluster.largest_free is not None and cluster.largest_free.memory_mb <= 8192


def test_every_supported_action(driver: OvirtDriver) -> None:
    s = spec()
    made = driver.spawn(s, "Default")
    assert (made.uuid, made.state, made.name, made.project) == (
        s.uuid, InstanceState.ACTIVE, "web", "p")
    for action, state in [(Action.SUSPEND, InstanceState.SUSPENDED),
                          (Action.RESUME, InstanceState.ACTIVE),
                          (Action.REBOOT, InstanceState.ACTIVE),
                          (Action.REBOOT_HARD, InstanceState.ACTIVE),
                          (Action.STOP, InstanceState.STOPPED),
                          (Action.START, InstanceState.ACTIVE)]:
        assert driver.act(s.uuid, action).state is state
        assert driver.get(s.uuid).state is state
    assert driver.hosts()[0].used == Resources(1, 1024, 5)
    assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED
    assert driver.act(s.uuid, Action.DELETE).state is InstanceState.DELETED  # a retry
    with pytest.raises(InstanceNotFound):
        driver.get(s.uuid)
    assert driver.instances() == []


@pytest.mark.parametrize("action", [Action.PAUSE, Action.UNPAUSE], ids=str)
def test_pause_is_refused_with_the_reason(driver: OvirtDriver, action: Action) -> None:
    s = spec()
    driver.spawn(s, "Default")
    assert action not in driver.capabilities.actions
    with pytest.raises(IllegalTransition, match="no pause"):
        driver.act(s.uuid, action)
    assert driver.get(s.uuid).state is InstanceState.ACTIVE


def test_illegal_transition_lists_only_what_ovirt_can_do(driver: OvirtDriver) -> None:
    s = spec()
    driver.spawn(s, "Default")
    with pytest.raises(IllegalTransition) as caught:
        driver.act(s.uuid, Action.START)
    assert "while it is ACTIVE" in str(caught.value) and "pause" not in str(caught.value)


def test_spawn_is_idempotent_and_traced(driver: OvirtDriver, engine: FakeEngine) -> None:
    s = spec()
    first = driver.spawn(s, "Default")
    assert driver.spawn(s, "Default").uuid == first.uuid
    assert len(driver.instances()) == 1
    assert any(r.correlation_id == s.request_id for r in engine.requests)


def test_an_expired_token_is_renewed(driver: OvirtDriver, engine: FakeEngine) -> None:
    s = spec()
    driver.spawn(s, "Default")
    engine.expire_tokens()
    assert driver.get(s.uuid).state is InstanceState.ACTIVE


def test_wrong_credentials_are_a_configuration_error(engine: FakeEngine) -> None:
    bad = OvirtDriver(connect(engine, password="nope"))
    with pytest.raises(DriverMisconfigured, match="credentials"):
        bad.hosts()


def test_a_vm_made_on_the_engine_is_adopted_by_prefix(
    driver: OvirtDriver, engine: FakeEngine
) -> None:
    import ovirtsdk4.types as otypes

    vms = connect(engine).system_service().vms_service()  # type: ignore[attr-defined]
    for name in ("legacy-db", "other-app"):
        vms.add(otypes.Vm(name=name, cluster=otypes.Cluster(name="Default"),
                          template=otypes.Template(name="Blank"), memory=512 * 1024 * 1024))
    adopted = {i.name: i for i in driver.instances()}
    assert set(adopted) == {"legacy-db"}
    uuid = adopted["legacy-db"].uuid
    assert uuid == engine.vm_id("legacy-db")
    assert driver.act(uuid, Action.START).state is InstanceState.ACTIVE


def add_vm(engine: FakeEngine, name: str, tags: tuple[str, ...] = ()) -> str:
    """Make a VM on the engine as its administrator would, tagged with `tags`; its id."""
    import ovirtsdk4.types as otypes

    system = connect(engine).system_service()  # type: ignore[attr-defined]
    known = {t.name for t in system.tags_service().list()}
    for tag in set(tags) - known:
        system.tags_service().add(otypes.Tag(name=tag))
    vms = system.vms_service()
    vm = vms.add(otypes.Vm(name=name, cluster=otypes.Cluster(name="Default"),
                           template=otypes.Template(name="Blank"), memory=512 * 1024 * 1024))
    for tag in tags:
        vms.vm_service(vm.id).tags_service().add(otypes.Tag(name=tag))
    return str(vm.id)


@pytest.mark.parametrize(("prefix", "tag", "expected"), [
    ("legacy-", None, {"legacy-db"}),
    (None, "adopt", {"tagged-app"}),
    ("legacy-", "adopt", {"legacy-db", "tagged-app"}),
    (None, None, set()),
], ids=["prefix", "tag", "either", "neither"])
def test_adoption_by_prefix_and_by_tag(engine: FakeEngine, prefix: str | None,
                                       tag: str | None, expected: set[str]) -> None:
    add_vm(engine, "legacy-db")
    add_vm(engine, "tagged-app", tags=("adopt",))
    add_vm(engine, "other-app", tags=("unrelated",))
    driver = OvirtDriver(connect(engine), adopt_prefix=prefix, adopt_tag=tag)
    assert {i.name for i in driver.instances()} == expected
    driver.close()


def test_a_vm_tagged_on_the_engine_is_found_and_acted_on(engine: FakeEngine) -> None:
    tagged, plain = add_vm(engine, "tagged-app", tags=("adopt",)), add_vm(engine, "plain-app")
    # A driver that has listed nothing yet: the VM is found by its tag alone.
    driver = OvirtDriver(connect(engine), settle_timeout=10, adopt_tag="adopt")
    assert driver.get(tagged).name == "tagged-app"
    with pytest.raises(InstanceNotFound):
        driver.get(plain)
    assert driver.act(tagged, Action.START).state is InstanceState.ACTIVE
    assert engine.vm_status(tagged) == "up"
    assert driver.act(tagged, Action.DELETE).state is InstanceState.DELETED
    assert driver.instances() == []
    driver.close()


def test_listing_costs_two_engine_calls_however_many_vms(engine: FakeEngine) -> None:
    driver = OvirtDriver(connect(engine), adopt_tag="adopt")

    def calls_to_list(count: int) -> int:
        before = len(engine.requests)
        assert len(driver.instances()) == count
        seen = [r for r in engine.requests[before:] if "/sso/" not in r.path]  # not logins
        assert not [r for r in seen if "/tags" in r.path]  # no VM's own tags are read
        return len(seen)

    add_vm(engine, "tagged-0", tags=("adopt",))
    one = calls_to_list(1)
    for n in range(1, 6):
        add_vm(engine, f"tagged-{n}", tags=("adopt",))
    assert (one, calls_to_list(6)) == (2, 2)
    driver.close()


@pytest.mark.parametrize(
    ("code", "error"),
    [(409, IllegalTransition), (400, InvalidSpec), (403, DriverMisconfigured),
     (404, InstanceNotFound)],
    ids=["409", "400", "403", "404"],
)
def test_sdk_errors_are_translated(code: int, error: type[Exception]) -> None:
    raised = sdk.NotFoundError("gone") if code == 404 else sdk.Error("refused", code=code)
    with pytest.raises(error), _translated():
        raise raised


def test_config_reads_the_password_from_a_file_never_the_config(
    engine: FakeEngine, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    made = from_config({"url": engine.url, "username": "admin@internal",
                        "password_file": str(secret), "insecure": True}, [], tmp_path)
    assert made.hosts()[0].name == "Default"
    add_vm(engine, "tagged-app", tags=("adopt",))
    tagged = from_config({"url": engine.url, "username": "admin@internal",
                          "password_file": str(secret), "adopt_tag": "adopt"}, [], tmp_path)
    assert [i.name for i in tagged.instances()] == ["tagged-app"]
    with pytest.raises(InvalidSpec, match="password_file or password_env"):
        from_config({"url": engine.url, "username": "u", "password": "x"}, [], tmp_path)
    with pytest.raises(InvalidSpec, match="lists no hosts"):
        from_config({"url": engine.url, "username": "u", "password_file": str(secret)},
                    [{"name": "h"}], tmp_path)


def test_a_real_409_from_the_engine_is_a_refusal_with_its_detail(
    driver: OvirtDriver, engine: FakeEngine
) -> None:
    import ovirtsdk4.types as otypes

    s = spec()
    # Someone already made a VM with the name the driver will use.
    connect(engine).system_service().vms_service().add(  # type: ignore[attr-defined]
        otypes.Vm(name=f"web-{s.uuid[:8]}", cluster=otypes.Cluster(name="Default"),
                  template=otypes.Template(name="Blank"), memory=256 * 1024 * 1024))
    with pytest.raises(IllegalTransition, match="oVirt refused"):
        driver.spawn(s, "Default")
    assert all(i.uuid != s.uuid for i in driver.instances())
