"""The XML documents of the engine's v4 API: rendering entities, faults and actions, and
parsing request bodies (a malformed body is a 400 ``EngineFault``).
"""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET

from virt.fake_ovirt.entities import (
    HOLDS_HOST,
    ROOT_TAG_ID,
    EngineFault,
    HostUsage,
    Network,
    Nic,
    NicSpec,
    Tag,
    Template,
    Vm,
    VmSpec,
    VnicProfile,
    stable_id,
)
from virt.fake_ovirt.state import EngineState

API = "/ovirt-engine/api"


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
    for rel in ("clusters", "hosts", "networks", "tags", "templates", "vms", "vnicprofiles"):
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
    for rel in ("nics", "tags"):
        _sub(root, "link", href=f"{API}/vms/{vm.id}/{rel}", rel=rel)
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


def tag_xml(tag: Tag, vm_id: str | None = None) -> ET.Element:
    """A tag, or with ``vm_id`` its assignment to that VM (as ``/vms/{id}/tags`` lists it)."""
    collection = "tags" if vm_id is None else f"vms/{vm_id}/tags"
    root = _entity("tag", collection, tag.id)
    _sub(root, "name", tag.name)
    _sub(root, "description", tag.description)
    if tag.id != ROOT_TAG_ID:
        _ref(root, "parent", "tags", ROOT_TAG_ID)
    if vm_id is not None:
        _ref(root, "vm", "vms", vm_id)
    return root


def network_xml(network: Network) -> ET.Element:
    root = _entity("network", "networks", network.id)
    _sub(root, "name", network.name)
    _sub(root, "description", network.description)
    _sub(root, "mtu", 0)  # the default, 1500
    _sub(root, "stp", False)
    _sub(_sub(root, "usages"), "usage", "vm")
    return root


def vnic_profile_xml(profile: VnicProfile) -> ET.Element:
    root = _entity("vnic_profile", "vnicprofiles", profile.id)
    _sub(root, "name", profile.name)
    _sub(_sub(root, "pass_through"), "mode", "disabled")
    _sub(root, "port_mirroring", False)
    _ref(root, "network", "networks", profile.network_id)
    return root


def nic_xml(nic: Nic, vm_id: str) -> ET.Element:
    root = _entity("nic", f"vms/{vm_id}/nics", nic.id)
    _sub(root, "name", nic.name)
    _sub(root, "interface", nic.interface)
    _sub(root, "linked", True)
    _sub(_sub(root, "mac"), "address", nic.mac)
    _sub(root, "plugged", True)
    if nic.profile_id is not None:
        _ref(root, "vnic_profile", "vnicprofiles", nic.profile_id)
    _ref(root, "vm", "vms", vm_id)
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


def child_text(root: ET.Element, path: str) -> str | None:
    """The stripped text at ``path`` below ``root``; ``None`` if absent or empty."""
    node = root.find(path)
    return node.text.strip() if node is not None and node.text else None


def _int(root: ET.Element, path: str) -> int | None:
    text = child_text(root, path)
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
        name=child_text(root, "name"), description=child_text(root, "description") or "",
        memory=_int(root, "memory"), topology=topology,
        cluster=(None, None) if cluster is None
        else (cluster.get("id"), child_text(cluster, "name")),
        template=(None, None) if template is None
        else (template.get("id"), child_text(template, "name")))



def nic_spec(root: ET.Element) -> NicSpec:
    profile = root.find("vnic_profile")
    return NicSpec(name=child_text(root, "name"), mac=child_text(root, "mac/address"),
                   interface=child_text(root, "interface"),
                   profile_id=None if profile is None else profile.get("id"))
