"""Tests for virt.fake_ovirt, driven through the real oVirt SDK over loopback HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sdk = pytest.importorskip("ovirtsdk4")
types = sdk.types

from virt.fake_ovirt import API, FakeEngine  # noqa: E402

GIB = 1024**3
PASSWORD = "s3cret"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    with FakeEngine(hosts=2, host_memory_mb=4096, host_cpus=4, password=PASSWORD,
                    transition_delay=0.05) as eng:
        yield eng


@pytest.fixture
def conn(engine: FakeEngine) -> Iterator[Any]:
    connection = connect(engine.url)
    yield connection
    connection.close()


def connect(url: str, password: str = PASSWORD) -> Any:
    return sdk.Connection(url=url, username="admin@internal", password=password,
                          insecure=True, timeout=10)


def add_vm(conn: Any, name: str, memory: int = GIB, template: str = "Blank") -> Any:
    return conn.system_service().vms_service().add(types.Vm(
        name=name, memory=memory, description=f"{name} desc",
        cluster=types.Cluster(name="Default"), template=types.Template(name=template)))


def wait_status(service: Any, status: Any, timeout: float = 5.0) -> list[Any]:
    """Poll until the VM reaches ``status``; the distinct statuses seen, in order."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = service.get().status
        if not seen or seen[-1] != current:
            seen.append(current)
        if current == status:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"never reached {status}; saw {seen}")


def raw(engine: FakeEngine, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with a fresh token, outside the SDK, to see codes and headers."""
    base = engine.url[: -len(API)]
    form = urllib.parse.urlencode({"grant_type": "password", "scope": "ovirt-app-api",
                                   "username": "admin@internal", "password": PASSWORD})
    with urllib.request.urlopen(f"{base}/ovirt-engine/sso/oauth/token", form.encode()) as rsp:
        token = json.load(rsp)["access_token"]
    request = urllib.request.Request(
        engine.url + path, data=body, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml",
                 **(headers or {})})
    try:
        with urllib.request.urlopen(request) as rsp:
            return rsp.status, dict(rsp.headers), rsp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_hosts_clusters_and_templates_as_configured(conn: Any) -> None:
    system = conn.system_service()
    hosts = system.hosts_service().list()
    cluster = system.clusters_service().list()
    assert [h.name for h in hosts] == ["host-1", "host-2"]
    host = hosts[0]
    assert (host.status, host.memory, host.max_scheduling_memory) == (
        types.HostStatus.UP, 4 * GIB, 4 * GIB)
    assert (host.cpu.topology.sockets, host.cpu.topology.cores, host.cpu.topology.threads) == (
        1, 4, 1)
    assert (host.summary.active, host.summary.total) == (0, 0)
    assert [c.name for c in cluster] == ["Default"]
    assert host.cluster.id == cluster[0].id
    assert system.hosts_service().host_service(host.id).get().address == host.address
    templates = [t.name for t in system.templates_service().list()]
    assert "Blank" in templates
    assert conn.test(raise_exception=True)


def test_add_vm_answers_201_with_location_and_the_vm(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "web-1", memory=2 * GIB)
    assert (vm.name, vm.status, vm.memory, vm.description) == (
        "web-1", types.VmStatus.DOWN, 2 * GIB, "web-1 desc")
    fetched = conn.system_service().vms_service().vm_service(vm.id).get()
    assert (fetched.id, fetched.cluster.id, fetched.host) == (vm.id, vm.cluster.id, None)
    body = (b"<vm><name>web-2</name><cluster><name>Default</name></cluster>"
            b"<template><name>Blank</name></template></vm>")
    code, headers, _ = raw(engine, "POST", "/vms", body)
    assert code == 201
    assert headers["Location"] == f"{engine.url}/vms/{engine.vm_id('web-2')}"


def test_vm_from_a_real_template_is_image_locked_then_down(engine: FakeEngine,
                                                           conn: Any) -> None:
    vm = add_vm(conn, "db-1", template="centos-9")
    assert vm.status == types.VmStatus.IMAGE_LOCKED
    wait_status(conn.system_service().vms_service().vm_service(vm.id), types.VmStatus.DOWN)
    assert engine.vm_history(vm.id) == ("image_locked", "down")


def test_full_lifecycle(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "life", memory=3 * GIB)
    service = conn.system_service().vms_service().vm_service(vm.id)
    service.start()
    wait_status(service, types.VmStatus.UP)
    assert engine.vm_history(vm.id) == ("wait_for_launch", "powering_up", "up")
    host = conn.follow_link(service.get().host)
    assert (host.name, host.max_scheduling_memory, host.summary.active) == ("host-1", GIB, 1)

    service.suspend()
    wait_status(service, types.VmStatus.SUSPENDED)
    assert engine.vm_history(vm.id)[-2:] == ("saving_state", "suspended")
    assert service.get().host is None
    assert engine.host_usage(host.id).memory == 0

    service.start()
    wait_status(service, types.VmStatus.UP)
    assert engine.vm_history(vm.id)[-2:] == ("restoring_state", "up")
    service.shutdown()
    wait_status(service, types.VmStatus.DOWN)
    assert engine.vm_history(vm.id)[-2:] == ("powering_down", "down")

    service.start()
    wait_status(service, types.VmStatus.UP)
    service.stop()
    assert service.get().status == types.VmStatus.DOWN  # a hard power-off is immediate
    service.remove()
    with pytest.raises(sdk.NotFoundError):
        service.get()


def test_reboot_and_reset_come_back_up(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "rb")
    service = conn.system_service().vms_service().vm_service(vm.id)
    service.start()
    wait_status(service, types.VmStatus.UP)
    service.reboot()
    wait_status(service, types.VmStatus.UP)
    service.reset()
    wait_status(service, types.VmStatus.UP)
    assert engine.vm_history(vm.id)[-5:] == (
        "up", "reboot_in_progress", "up", "reboot_in_progress", "up")
    assert engine.vm_host(vm.id) is not None


def test_start_paused_then_resume_with_start(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "p")
    service = conn.system_service().vms_service().vm_service(vm.id)
    service.start(pause=True)
    wait_status(service, types.VmStatus.PAUSED)
    service.start()
    wait_status(service, types.VmStatus.UP)
    assert engine.vm_history(vm.id) == (
        "wait_for_launch", "powering_up", "paused", "up")


def test_placement_fills_first_host_then_next_then_refuses(engine: FakeEngine,
                                                           conn: Any) -> None:
    vms = conn.system_service().vms_service()
    placed = []
    for name in ("a", "b"):
        vm = add_vm(conn, name, memory=3 * GIB)
        vms.vm_service(vm.id).start()
        placed.append(conn.follow_link(vms.vm_service(vm.id).get().host).name)
    assert placed == ["host-1", "host-2"]
    extra = add_vm(conn, "c", memory=3 * GIB)
    with pytest.raises(sdk.Error) as info:
        vms.vm_service(extra.id).start()
    assert info.value.code == 409
    assert "no host that satisfies" in info.value.fault.detail
    stats = {s.name: s.values[0].datum for s in conn.system_service().hosts_service()
             .host_service(engine.vm_host(engine.vm_id("a"))).statistics_service().list()}
    assert (stats["memory.used"], stats["cpu.current.idle"]) == (3 * GIB, 75.0)


def test_search_by_name_wildcard_status_and_max(conn: Any) -> None:
    vms = conn.system_service().vms_service()
    for name in ("web-1", "web-2", "db-1"):
        add_vm(conn, name)
    web2 = vms.list(search="name=web-2")[0]
    vms.vm_service(web2.id).start()
    wait_status(vms.vm_service(web2.id), types.VmStatus.UP)
    assert sorted(v.name for v in vms.list(search="name=web*")) == ["web-1", "web-2"]
    assert [v.name for v in vms.list(search="name=WEB* and status=up")] == ["web-2"]
    assert [v.name for v in vms.list(search=f"id={web2.id}")] == ["web-2"]
    assert [v.name for v in vms.list(search="name=* sortby name desc", max=2)] == [
        "web-2", "web-1"]
    assert vms.list(search="name=nothing*") == []
    with pytest.raises(sdk.Error) as info:
        vms.list(search="colour=blue")
    assert info.value.code == 400


@pytest.mark.parametrize(("setup", "act", "detail"), [
    ("up", lambda s: s.start(), "[Cannot run VM. VM is running.]"),
    ("down", lambda s: s.suspend(), "[Cannot hibernate VM. VM is not up.]"),
    ("down", lambda s: s.reboot(), "[Cannot reboot VM. VM is not up.]"),
    ("down", lambda s: s.stop(), "[Cannot stop VM. VM is not running.]"),
    ("up", lambda s: s.remove(), "[Cannot remove VM. VM is running.]"),
    ("suspended", lambda s: s.remove(), "[Cannot remove VM. VM is running.]"),
    ("image_locked", lambda s: s.start(),
     "[Cannot run VM. VM is locked. Please try again in a few minutes.]"),
], ids=["start-up", "suspend-down", "reboot-down", "stop-down", "remove-up",
        "remove-suspended", "start-locked"])
def test_conflicts_raise_409_with_detail(engine: FakeEngine, conn: Any, setup: str,
                                         act: Any, detail: str) -> None:
    vm = add_vm(conn, "x")
    engine.set_vm_status(vm.id, setup)
    with pytest.raises(sdk.Error) as info:
        act(conn.system_service().vms_service().vm_service(vm.id))
    assert (info.value.code, info.value.fault.reason, info.value.fault.detail) == (
        409, "Operation Failed", detail)
    assert engine.vm_status(vm.id) == setup


def test_action_fault_is_wrapped_in_action(engine: FakeEngine, conn: Any) -> None:
    vm = add_vm(conn, "w")
    code, _, body = raw(engine, "POST", f"/vms/{vm.id}/suspend", b"<action/>")
    assert code == 409
    assert body.startswith(b"<?xml") and b"<action><fault><reason>" in body
    assert b"<status>failed</status>" in body


def test_duplicate_name_is_409(conn: Any) -> None:
    add_vm(conn, "dup")
    with pytest.raises(sdk.Error) as info:
        add_vm(conn, "dup")
    assert info.value.code == 409 and "name is already in use" in info.value.fault.detail


def test_unknown_vm_is_not_found(engine: FakeEngine, conn: Any) -> None:
    service = conn.system_service().vms_service().vm_service("no-such-vm")
    with pytest.raises(sdk.NotFoundError) as info:
        service.get()
    assert info.value.code == 404
    with pytest.raises(sdk.NotFoundError):
        service.start()
    assert raw(engine, "GET", "/vms/no-such-vm")[2] == b""


def test_missing_cluster_is_400_incomplete_parameters(conn: Any) -> None:
    with pytest.raises(sdk.Error) as info:
        conn.system_service().vms_service().add(
            types.Vm(name="n", template=types.Template(name="Blank")))
    assert (info.value.code, info.value.fault.reason) == (400, "Incomplete parameters")
    assert "cluster" in info.value.fault.detail


def test_unknown_cluster_is_404(conn: Any) -> None:
    with pytest.raises(sdk.NotFoundError):
        conn.system_service().vms_service().add(types.Vm(
            name="n", cluster=types.Cluster(name="Nope"), template=types.Template(name="Blank")))


def test_expired_token_is_renewed_by_the_sdk(engine: FakeEngine, conn: Any) -> None:
    hosts = conn.system_service().hosts_service()
    hosts.list()
    engine.expire_tokens()
    assert len(hosts.list()) == 2
    paths = [r.path for r in engine.requests[-3:]]
    assert paths == [f"{API}/hosts", "/ovirt-engine/sso/oauth/token", f"{API}/hosts"]


def test_wrong_password_is_auth_error(engine: FakeEngine) -> None:
    connection = connect(engine.url, password="wrong")
    with pytest.raises(sdk.AuthError, match="access_denied"):
        connection.system_service().hosts_service().list()
    connection.close(logout=False)


def test_close_logs_out_and_revokes_the_token(engine: FakeEngine) -> None:
    connection = connect(engine.url)
    token = connection.authenticate()
    assert engine.state.token_valid(token)
    connection.close()
    assert engine.requests[-1].path == "/ovirt-engine/services/sso-logout"
    assert not engine.state.token_valid(token)


def test_correlation_id_is_recorded_and_echoed(engine: FakeEngine, conn: Any) -> None:
    conn.system_service().hosts_service().list(headers={"Correlation-Id": "req-123"})
    last = engine.requests[-1]
    assert (last.method, last.path, last.correlation_id) == ("GET", f"{API}/hosts", "req-123")
    code, headers, _ = raw(engine, "GET", "/hosts", headers={"Correlation-Id": "req-456"})
    assert (code, headers["Correlation-Id"]) == (200, "req-456")
    code, _, body = raw(engine, "GET", "/hosts", headers={"Correlation-Id": "bad id!"})
    assert code == 400 and b"<fault>" in body


def test_runs_as_a_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "virt.fake_ovirt", "--listen", "127.0.0.1:0", "--hosts", "3",
         "--password", PASSWORD], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("engine: http://127.0.0.1:")
        connection = connect(line.removeprefix("engine: "))
        assert len(connection.system_service().hosts_service().list()) == 3
        connection.close()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode in (0, -15)
    assert "Traceback" not in stderr
