"""Tags, networks, vNIC profiles and VM NICs of virt.fake_ovirt, through the real oVirt SDK."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sdk = pytest.importorskip("ovirtsdk4")
types = sdk.types

from virt.fake_ovirt import API, ROOT_TAG_ID, FakeEngine  # noqa: E402

PASSWORD = "s3cret"
ROOT = Path(__file__).resolve().parents[3]
POOL_MAC = re.compile(r"56:6f(:[0-9a-f]{2}){4}")


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine(hosts=1, password=PASSWORD, transition_delay=0.05,
                    networks=("ovirtmgmt", "lan")) as eng:
        yield eng


@pytest.fixture
def conn(engine: FakeEngine) -> Iterator[Any]:
    connection = connect(engine.url)
    yield connection
    connection.close()


def connect(url: str) -> Any:
    return sdk.Connection(url=url, username="admin@internal", password=PASSWORD, timeout=10)


def add_vm(conn: Any, name: str) -> Any:
    """The service of a new VM called ``name``."""
    vms = conn.system_service().vms_service()
    vm = vms.add(types.Vm(name=name, cluster=types.Cluster(name="Default"),
                          template=types.Template(name="Blank")))
    return vms.vm_service(vm.id)


def add_tags(conn: Any, *names: str) -> dict[str, str]:
    """Add the tags; their ids by name."""
    tags = conn.system_service().tags_service()
    return {name: tags.add(types.Tag(name=name)).id for name in names}


def profile_id(conn: Any, network: str) -> str:
    """The vNIC profile of a network, found the way a client does: networks, then profiles."""
    system = conn.system_service()
    net = system.networks_service().list(search=f"name={network}")[0]
    return next(p.id for p in system.vnic_profiles_service().list() if p.network.id == net.id)


def nic(name: str, profile: str | None = None, mac: str | None = None,
        interface: Any = None) -> Any:
    return types.Nic(name=name, interface=interface, mac=types.Mac(address=mac) if mac else None,
                     vnic_profile=types.VnicProfile(id=profile) if profile else None)


def refused(call: Callable[[], Any]) -> Any:
    """The ``ovirtsdk4.Error`` that ``call`` raises."""
    with pytest.raises(sdk.Error) as info:
        call()
    return info.value


def raw_post(engine: FakeEngine, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    base = engine.url[: -len(API)]
    form = urllib.parse.urlencode({"grant_type": "password", "scope": "ovirt-app-api",
                                   "username": "admin@internal", "password": PASSWORD})
    with urllib.request.urlopen(f"{base}/ovirt-engine/sso/oauth/token", form.encode()) as rsp:
        token = json.load(rsp)["access_token"]
    request = urllib.request.Request(engine.url + path, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/xml"})
    try:
        with urllib.request.urlopen(request) as rsp:
            return rsp.status, dict(rsp.headers), rsp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


# --- tags ---

def test_tags_hang_from_root_and_have_unique_names(conn: Any) -> None:
    tags = conn.system_service().tags_service()
    assert [(t.id, t.name) for t in tags.list()] == [(ROOT_TAG_ID, "root")]
    web = tags.add(types.Tag(name="web", description="front ends"))
    assert (web.name, web.description, web.parent.id) == ("web", "front ends", ROOT_TAG_ID)
    assert [t.name for t in tags.list()] == ["root", "web"]
    assert tags.tag_service(web.id).get().name == "web"
    duplicate = refused(lambda: tags.add(types.Tag(name="web")))
    assert (duplicate.code, duplicate.fault.detail) == (
        409, "[The specified Tag name already exists.]")
    nameless = refused(lambda: tags.add(types.Tag(description="no name")))
    assert (nameless.code, nameless.fault.reason) == (400, "Incomplete parameters")


def test_assign_list_and_unassign_tags(engine: FakeEngine, conn: Any) -> None:
    ids = add_tags(conn, "web", "db")
    vm = add_vm(conn, "a")
    assigned = vm.tags_service().add(types.Tag(name="web"))
    assert (assigned.id, assigned.vm.id) == (ids["web"], engine.vm_id("a"))
    vm.tags_service().add(types.Tag(id=ids["db"]))
    vm.tags_service().add(types.Tag(name="web"))  # a second time: no error, no duplicate
    assert [(t.name, t.vm.id) for t in vm.tags_service().list()] == [
        ("web", engine.vm_id("a")), ("db", engine.vm_id("a"))]
    assert vm.tags_service().tag_service(ids["db"]).get().name == "db"

    vm.tags_service().tag_service(ids["web"]).remove()
    assert engine.vm_tags(engine.vm_id("a")) == ("db",)
    with pytest.raises(sdk.NotFoundError):
        vm.tags_service().tag_service(ids["web"]).remove()
    assert [t.name for t in conn.system_service().tags_service().list()] == [
        "root", "web", "db"]  # unassigning leaves the tag itself


def test_assigning_an_unknown_tag_is_404_and_creates_nothing(conn: Any) -> None:
    vm = add_vm(conn, "a")
    error = refused(lambda: vm.tags_service().add(types.Tag(name="nope")))
    assert isinstance(error, sdk.NotFoundError)
    assert (error.code, error.fault.detail) == (404, "Entity not found: nope")
    assert isinstance(refused(lambda: vm.tags_service().add(types.Tag(id="no-such-id"))),
                      sdk.NotFoundError)
    assert vm.tags_service().list() == []
    assert [t.name for t in conn.system_service().tags_service().list()] == ["root"]


@pytest.mark.parametrize(("search", "expected"), [
    ("tag=web", ["a", "b"]),
    ("tag=WEB", ["a", "b"]),
    ("tag=w*", ["a", "b"]),
    ("tag=db", ["b"]),
    ("tag!=web", ["c"]),
    ("tag=web and status=up", ["b"]),
    ("name=a and tag=web", ["a"]),
    ("tag=web and tag=db", ["b"]),
    ("tag=web and cluster=Default sortby name desc", ["b", "a"]),
    ("tag=nothing", []),
], ids=["one", "case", "wildcard", "second-tag", "negated", "with-status", "with-name",
        "both-tags", "with-cluster-sorted", "unknown-tag"])
def test_search_by_tag(engine: FakeEngine, conn: Any, search: str,
                       expected: list[str]) -> None:
    add_tags(conn, "web", "db")
    for name, tags in (("a", ["web"]), ("b", ["web", "db"]), ("c", [])):
        vm = add_vm(conn, name)
        for tag in tags:
            vm.tags_service().add(types.Tag(name=tag))
    engine.set_vm_status(engine.vm_id("b"), "up")
    found = conn.system_service().vms_service().list(search=search)
    assert sorted(v.name for v in found) == sorted(expected)
    if "sortby" in search:
        assert [v.name for v in found] == expected


def test_tags_cannot_sort_a_search(conn: Any) -> None:
    error = refused(lambda: conn.system_service().vms_service().list(search="name=* sortby tag"))
    assert (error.code, error.fault.detail) == (400, "[Cannot search VMs. Cannot sort by 'tag'.]")


# --- networks and vNIC profiles ---

def test_networks_and_profiles_as_configured(conn: Any) -> None:
    system = conn.system_service()
    networks = system.networks_service().list()
    assert [(n.name, n.usages) for n in networks] == [
        ("ovirtmgmt", [types.NetworkUsage.VM]), ("lan", [types.NetworkUsage.VM])]
    assert [n.name for n in system.networks_service().list(search="name=l*")] == ["lan"]
    profiles = system.vnic_profiles_service().list()
    assert [(p.name, conn.follow_link(p.network).name) for p in profiles] == [
        ("ovirtmgmt", "ovirtmgmt"), ("lan", "lan")]
    lan = system.vnic_profiles_service().profile_service(profile_id(conn, "lan")).get()
    assert (lan.name, lan.pass_through.mode) == ("lan", types.VnicPassThroughMode.DISABLED)


def test_the_default_engine_has_ovirtmgmt_only() -> None:
    with FakeEngine(password=PASSWORD) as engine:
        connection = connect(engine.url)
        system = connection.system_service()
        assert [n.name for n in system.networks_service().list()] == ["ovirtmgmt"]
        assert [p.name for p in system.vnic_profiles_service().list()] == ["ovirtmgmt"]
        assert engine.profile_id("ovirtmgmt") == profile_id(connection, "ovirtmgmt")
        connection.close()


# --- NICs ---

def test_nic_keeps_the_mac_it_is_given(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "a")
    lan = profile_id(conn, "lan")
    added = vm.nics_service().add(nic("nic1", lan, "00:1A:4A:16:01:51", types.NicInterface.E1000))
    assert (added.name, added.mac.address, added.interface, added.vnic_profile.id) == (
        "nic1", "00:1a:4a:16:01:51", types.NicInterface.E1000, lan)  # kept in lower case
    assert (added.linked, added.plugged, added.vm.id) == (True, True, engine.vm_id("a"))
    fetched = vm.nics_service().nic_service(added.id).get()
    assert (fetched.id, fetched.mac.address) == (added.id, "00:1a:4a:16:01:51")


def test_nic_without_a_mac_gets_the_next_free_one_of_the_pool(engine: FakeEngine,
                                                              conn: Any) -> None:
    first, second = add_vm(conn, "a"), add_vm(conn, "b")
    first.nics_service().add(nic("nic1", profile_id(conn, "lan"), "56:6f:00:00:00:01"))
    generated = [vm.nics_service().add(nic(name)).mac.address
                 for vm, name in ((first, "nic2"), (second, "nic1"), (second, "nic2"))]
    assert all(POOL_MAC.fullmatch(mac) for mac in generated)
    assert generated == ["56:6f:00:00:00:00", "56:6f:00:00:00:02", "56:6f:00:00:00:03"]
    added = second.nics_service().list()[0]
    assert (added.interface, added.vnic_profile) == (types.NicInterface.VIRTIO, None)


def test_list_and_remove_nics(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "a")
    for name in ("nic1", "nic2", "nic3"):
        vm.nics_service().add(nic(name, profile_id(conn, "ovirtmgmt")))
    listed = vm.nics_service().list()
    assert [n.name for n in listed] == ["nic1", "nic2", "nic3"]
    assert [n.name for n in conn.follow_link(vm.get().nics)] == ["nic1", "nic2", "nic3"]
    vm.nics_service().nic_service(listed[1].id).remove()
    assert [n.name for n in vm.nics_service().list()] == ["nic1", "nic3"]
    assert engine.vm_macs(engine.vm_id("a")) == (listed[0].mac.address, listed[2].mac.address)
    with pytest.raises(sdk.NotFoundError):
        vm.nics_service().nic_service(listed[1].id).remove()


def test_removing_a_vm_frees_its_macs(conn: Any) -> None:
    vm = add_vm(conn, "a")
    vm.nics_service().add(nic("nic1", mac="00:1a:4a:00:00:01"))
    vm.remove()
    other = add_vm(conn, "b")
    assert other.nics_service().add(nic("nic1", mac="00:1a:4a:00:00:01")).name == "nic1"


def test_unknown_profile_is_400_and_adds_nothing(conn: Any) -> None:
    vm = add_vm(conn, "a")
    error = refused(lambda: vm.nics_service().add(nic("nic1", "no-such-profile")))
    assert (error.code, error.fault.detail) == (
        400, "[Cannot add Interface. The specified VM network interface profile doesn't exist.]")
    assert vm.nics_service().list() == []


def test_duplicate_mac_in_the_engine_is_409(conn: Any) -> None:
    first, second = add_vm(conn, "a"), add_vm(conn, "b")
    first.nics_service().add(nic("nic1", mac="00:1a:4a:16:01:51"))
    error = refused(lambda: second.nics_service().add(nic("nic1", mac="00:1A:4A:16:01:51")))
    assert (error.code, error.fault.detail) == (
        409, "[Cannot add Interface. MAC Address 00:1a:4a:16:01:51 is already in use.]")
    assert second.nics_service().list() == []


@pytest.mark.parametrize(("body", "code", "words"), [
    (nic("", mac="00:1a:4a:16:01:51"), 400, "Nic [name] required for add"),
    (nic("nic2", mac="00:1a:4a:16:01"), 400, "Please check MAC Address validity"),
    (nic("nic1", interface=types.NicInterface.VIRTIO), 409, "name is already in use"),
], ids=["no-name", "bad-mac", "same-name"])
def test_nic_refusals(conn: Any, body: Any, code: int, words: str) -> None:
    vm = add_vm(conn, "a")
    vm.nics_service().add(nic("nic1"))
    error = refused(lambda: vm.nics_service().add(body))
    assert error.code == code and words in error.fault.detail
    assert [n.name for n in vm.nics_service().list()] == ["nic1"]


def test_nic_of_an_unknown_vm_is_not_found(conn: Any) -> None:
    service = conn.system_service().vms_service().vm_service("no-such-vm").nics_service()
    with pytest.raises(sdk.NotFoundError):
        service.list()
    with pytest.raises(sdk.NotFoundError):
        service.add(nic("nic1"))


def test_raw_nic_post_answers_201_with_location(engine: FakeEngine, conn: Any) -> None:
    vm_id = add_vm(conn, "a").get().id
    body = (f'<nic><name>eth0</name><vnic_profile id="{engine.profile_id("lan")}"/>'
            "<mac><address>00:1a:4a:16:01:52</address></mac><interface>virtio</interface>"
            "</nic>").encode()
    code, headers, reply = raw_post(engine, f"/vms/{vm_id}/nics", body)
    assert code == 201 and b"<address>00:1a:4a:16:01:52</address>" in reply
    nic_id = conn.system_service().vms_service().vm_service(vm_id).nics_service().list()[0].id
    assert headers["Location"] == f"{engine.url}/vms/{vm_id}/nics/{nic_id}"


def test_networks_flag_of_the_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "virt.fake_ovirt", "--listen", "127.0.0.1:0", "--password",
         PASSWORD, "--networks", "lan, storage"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        connection = connect(proc.stdout.readline().strip().removeprefix("engine: "))
        system = connection.system_service()
        assert [n.name for n in system.networks_service().list()] == ["lan", "storage"]
        assert [p.name for p in system.vnic_profiles_service().list()] == ["lan", "storage"]
        connection.close()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert "Traceback" not in stderr
