"""The oVirt driver plugs a boot's ports as vNICs, through the official SDK against the
stateful fake engine over HTTP: profiles by network name, MACs as given, and a refused
boot that leaves nothing behind."""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from cellwire.client import boot_spec
from model.compute import Action, BootSpec, InstanceState, Port, Resources
from virt.errors import IllegalTransition, InstanceNotFound, InvalidSpec

sdk = pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")
from virt.fake_ovirt import FakeEngine  # noqa: E402
from virt.ovirt_driver import OvirtDriver  # noqa: E402

MAC = "00:1a:4a:16:01:51"
OTHER_MAC = "00:1a:4a:16:01:52"
POOL_MAC = re.compile(r"56:6f(:[0-9a-f]{2}){4}")  # the fake engine's MAC pool


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine(transition_delay=0.01, hosts=1, host_memory_mb=8192, host_cpus=4,
                    networks=("ovirtmgmt", "lan")) as made:
        yield made


def connect(engine: FakeEngine) -> Any:
    return sdk.Connection(url=engine.url, username="admin@internal", password="secret",
                          insecure=True)


def make_driver(engine: FakeEngine, template: str = "Blank") -> OvirtDriver:
    return OvirtDriver(connect(engine), template=template, disk_gb=100, settle_timeout=10)


@pytest.fixture
def driver(engine: FakeEngine) -> Iterator[OvirtDriver]:
    made = make_driver(engine)
    yield made
    made.close()


def spec(*ports: Port) -> BootSpec:
    return replace(boot_spec("web", 1, 512, 5, ports=ports), uuid=str(uuidlib.uuid4()))


def nics(engine: FakeEngine, vm_id: str) -> list[Any]:
    connection = connect(engine)
    try:
        return list(connection.system_service().vms_service().vm_service(vm_id)
                    .nics_service().list())
    finally:
        connection.close()


def vm_ids(engine: FakeEngine) -> list[str]:
    return [vm.id for vm in engine.state.vms()]


def test_ports_become_nics_with_their_macs_and_profiles(driver: OvirtDriver,
                                                        engine: FakeEngine) -> None:
    s = spec(Port("lan", MAC, "10.0.0.5"), Port("ovirtmgmt", ""))
    made = driver.spawn(s, "Default")
    [vm_id] = vm_ids(engine)
    first, second = engine.vm_macs(vm_id)
    assert first == MAC and POOL_MAC.fullmatch(second)  # no MAC given: the engine's pool
    assert [(n.name, n.interface, n.vnic_profile.id) for n in nics(engine, vm_id)] == [
        ("nic1", sdk.types.NicInterface.VIRTIO, engine.profile_id("lan")),
        ("nic2", sdk.types.NicInterface.VIRTIO, engine.profile_id("ovirtmgmt"))]
    # The IP is not the NIC's to hold: the instance still reports the ports as asked.
    assert made.state is InstanceState.ACTIVE and driver.get(s.uuid).ports == s.ports
    posts = [r.path.rsplit("/", 1)[-1] for r in engine.requests
             if r.method == "POST" and vm_id in r.path]
    assert posts == ["nics", "nics", "start"]  # plugged before the VM starts


def test_ports_are_plugged_once_a_templates_disks_are_copied(engine: FakeEngine) -> None:
    driver = make_driver(engine, template="centos-9")  # its VMs start image_locked
    s = spec(Port("lan", MAC))
    assert driver.spawn(s, "Default").state is InstanceState.ACTIVE
    [vm_id] = vm_ids(engine)
    assert engine.vm_macs(vm_id) == (MAC,)
    assert "image_locked" in engine.vm_history(vm_id)
    driver.close()


def test_a_boot_without_ports_asks_for_no_network(driver: OvirtDriver,
                                                  engine: FakeEngine) -> None:
    driver.spawn(spec(), "Default")
    [vm_id] = vm_ids(engine)
    assert engine.vm_macs(vm_id) == ()
    assert not [r for r in engine.requests
                if r.path.endswith(("/networks", "/vnicprofiles", "/nics"))]


@pytest.mark.parametrize("ports", [
    (Port("nowhere", MAC),),
    (Port("lan", MAC), Port("nowhere", OTHER_MAC)),
    (Port("l*", MAC),),  # the engine's search would match "lan": the name must be exact
], ids=["only-port", "second-port", "wildcard"])
def test_an_unknown_network_is_refused_and_nothing_is_made(
    driver: OvirtDriver, engine: FakeEngine, ports: tuple[Port, ...]
) -> None:
    s = spec(*ports)
    unknown = ports[-1].network
    with pytest.raises(InvalidSpec, match=re.escape(repr(unknown))):
        driver.spawn(s, "Default")
    assert vm_ids(engine) == []
    assert driver.instances() == [] and driver.hosts()[0].used == Resources(0, 0, 0)
    with pytest.raises(InstanceNotFound):
        driver.get(s.uuid)


def test_a_mac_in_use_is_refused_and_the_half_built_vm_removed(driver: OvirtDriver,
                                                               engine: FakeEngine) -> None:
    holder = spec(Port("lan", MAC))
    driver.spawn(holder, "Default")
    [holder_id] = vm_ids(engine)
    # The first port is plugged, then the second is refused: both go with the VM.
    clash = spec(Port("lan", OTHER_MAC), Port("ovirtmgmt", MAC.upper()))
    with pytest.raises(IllegalTransition, match=f"MAC Address {MAC} is already in use"):
        driver.spawn(clash, "Default")
    assert vm_ids(engine) == [holder_id] and engine.vm_macs(holder_id) == (MAC,)
    assert [i.uuid for i in driver.instances()] == [holder.uuid]
    with pytest.raises(InstanceNotFound):
        driver.get(clash.uuid)
    # Nothing was left holding OTHER_MAC, and once MAC is free the same boot succeeds.
    driver.act(holder.uuid, Action.DELETE)
    assert driver.spawn(clash, "Default").state is InstanceState.ACTIVE
    [clash_id] = vm_ids(engine)
    assert engine.vm_macs(clash_id) == (OTHER_MAC, MAC)


def test_a_retried_boot_plugs_no_nic_twice(driver: OvirtDriver, engine: FakeEngine) -> None:
    s = spec(Port("lan", MAC), Port("lan", ""))
    first = driver.spawn(s, "Default")
    [vm_id] = vm_ids(engine)
    macs = engine.vm_macs(vm_id)
    assert driver.spawn(s, "Default").uuid == first.uuid
    restarted = make_driver(engine)  # knows nothing of the VM but what the engine says
    assert restarted.spawn(s, "Default").uuid == first.uuid
    restarted.close()
    assert vm_ids(engine) == [vm_id] and engine.vm_macs(vm_id) == macs and len(macs) == 2
    assert len([r for r in engine.requests if r.method == "POST"
                and r.path.endswith("/nics")]) == 2
