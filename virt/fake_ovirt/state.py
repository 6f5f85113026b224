"""The fake engine's state: hosts, templates, VMs and their timed transitions, SSO tokens
and the request log, all in one ``EngineState`` behind one lock.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from virt.fake_ovirt.entities import (
    BLANK_TEMPLATE_ID,
    HOLDS_HOST,
    MIB,
    NIC_INTERFACES,
    ROOT_TAG_ID,
    VM_STATUSES,
    EngineFault,
    Host,
    HostUsage,
    Network,
    Nic,
    NicSpec,
    NotFound,
    RecordedRequest,
    Tag,
    Template,
    Vm,
    VmSpec,
    VnicProfile,
    stable_id,
)

_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


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
ACTIONS = tuple(_RULES)  # the VM actions the engine serves, as POST /vms/{id}/{action}


class EngineState:
    """Everything the engine knows, behind one lock; every method is thread-safe."""

    def __init__(self, *, hosts: int, host_memory_mb: int, host_cpus: int, user: str,
                 password: str, transition_delay: float, request_log: int,
                 networks: Sequence[str] = ("ovirtmgmt",)) -> None:
        if len(set(networks)) != len(networks):
            raise ValueError(f"network names must be unique, got {list(networks)}")
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
        self.networks = tuple(
            Network(stable_id("network", name), name,
                    "Management Network" if name == "ovirtmgmt" else "")
            for name in networks)
        self.profiles = tuple(VnicProfile(stable_id("vnicprofile", net.name), net.name, net.id)
                              for net in self.networks)
        self._vms: dict[str, Vm] = {}
        self._tags = {ROOT_TAG_ID: Tag(ROOT_TAG_ID, "root", "root")}
        self._mac_serial = itertools.count()
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

    # --- tags ---

    def tags(self) -> list[Tag]:
        with self._lock:
            return list(self._tags.values())

    def tag(self, tag_id: str) -> Tag:
        with self._lock:
            try:
                return self._tags[tag_id]
            except KeyError:
                raise NotFound(tag_id) from None

    def add_tag(self, name: str | None, description: str = "") -> Tag:
        """A new tag under the root; names are unique across the engine (409)."""
        if not name:
            raise EngineFault(400, "Tag [name] required for add", reason="Incomplete parameters")
        with self._lock:
            if any(tag.name == name for tag in self._tags.values()):
                raise _conflict("The specified Tag name already exists.")
            tag = Tag(str(uuid.uuid4()), name, description)
            self._tags[tag.id] = tag
            return tag

    def vm_tags(self, vm_id: str) -> list[Tag]:
        with self._lock:
            return [self._tags[tag_id] for tag_id in self._vm(vm_id).tag_ids]

    def assign_tag(self, vm_id: str, tag_id: str | None, name: str | None) -> Tag:
        """Assign an existing tag, by id or else by name; assigning it twice is no error."""
        if not (tag_id or name):
            raise EngineFault(400, "Tag [id|name] required for add",
                              reason="Incomplete parameters")
        with self._lock:
            vm = self._vm(vm_id)
            # The engine looks a name up and answers 404 for an unknown one; it never
            # creates the tag (clients add it to /tags first).
            tag = self._tags.get(tag_id) if tag_id else next(
                (tag for tag in self._tags.values() if tag.name == name), None)
            if tag is None:
                raise EngineFault(404, f"Entity not found: {tag_id or name}")
            if tag.id not in vm.tag_ids:
                vm.tag_ids += (tag.id,)
            return tag

    def unassign_tag(self, vm_id: str, tag_id: str) -> None:
        with self._lock:
            vm = self._vm(vm_id)
            if tag_id not in vm.tag_ids:
                raise NotFound(tag_id)
            vm.tag_ids = tuple(t for t in vm.tag_ids if t != tag_id)

    # --- NICs ---

    def nic(self, vm_id: str, nic_id: str) -> Nic:
        with self._lock:
            return self._nic(self._vm(vm_id), nic_id)

    def add_nic(self, vm_id: str, spec: NicSpec) -> Nic:
        """A new NIC; a MAC given is kept, else the next free one of the pool is taken."""
        with self._lock:
            vm = self._vm(vm_id)
            mac = self._check_new_nic(vm, spec)
            assert spec.name is not None  # _check_new_nic refuses a nameless NIC
            nic = Nic(str(uuid.uuid4()), spec.name, mac or self._free_mac(),
                      spec.interface or "virtio", spec.profile_id)
            vm.nics += (nic,)
            return nic

    def remove_nic(self, vm_id: str, nic_id: str) -> None:
        with self._lock:
            vm = self._vm(vm_id)
            self._nic(vm, nic_id)
            vm.nics = tuple(nic for nic in vm.nics if nic.id != nic_id)

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

    def _check_new_nic(self, vm: Vm, spec: NicSpec) -> str | None:
        """Refuse what the engine refuses; the MAC asked for, normalised, if any."""
        if not spec.name:
            raise EngineFault(400, "Nic [name] required for add", reason="Incomplete parameters")
        if spec.interface is not None and spec.interface not in NIC_INTERFACES:
            raise EngineFault(400, f"{spec.interface} is not a member of NicInterface. "
                              f"Possible values for NicInterface are: {', '.join(NIC_INTERFACES)}",
                              reason="Invalid value")
        if spec.profile_id is not None and all(p.id != spec.profile_id for p in self.profiles):
            raise EngineFault(400, "[Cannot add Interface. The specified VM network interface "
                                   "profile doesn't exist.]")
        if any(nic.name == spec.name for nic in vm.nics):
            raise _conflict("Cannot add Interface. Network interface name is already in use.")
        mac = spec.mac.lower() if spec.mac is not None else None
        if mac is not None and not _MAC.fullmatch(mac):
            raise EngineFault(400, "[Cannot add Interface. The specified MAC Address cannot be "
                                   "set. Please check MAC Address validity.]")
        if mac is not None and mac in self._macs():
            raise _conflict(f"Cannot add Interface. MAC Address {mac} is already in use.")
        return mac

    def _macs(self) -> set[str]:
        return {nic.mac for vm in self._vms.values() for nic in vm.nics}

    def _free_mac(self) -> str:
        """The next MAC of the pool 56:6f:00:00:00:00-56:6f:ff:ff:ff:ff not in use."""
        used = self._macs()
        while True:
            serial = next(self._mac_serial)
            mac = "56:6f:" + ":".join(f"{serial >> shift & 0xff:02x}" for shift in (24, 16, 8, 0))
            if mac not in used:
                return mac

    @staticmethod
    def _nic(vm: Vm, nic_id: str) -> Nic:
        nic = next((nic for nic in vm.nics if nic.id == nic_id), None)
        if nic is None:
            raise NotFound(nic_id)
        return nic

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

