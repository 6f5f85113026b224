"""A stateful fake oVirt engine that the real ``ovirtsdk4`` talks to over loopback HTTP.

It speaks the XML v4 subset described in shared/reference/ovirt-api.md: SSO tokens,
hosts (with statistics), clusters, templates, and VMs whose actions walk through timed
status transitions in background threads. Errors take the engine's shape: ``<fault>``
bodies (wrapped in ``<action>`` for actions) with the engine's HTTP codes, 404 with an
empty body for unknown entities, 401 for unknown or expired tokens. The
``Correlation-Id`` request header is echoed and recorded.

In process::

    with FakeEngine(transition_delay=0.05) as engine:
        conn = ovirtsdk4.Connection(url=engine.url, username="admin@internal",
                                    password="secret")

As a process (prints ``engine: http://127.0.0.1:PORT/ovirt-engine/api``, stops on SIGTERM)::

    python -m virt.fake_ovirt --listen 127.0.0.1:0 --hosts 2 --transition-delay 0.2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import secrets
import signal
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/ovirt-engine/api"
SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
XML = "application/xml"
JSON = "application/json"
MIB = 1024 * 1024
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"  # as on every real engine
_ID_NAMESPACE = uuid.UUID("5e7c0f6a-8a4e-4c55-9f0e-1d3c2b7a9e10")  # stable ids across runs
_CORRELATION_ID = re.compile(r"[0-9A-Za-z_-]{1,36}")

# Statuses in which a VM holds memory and CPUs on its host.
HOLDS_HOST = frozenset({
    "wait_for_launch", "powering_up", "up", "reboot_in_progress", "powering_down",
    "saving_state", "restoring_state", "paused", "migrating", "not_responding", "unknown",
})
VM_STATUSES = HOLDS_HOST | {"unassigned", "down", "suspended", "image_locked"}


class EngineFault(Exception):
    """A refusal the engine reports as a ``<fault>`` under an HTTP status."""

    def __init__(self, status: int, detail: str, reason: str = "Operation Failed") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason


class NotFound(Exception):
    """An unknown entity or path: the engine answers 404 with an empty body."""


@dataclass(frozen=True)
class Host:
    id: str
    name: str
    address: str
    memory: int  # bytes
    cpus: int


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    memory: int


@dataclass
class Vm:
    id: str
    name: str
    description: str
    memory: int
    topology: tuple[int, int, int]  # sockets, cores, threads
    template_id: str
    status: str = "down"
    host_id: str | None = None
    created: float = field(default_factory=time.time)
    generation: int = 0  # bumped by every action; stale transition threads give up
    history: tuple[str, ...] = ()  # every status it has been in, for tests

    @property
    def vcpus(self) -> int:
        sockets, cores, threads = self.topology
        return sockets * cores * threads


@dataclass(frozen=True)
class VmSpec:
    """What a ``POST /vms`` body asked for; ``None`` where the body said nothing."""

    name: str | None
    description: str
    memory: int | None
    topology: tuple[int, int, int] | None
    cluster: tuple[str | None, str | None]  # (id, name)
    template: tuple[str | None, str | None]


@dataclass(frozen=True)
class HostUsage:
    host: Host
    memory: int  # bytes held by VMs placed on the host
    vcpus: int
    active: int  # VMs holding the host


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    correlation_id: str | None


@dataclass(frozen=True)
class _Rule:
    """How one VM action behaves: the statuses it walks from each allowed status."""

    verb: str  # as the engine words refusals: "Cannot <verb> VM. ..."
    paths: Mapping[str, tuple[str, ...]]  # first status is set at once, the rest timed
    refusal: str  # the reason given from any other status


_RULES: dict[str, _Rule] = {
    "start": _Rule("run", {
        "down": ("wait_for_launch", "powering_up", "up"),
        "suspended": ("restoring_state", "up"),
        "paused": ("up",),
    }, "VM is running."),
    "stop": _Rule("stop", {s: ("down",) for s in VM_STATUSES - {"down", "image_locked"}},
                  "VM is not running."),
    "shutdown": _Rule("shutdown", dict.fromkeys(
        ("up", "powering_up", "reboot_in_progress", "paused"), ("powering_down", "down")),
        "VM is not running."),
    "suspend": _Rule("hibernate", {"up": ("saving_state", "suspended")}, "VM is not up."),
    "reboot": _Rule("reboot", {"up": ("reboot_in_progress", "up")}, "VM is not up."),
    "reset": _Rule("reset", {"up": ("reboot_in_progress", "up")}, "VM is not up."),
}


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}/{name}"))


class EngineState:
    """Everything the engine knows, behind one lock; every method is thread-safe."""

    def __init__(self, *, hosts: int, host_memory_mb: int, host_cpus: int, user: str,
                 password: str, transition_delay: float, request_log: int) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._credentials = (user, password)
        self.delay = transition_delay
        self.cluster_id = stable_id("cluster", "Default")
        self.hosts = tuple(
            Host(stable_id("host", f"host-{i}"), f"host-{i}", f"192.0.2.{10 + i}",
                 host_memory_mb * MIB, host_cpus)
            for i in range(1, hosts + 1))
        self.templates = (
            Template(BLANK_TEMPLATE_ID, "Blank", "Blank template", 1024 * MIB),
            Template(stable_id("template", "centos-9"), "centos-9", "CentOS Stream 9",
                     2048 * MIB),
        )
        self._vms: dict[str, Vm] = {}
        self._tokens: set[str] = set()
        self._requests: deque[RecordedRequest] = deque(maxlen=request_log)

    # --- SSO and request log ---

    def login(self, username: str, password: str) -> str | None:
        if (username, password) != self._credentials:
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return token

    def logout(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)

    def token_valid(self, token: str) -> bool:
        with self._lock:
            return token in self._tokens

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # --- reads (snapshots, safe to use outside the lock) ---

    def vm(self, vm_id: str) -> Vm:
        with self._lock:
            return dataclasses.replace(self._vm(vm_id))

    def vms(self) -> list[Vm]:
        with self._lock:
            return [dataclasses.replace(vm) for vm in self._vms.values()]

    def host(self, host_id: str) -> Host:
        for host in self.hosts:
            if host.id == host_id:
                return host
        raise NotFound(host_id)

    def usage(self) -> list[HostUsage]:
        with self._lock:
            return self._usage()

    # --- writes ---

    def add_vm(self, spec: VmSpec) -> Vm:
        with self._lock:
            template = self._check_new_vm(spec)
            assert spec.name is not None  # _check_new_vm refuses a nameless VM
            vm = Vm(str(uuid.uuid4()), spec.name, spec.description,
                    spec.memory or template.memory, spec.topology or (1, 1, 1), template.id)
            self._vms[vm.id] = vm
            # Disks are copied from a real template; the Blank one has none.
            if template.id != BLANK_TEMPLATE_ID:
                self._begin(vm, ("image_locked", "down"))
            return dataclasses.replace(vm)

    def act(self, vm_id: str, action: str, pause: bool = False) -> Vm:
        rule = _RULES[action]
        with self._lock:
            vm = self._vm(vm_id)
            if vm.status == "image_locked":
                raise _conflict(f"Cannot {rule.verb} VM. VM is locked. "
                                "Please try again in a few minutes.")
            steps = rule.paths.get(vm.status)
            if steps is None:
                raise _conflict(f"Cannot {rule.verb} VM. {rule.refusal}")
            if pause and steps[-1] == "up":
                steps = (*steps[:-1], "paused")
            if steps[0] in HOLDS_HOST and vm.host_id is None:
                vm.host_id = self._place(vm)
            self._begin(vm, steps)
            return dataclasses.replace(vm)

    def remove_vm(self, vm_id: str) -> None:
        with self._lock:
            vm = self._vm(vm_id)
            if vm.status == "image_locked":
                raise _conflict("Cannot remove VM. VM is locked. "
                                "Please try again in a few minutes.")
            if vm.status != "down":
                raise _conflict("Cannot remove VM. VM is running.")
            del self._vms[vm_id]

    def set_vm_status(self, vm_id: str, status: str) -> None:
        """Force a status (e.g. ``paused`` after an I/O error), cancelling transitions."""
        if status not in VM_STATUSES:
            raise ValueError(f"unknown VM status {status!r}")
        with self._lock:
            vm = self._vm(vm_id)
            if status in HOLDS_HOST and vm.host_id is None:
                vm.host_id = self._place(vm)
            self._begin(vm, (status,))

    def stop(self) -> None:
        self._stopping.set()

    # --- internals (lock held) ---

    def _vm(self, vm_id: str) -> Vm:
        try:
            return self._vms[vm_id]
        except KeyError:
            raise NotFound(vm_id) from None

    def _check_new_vm(self, spec: VmSpec) -> Template:
        missing = [label for label, given in (
            ("name", spec.name), ("cluster.id|name", any(spec.cluster)),
            ("template.id|name", any(spec.template))) if not given]
        if missing:
            raise EngineFault(400, f"Vm [{', '.join(missing)}] required for add",
                              reason="Incomplete parameters")
        cluster_id, cluster_name = spec.cluster
        if cluster_id not in (None, self.cluster_id) or cluster_name not in (None, "Default"):
            raise EngineFault(404, f"Entity not found: Cluster: {cluster_name or cluster_id}")
        template_id, template_name = spec.template
        template = next((t for t in self.templates if template_id in (None, t.id)
                         and template_name in (None, t.name)), None)
        if template is None:
            raise EngineFault(404, f"Entity not found: Template: {template_name or template_id}")
        if any(vm.name == spec.name for vm in self._vms.values()):
            raise _conflict("Cannot add VM. The VM name is already in use, "
                            "please choose a unique name and try again.")
        return template

    def _usage(self) -> list[HostUsage]:
        placed: dict[str, list[Vm]] = {host.id: [] for host in self.hosts}
        for vm in self._vms.values():
            if vm.host_id is not None:
                placed[vm.host_id].append(vm)
        return [HostUsage(host, sum(vm.memory for vm in placed[host.id]),
                          sum(vm.vcpus for vm in placed[host.id]), len(placed[host.id]))
                for host in self.hosts]

    def _place(self, vm: Vm) -> str:
        """The first host with enough free memory for ``vm``."""
        for usage in self._usage():
            if usage.host.memory - usage.memory >= vm.memory:
                return usage.host.id
        raise _conflict("Cannot run VM. There is no host that satisfies current "
                        "scheduling constraints.")

    def _begin(self, vm: Vm, steps: Sequence[str]) -> None:
        vm.generation += 1
        self._apply(vm, steps[0])
        if len(steps) > 1:
            threading.Thread(target=self._advance, args=(vm.id, vm.generation, steps[1:]),
                             name=f"fake-ovirt-{vm.name}", daemon=True).start()

    def _advance(self, vm_id: str, generation: int, steps: Sequence[str]) -> None:
        for status in steps:
            if self._stopping.wait(self.delay):
                return
            with self._lock:
                vm = self._vms.get(vm_id)
                if vm is None or vm.generation != generation:
                    return  # removed, or a later action took over
                self._apply(vm, status)

    @staticmethod
    def _apply(vm: Vm, status: str) -> None:
        vm.status = status
        vm.history += (status,)
        if status not in HOLDS_HOST:
            vm.host_id = None


def _conflict(detail: str) -> EngineFault:
    return EngineFault(409, f"[{detail}]")


# --- search: "criteria [sortby field [asc|desc]] [page N]" over name, status, id, ... ---

_SEARCH_TAIL = re.compile(
    r"\s*(?:\bsortby\s+(?P<sort>\w+)(?:\s+(?P<order>asc|desc))?)?"
    r"\s*(?:\bpage\s+(?P<page>\d+))?\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"\s*(?P<field>\w+)\s*(?P<op>!=|=)\s*(?P<value>\"[^\"]*\"|\S+)\s*$")
SEARCH_FIELDS = ("name", "status", "id", "cluster", "host", "description")


def _vm_fields(state: EngineState, vm: Vm) -> dict[str, str]:
    host = state.host(vm.host_id).name if vm.host_id else ""
    return {"name": vm.name, "status": vm.status, "id": vm.id, "cluster": "Default",
            "host": host, "description": vm.description}


def _wildcard(value: str) -> re.Pattern[str]:
    value = value.strip('"')
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.IGNORECASE)


def search_vms(state: EngineState, text: str, limit: int | None) -> list[Vm]:
    """The VMs matching an engine search text, sorted and paged as it asks."""
    tail = _SEARCH_TAIL.search(text)
    assert tail is not None  # every part of the pattern is optional
    criteria = text[:tail.start()].strip()
    tests: list[tuple[str, bool, re.Pattern[str]]] = []
    for clause in re.split(r"\s+and\s+", criteria, flags=re.IGNORECASE) if criteria else []:
        match = _CLAUSE.match(clause)
        if match is None or match["field"].lower() not in SEARCH_FIELDS:
            raise EngineFault(400, f"[Cannot search VMs. Invalid search clause: {clause!r}.]")
        tests.append((match["field"].lower(), match["op"] == "=", _wildcard(match["value"])))
    rows = [(vm, _vm_fields(state, vm)) for vm in state.vms()]
    rows = [row for row in rows
            if all(bool(rx.fullmatch(row[1][f])) == eq for f, eq, rx in tests)]
    if tail["sort"]:
        sort = tail["sort"].lower()
        if sort not in SEARCH_FIELDS:
            raise EngineFault(400, f"[Cannot search VMs. Cannot sort by {sort!r}.]")
        rows.sort(key=lambda row: row[1][sort],
                  reverse=(tail["order"] or "").lower() == "desc")
    vms = [vm for vm, _ in rows]
    if tail["page"] and limit:
        start = (int(tail["page"]) - 1) * limit
        vms = vms[start:]
    return vms[:limit] if limit is not None else vms


# --- XML ---

def _sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = str(text).lower() if isinstance(text, bool) else str(text)
    return child


def _entity(tag: str, collection: str, ident: str) -> ET.Element:
    return ET.Element(tag, href=f"{API}/{collection}/{ident}", id=ident)


def _ref(parent: ET.Element, tag: str, collection: str, ident: str) -> ET.Element:
    return _sub(parent, tag, href=f"{API}/{collection}/{ident}", id=ident)


def _topology(parent: ET.Element, sockets: int, cores: int, threads: int) -> None:
    topology = _sub(parent, "topology")
    _sub(topology, "cores", cores)
    _sub(topology, "sockets", sockets)
    _sub(topology, "threads", threads)


def api_xml(state: EngineState) -> ET.Element:
    root = ET.Element("api")
    for rel in ("clusters", "hosts", "templates", "vms"):
        _sub(root, "link", href=f"{API}/{rel}", rel=rel)
    info = _sub(root, "product_info")
    _sub(info, "name", "oVirt Engine")
    _sub(info, "vendor", "ovirt.org")
    version = _sub(info, "version")
    for tag, value in (("build", 0), ("full_version", "4.5.6-fake"), ("major", 4),
                       ("minor", 5), ("revision", 0)):
        _sub(version, tag, value)
    summary = _sub(root, "summary")
    vms = state.vms()
    for tag, active, total in (
            ("hosts", len(state.hosts), len(state.hosts)),
            ("vms", sum(vm.status in HOLDS_HOST for vm in vms), len(vms))):
        counts = _sub(summary, tag)
        _sub(counts, "active", active)
        _sub(counts, "total", total)
    _sub(root, "time", time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()))
    return root


def host_xml(usage: HostUsage, cluster_id: str) -> ET.Element:
    host = usage.host
    root = _entity("host", "hosts", host.id)
    _sub(root, "link", href=f"{API}/hosts/{host.id}/statistics", rel="statistics")
    _sub(root, "name", host.name)
    _sub(root, "address", host.address)
    _sub(root, "status", "up")
    cpu = _sub(root, "cpu")
    _sub(cpu, "name", "Intel Xeon Processor (Icelake)")
    _sub(cpu, "speed", 2400)
    _topology(cpu, 1, host.cpus, 1)
    _sub(root, "memory", host.memory)
    _sub(root, "max_scheduling_memory", max(0, host.memory - usage.memory))
    summary = _sub(root, "summary")
    _sub(summary, "active", usage.active)
    _sub(summary, "migrating", 0)
    _sub(summary, "total", usage.active)
    _sub(root, "type", "rhel")
    _ref(root, "cluster", "clusters", cluster_id)
    return root


def _statistic(parent: ET.Element, host_id: str, name: str, value: object,
               unit: str, kind: str) -> None:
    stat = _sub(parent, "statistic", href=f"{API}/hosts/{host_id}/statistics/{name}",
                id=stable_id("statistic", name))
    _sub(stat, "name", name)
    _sub(stat, "kind", "gauge")
    _sub(stat, "type", kind)
    _sub(stat, "unit", unit)
    _sub(_sub(_sub(stat, "values"), "value"), "datum", value)
    _ref(stat, "host", "hosts", host_id)


def statistics_xml(usage: HostUsage) -> ET.Element:
    host = usage.host
    root = ET.Element("statistics")
    idle = max(0.0, 100.0 - 100.0 * usage.vcpus / host.cpus)
    _statistic(root, host.id, "memory.total", host.memory, "bytes", "integer")
    _statistic(root, host.id, "memory.used", usage.memory, "bytes", "integer")
    _statistic(root, host.id, "memory.free", host.memory - usage.memory, "bytes", "integer")
    _statistic(root, host.id, "cpu.current.idle", f"{idle:.1f}", "percent", "decimal")
    return root


def cluster_xml(cluster_id: str) -> ET.Element:
    root = _entity("cluster", "clusters", cluster_id)
    _sub(root, "name", "Default")
    _sub(root, "description", "The default server cluster")
    cpu = _sub(root, "cpu")
    _sub(cpu, "architecture", "x86_64")
    _sub(cpu, "type", "Intel Icelake Server Family")
    over_commit = _sub(_sub(root, "memory_policy"), "over_commit")
    _sub(over_commit, "percent", 100)
    version = _sub(root, "version")
    _sub(version, "major", 4)
    _sub(version, "minor", 7)
    return root


def template_xml(template: Template) -> ET.Element:
    root = _entity("template", "templates", template.id)
    _sub(root, "name", template.name)
    _sub(root, "description", template.description)
    _topology(_sub(root, "cpu"), 1, 1, 1)
    _sub(root, "memory", template.memory)
    _sub(root, "status", "ok")
    return root


def vm_xml(vm: Vm, cluster_id: str) -> ET.Element:
    root = _entity("vm", "vms", vm.id)
    _sub(root, "name", vm.name)
    _sub(root, "description", vm.description)
    _sub(root, "status", vm.status)
    _sub(root, "memory", vm.memory)
    _topology(_sub(root, "cpu"), *vm.topology)
    _sub(root, "creation_time", time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00",
                                              time.gmtime(vm.created)))
    _ref(root, "cluster", "clusters", cluster_id)
    _ref(root, "template", "templates", vm.template_id)
    if vm.host_id is not None:
        _ref(root, "host", "hosts", vm.host_id)
    return root


def fault_xml(fault: EngineFault) -> ET.Element:
    root = ET.Element("fault")
    _sub(root, "reason", fault.reason)
    _sub(root, "detail", fault.detail)
    return root


def action_xml(fault: EngineFault | None = None) -> ET.Element:
    root = ET.Element("action")
    if fault is not None:
        root.append(fault_xml(fault))
        _sub(root, "status", "failed")
    else:
        _sub(root, "job", id=str(uuid.uuid4()))
        _sub(root, "status", "complete")
    return root


def _text(root: ET.Element, path: str) -> str | None:
    node = root.find(path)
    return node.text.strip() if node is not None and node.text else None


def _int(root: ET.Element, path: str) -> int | None:
    text = _text(root, path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        raise EngineFault(400, f"Value of {path} is not an integer: {text!r}",
                          reason="Request syntactically incorrect.") from None


def parse_xml(body: bytes, tag: str) -> ET.Element:
    try:
        root = ET.fromstring(body or f"<{tag}/>")
    except ET.ParseError as exc:
        raise EngineFault(400, str(exc), reason="Request syntactically incorrect.") from None
    if root.tag != tag:
        raise EngineFault(400, f"Expected <{tag}>, got <{root.tag}>",
                          reason="Request syntactically incorrect.")
    return root


def vm_spec(root: ET.Element) -> VmSpec:
    dims = [_int(root, f"cpu/topology/{d}") for d in ("sockets", "cores", "threads")]
    topology = None
    if any(d is not None for d in dims):
        sockets, cores, threads = (d or 1 for d in dims)
        topology = (sockets, cores, threads)
    cluster, template = root.find("cluster"), root.find("template")
    return VmSpec(
        name=_text(root, "name"), description=_text(root, "description") or "",
        memory=_int(root, "memory"), topology=topology,
        cluster=(None, None) if cluster is None else (cluster.get("id"), _text(cluster, "name")),
        template=(None, None) if template is None
        else (template.get("id"), _text(template, "name")))


# --- HTTP: routes map a path below the API root to a function returning a Reply ---

@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    state: EngineState
    args: tuple[str, ...]  # the route's regex groups
    query: Mapping[str, str]
    body: bytes
    base_url: str  # scheme://host:port, for Location headers


def xml_reply(root: ET.Element, status: int = 200) -> Reply:
    return Reply(status, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def json_reply(document: Mapping[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(document).encode(), JSON)


def _collection(tag: str, items: Sequence[ET.Element]) -> Reply:
    root = ET.Element(tag)
    root.extend(items)
    return xml_reply(root)


def _list_hosts(call: Call) -> Reply:
    usages = call.state.usage()
    return _collection("hosts", [host_xml(u, call.state.cluster_id) for u in usages])


def _host_usage(call: Call) -> HostUsage:
    host = call.state.host(call.args[0])
    return next(u for u in call.state.usage() if u.host == host)


def _get_host(call: Call) -> Reply:
    return xml_reply(host_xml(_host_usage(call), call.state.cluster_id))


def _get_cluster(call: Call) -> Reply:
    if call.args[0] != call.state.cluster_id:
        raise NotFound(call.args[0])
    return xml_reply(cluster_xml(call.state.cluster_id))


def _get_template(call: Call) -> Reply:
    template = next((t for t in call.state.templates if t.id == call.args[0]), None)
    if template is None:
        raise NotFound(call.args[0])
    return xml_reply(template_xml(template))


def _list_vms(call: Call) -> Reply:
    limit = call.query.get("max")
    if limit is not None and not limit.lstrip("-").isdigit():
        raise EngineFault(400, f"Value of max is not an integer: {limit!r}")
    size = int(limit) if limit is not None and int(limit) >= 0 else None
    vms = search_vms(call.state, call.query.get("search", ""), size)
    return _collection("vms", [vm_xml(vm, call.state.cluster_id) for vm in vms])


def _add_vm(call: Call) -> Reply:
    vm = call.state.add_vm(vm_spec(parse_xml(call.body, "vm")))
    reply = xml_reply(vm_xml(vm, call.state.cluster_id), 202 if vm.status == "image_locked"
                      else 201)
    reply.headers["Location"] = f"{call.base_url}{API}/vms/{vm.id}"
    return reply


def _vm_action(call: Call) -> Reply:
    vm_id, action = call.args
    body = parse_xml(call.body, "action")
    try:
        call.state.act(vm_id, action, pause=_text(body, "pause") == "true")
    except EngineFault as fault:
        return xml_reply(action_xml(fault), fault.status)  # the engine wraps action faults
    return xml_reply(action_xml())


def _remove_vm(call: Call) -> Reply:
    call.state.remove_vm(call.args[0])
    return Reply(200)


_Route = Callable[[Call], Reply]
_ROUTES: tuple[tuple[str, re.Pattern[str], _Route], ...] = tuple(
    (method, re.compile(pattern), route) for method, pattern, route in (
        ("GET", "", lambda c: xml_reply(api_xml(c.state))),
        ("GET", "hosts", _list_hosts),
        ("GET", "hosts/([^/]+)", _get_host),
        ("GET", "hosts/([^/]+)/statistics", lambda c: xml_reply(statistics_xml(_host_usage(c)))),
        ("GET", "clusters", lambda c: _collection("clusters", [cluster_xml(c.state.cluster_id)])),
        ("GET", "clusters/([^/]+)", _get_cluster),
        ("GET", "templates", lambda c: _collection(
            "templates", [template_xml(t) for t in c.state.templates])),
        ("GET", "templates/([^/]+)", _get_template),
        ("GET", "vms", _list_vms),
        ("POST", "vms", _add_vm),
        ("GET", "vms/([^/]+)", lambda c: xml_reply(vm_xml(c.state.vm(c.args[0]),
                                                           c.state.cluster_id))),
        ("DELETE", "vms/([^/]+)", _remove_vm),
        ("POST", f"vms/([^/]+)/({'|'.join(_RULES)})", _vm_action),
    ))


def route_api(call: Call, method: str, subpath: str) -> Reply:
    """Answer one authenticated API request; ``subpath`` is relative to the API root."""
    allowed = []
    for route_method, pattern, route in _ROUTES:
        match = pattern.fullmatch(subpath)
        if match is None:
            continue
        if route_method == method:
            return route(dataclasses.replace(call, args=match.groups()))
        allowed.append(route_method)
    if allowed:
        return Reply(405, headers={"Allow": ", ".join(allowed)})
    raise NotFound(subpath)


def sso_token(state: EngineState, form: Mapping[str, str]) -> Reply:
    if form.get("grant_type") != "password":
        return json_reply({"error_code": "unsupported_grant_type",
                           "error": "Unsupported grant type."}, 400)
    token = state.login(form.get("username", ""), form.get("password", ""))
    if token is None:
        user = form.get("username", "")
        return json_reply({"error_code": "access_denied", "error": (
            f"Cannot authenticate user '{user}': "
            "The username or password is incorrect.")}, 400)
    return json_reply({"access_token": token, "token_type": "bearer",
                       "scope": form.get("scope", "ovirt-app-api"),
                       "exp": str(int((time.time() + 36000) * 1000))})


def handle(state: EngineState, method: str, path: str, query: Mapping[str, str],
           headers: Mapping[str, str], body: bytes, base_url: str) -> Reply:
    """Answer one request of any kind: SSO, API, or unknown."""
    path = path.rstrip("/")
    if method == "POST" and path in (SSO_TOKEN, SSO_LOGOUT):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if path == SSO_LOGOUT:
            state.logout(form.get("token", ""))
            return json_reply({})
        return sso_token(state, form)
    if path != API and not path.startswith(API + "/"):
        return Reply(404)
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.token_valid(token):
        return Reply(401, headers={"WWW-Authenticate": "Bearer"})
    correlation_id = headers.get("Correlation-Id")
    try:
        if correlation_id is not None and not _CORRELATION_ID.fullmatch(correlation_id):
            raise EngineFault(400, "[Correlation-Id must be at most 36 characters of "
                                   "letters, digits, '-' and '_'.]")
        call = Call(state, (), query, body, base_url)
        return route_api(call, method, path[len(API):].strip("/"))
    except EngineFault as fault:
        return xml_reply(fault_xml(fault), fault.status)
    except NotFound:
        return Reply(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: EngineState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for curl's large posts
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is engine.requests

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        correlation_id = self.headers.get("Correlation-Id")
        state = self.server.state
        state.record(RecordedRequest(method, url.path, url.query, correlation_id))
        host, port = self.server.server_address[:2]
        base_url = f"http://{self.headers.get('Host') or f'{host!s}:{port}'}"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        reply = handle(state, method, url.path, query, _headers(self), body, base_url)
        if correlation_id is not None:
            reply.headers["Correlation-Id"] = correlation_id
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.body:
            self.send_header("Content-Type", f"{reply.content_type};charset=UTF-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """Request headers under their canonical spelling (case-insensitive lookups)."""
    wanted = ("Authorization", "Correlation-Id")
    return {name: value for name in wanted if (value := handler.headers.get(name)) is not None}


class FakeEngine:
    """The fake engine in a background thread, with handles on its state for tests."""

    def __init__(self, *, listen: tuple[str, int] = ("127.0.0.1", 0), hosts: int = 2,
                 host_memory_mb: int = 16384, host_cpus: int = 8,
                 user: str = "admin@internal", password: str = "secret",
                 transition_delay: float = 0.2, request_log: int = 200) -> None:
        self.state = EngineState(hosts=hosts, host_memory_mb=host_memory_mb,
                                 host_cpus=host_cpus, user=user, password=password,
                                 transition_delay=transition_delay, request_log=request_log)
        self._listen = listen
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeEngine:
        """Bind and serve; idempotent."""
        if self._server is None:
            self._server = _Server(self._listen, self.state)
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name="fake-ovirt", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cancel pending transitions; idempotent."""
        self.state.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakeEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeEngine is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The most recent requests, oldest first (SSO requests included)."""
        return self.state.requests()

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def vm_id(self, name: str) -> str:
        return next(vm.id for vm in self.state.vms() if vm.name == name)

    def vm_status(self, vm_id: str) -> str:
        return self.state.vm(vm_id).status

    def vm_history(self, vm_id: str) -> tuple[str, ...]:
        """Every status the VM has passed through since it was added, oldest first."""
        return self.state.vm(vm_id).history

    def vm_host(self, vm_id: str) -> str | None:
        """The id of the host the VM holds, if any."""
        return self.state.vm(vm_id).host_id

    def set_vm_status(self, vm_id: str, status: str) -> None:
        self.state.set_vm_status(vm_id, status)

    def host_usage(self, host_id: str) -> HostUsage:
        return next(u for u in self.state.usage() if u.host.id == host_id)


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m virt.fake_ovirt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 0))
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--host-memory-mb", type=int, default=16384)
    parser.add_argument("--host-cpus", type=int, default=8)
    parser.add_argument("--user", default="admin@internal")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--transition-delay", type=float, default=0.2)
    args = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    engine = FakeEngine(listen=args.listen, hosts=args.hosts,
                        host_memory_mb=args.host_memory_mb, host_cpus=args.host_cpus,
                        user=args.user, password=args.password,
                        transition_delay=args.transition_delay).start()
    print(f"engine: {engine.url}", flush=True)
    while not done.wait(0.5):
        pass
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
