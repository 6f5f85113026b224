"""A leaf in front of an oVirt engine, through the official SDK (ovirtsdk4).

oVirt schedules inside its cluster, so the leaf sees the cluster as one host:
its totals over the hosts that are up, and, as the largest single request
that fits, the most any one host can still schedule.

What differs from libvirt, and how it is handled:
- oVirt has no pause: the driver refuses pause and unpause (FAILED_PRECONDITION,
  saying so), and its capabilities leave them out.
- suspend is hibernation; resume and start are both "start".
- delete needs the VM down: a running VM is stopped first.
- Actions return before the VM settles (wait_for_launch, saving_state, ...):
  the driver polls until the VM reaches the state the action leads to.

Each VM made by cellrouter carries a JSON description with its cellrouter
uuid, request id and name; the engine's own VM id is looked up from it. VMs
made outside cellrouter are adopted when their name starts with adopt_prefix
or they carry the tag adopt_tag (either is enough): they are listed and acted
on like the others, their engine id as their uuid.

Each port of a boot becomes a vNIC of the new VM before it starts: the first
vNIC profile of the oVirt network named by the port, with the port's MAC (or
one from the engine's pool when it has none). A port naming no network of the
engine refuses the boot (InvalidSpec), and a boot refused while its NICs are
plugged (a MAC in use, say) removes the VM it added, so that a refused boot
leaves the engine as it was. oVirt's NIC holds no IP (the guest agent reports
it): the ports, IPs included, stay in the description.

Every call sends a Correlation-Id (the request id of the cellrouter call it
serves, else the boot's request id or the instance uuid) so that an oVirt
administrator can trace what cellrouter did.
SDK errors are translated into the virt error tree in one place
(virt.ovirt_engine, with the VM description and the Correlation-Id).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as otypes

from model.compute import Action, BootSpec, HostInfo, Instance, InstanceState, Port, Resources
from model.states import check
from virt.driver import Capabilities, without_shelving
from virt.errors import DRIVER_ERRORS, IllegalTransition, InstanceNotFound, InvalidSpec, NoCapacity
from virt.ovirt_engine import (
    MIB,
    MOVING,
    correlation,
    cpus,
    description,
    error_detail,
    instance_of,
    meta,
    translated,
)
from virt.tombstones import Tombstones

_NO_PAUSE = "oVirt has no pause; suspend hibernates the instance instead"
_CAPABILITIES = without_shelving(
    Capabilities(frozenset(Action) - {Action.PAUSE, Action.UNPAUSE},
                 ((Action.PAUSE, _NO_PAUSE), (Action.UNPAUSE, _NO_PAUSE))),
    "the oVirt driver keeps no shelved guests: it cannot shelve")
_OPTIONS = {"url", "username", "password_file", "password_env", "ca_file", "insecure",
            "cluster", "template", "graceful_stop", "disk_gb", "adopt_prefix",
            "adopt_tag", "settle_timeout"}


class OvirtDriver:
    def __init__(self, connection: Any, cluster: str = "Default", template: str = "Blank",
                 graceful_stop: bool = False, disk_gb: int = 0,
                 settle_timeout: float = 120.0, adopt_prefix: str | None = None,
                 adopt_tag: str | None = None) -> None:
        self._connection = connection
        self._cluster = cluster
        self._template = template
        self._graceful_stop = graceful_stop
        self._disk_gb = disk_gb
        self._settle_timeout = settle_timeout
        self._adopt_prefix = adopt_prefix
        self._adopt_tag = adopt_tag
        self._claim = threading.Lock()
        self._vm_ids: dict[str, str] = {}  # cellrouter uuid -> engine VM id
        self._tombstones = Tombstones()

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES

    # ------------------------------------------------------------ hosts

    def hosts(self) -> list[HostInfo]:
        with translated():
            system = self._connection.system_service()
            hosts = [h for h in system.hosts_service().list(search=f"cluster={self._cluster}")
                     if str(h.status) == "up"]
            vms = system.vms_service().list(search=f"cluster={self._cluster}")
        vcpus = sum(cpus(h.cpu.topology) for h in hosts)
        memory = sum((h.memory or 0) // MIB for h in hosts)
        # Every VM holds its claim, whatever its status, as a defined libvirt
        # domain does: one just added (still down) must count, or a concurrent
        # boot would take the same room, and a stopped one may start again.
        used = Resources(sum(cpus(vm.cpu.topology) if vm.cpu else 1 for vm in vms),
                         sum((vm.memory or 0) // MIB for vm in vms),
                         sum(meta(vm).get("disk_gb", 0) for vm in vms))
        largest = max(((h.max_scheduling_memory or 0) // MIB for h in hosts), default=0)
        total = Resources(vcpus, memory, self._disk_gb)
        free = total - used
        return [HostInfo(self._cluster, total, used, len(vms), alive=bool(hosts),
                         largest_free=Resources(free.vcpus, min(largest, free.memory_mb),
                                                free.disk_gb))]

    # ------------------------------------------------------------- boot

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        if host != self._cluster:
            raise InvalidSpec(f"no host named {host!r} (this leaf has cluster {self._cluster})")
        headers = correlation(spec.request_id or spec.uuid)
        profiles: dict[str, str] | None = None  # set when this call adds the VM
        with self._claim:
            existing = self._find(spec.uuid)
            if existing is None:
                profiles = self._profiles(spec.ports, headers)  # a bad port: nothing made
                room = self.hosts()[0]
                if not (room.largest_free or room.free).covers(spec.flavor):
                    raise NoCapacity(f"cluster {self._cluster} cannot hold {spec.flavor}")
                existing = self._add(spec, headers)
        service = self._vms().vm_service(existing.id)
        if profiles is not None:
            # Only the call that added the VM plugs its NICs, so a retried boot (which
            # finds the VM) never plugs them twice. Outside the claim: the VM holds its
            # room once added, and the leaf keeps one boot per request id in flight.
            self._plug(service, spec, profiles, headers)
        self._settle(service, headers)
        with translated():
            if str(service.get(headers=headers).status) == "down":
                service.start(headers=headers)
        return self._instance(self._settle(service, headers))

    def _add(self, spec: BootSpec, headers: dict[str, str]) -> Any:
        vm = otypes.Vm(
            name=f"{spec.name}-{spec.uuid[:8]}",
            description=description(spec),
            cluster=otypes.Cluster(name=self._cluster),
            template=otypes.Template(name=self._template),
            memory=spec.flavor.memory_mb * MIB,
            cpu=otypes.Cpu(topology=otypes.CpuTopology(sockets=1, cores=spec.flavor.vcpus,
                                                       threads=1)),
        )
        with translated():
            added = self._vms().add(vm, headers=headers)
        self._vm_ids[spec.uuid] = added.id
        return added

    def _profiles(self, ports: Sequence[Port], headers: dict[str, str]) -> dict[str, str]:
        """The vNIC profile id for each network the ports name: the first profile on
        the engine's network of that name. InvalidSpec naming a network it lacks."""
        names = list(dict.fromkeys(p.plugged_into for p in ports))
        if not names:
            return {}
        system = self._connection.system_service()
        with translated():
            networks = {name: self._network_id(system, name, headers) for name in names}
            profiles = system.vnic_profiles_service().list(headers=headers)
        found = {}
        for name, network_id in networks.items():
            profile = next((p for p in profiles
                            if p.network is not None and p.network.id == network_id), None)
            if profile is None:
                raise InvalidSpec(f"oVirt network {name!r} has no vNIC profile to plug into")
            found[name] = str(profile.id)
        return found

    @staticmethod
    def _network_id(system: Any, name: str, headers: dict[str, str]) -> str:
        found = system.networks_service().list(search=f"name={name}",
                                               headers=headers) if name else []
        # The search matches case-insensitively and with wildcards: keep the exact name.
        for network in found:
            if network.name == name:
                return str(network.id)
        raise InvalidSpec(f"the oVirt engine has no network named {name!r}")

    def _plug(self, service: Any, spec: BootSpec, profiles: Mapping[str, str],
              headers: dict[str, str]) -> None:
        """A NIC per port on a VM just added; when one is refused the VM is removed,
        so a refused boot leaves nothing behind."""
        if not spec.ports:
            return
        try:
            self._settle(service, headers)  # a template's disks are copied first
            with translated():
                nics = service.nics_service()
                # A template's own NICs keep their names; the ports take the next free ones.
                taken = {nic.name for nic in nics.list(headers=headers)}
                names = (n for n in (f"nic{i}" for i in itertools.count(1)) if n not in taken)
                for port in spec.ports:
                    nics.add(otypes.Nic(
                        name=next(names), interface=otypes.NicInterface.VIRTIO,
                        vnic_profile=otypes.VnicProfile(id=profiles[port.plugged_into]),
                        mac=otypes.Mac(address=port.mac) if port.mac else None,
                    ), headers=headers)
        except DRIVER_ERRORS as exc:
            self._discard(service, spec.uuid, headers, exc)
            raise

    def _discard(self, service: Any, uuid: str, headers: dict[str, str],
                 cause: Exception) -> None:
        """Remove a VM whose build failed (it is still down); the build's error is the
        one raised, so a failure to remove is only noted on it."""
        self._vm_ids.pop(uuid, None)
        try:
            service.remove(headers=headers)
        except sdk.Error as exc:
            cause.add_note(f"the half-built oVirt VM could not be removed: {error_detail(exc)}")

    # ---------------------------------------------------------- actions

    def act(self, uuid: str, action: Action) -> Instance:
        if action not in _CAPABILITIES.actions:
            raise IllegalTransition(uuid, "", action.value, [],
                                    detail=_CAPABILITIES.why_not(action))
        vm = self._find(uuid)
        if vm is None:
            gone = self._tombstones.get(uuid) if action is Action.DELETE else None
            if gone is not None:
                return gone  # deleted already: not an error
            raise InstanceNotFound(uuid)
        headers = correlation(uuid)
        service = self._vms().vm_service(vm.id)
        current = self._instance(self._settle(service, headers))
        check(uuid, current.state, action, self.capabilities.actions)
        with translated():
            self._apply(service, action, headers)
        if action is Action.DELETE:
            deleted = replace(current, state=InstanceState.DELETED, updated_at=datetime.now(UTC))
            self._vm_ids.pop(uuid, None)
            self._tombstones.remember(deleted)
            return deleted
        return self._instance(self._settle(service, headers))

    def _apply(self, service: Any, action: Action, headers: dict[str, str]) -> None:
        if action is Action.SUSPEND:
            service.suspend(headers=headers)
        elif action in (Action.RESUME, Action.START):
            service.start(headers=headers)
        elif action is Action.REBOOT:
            service.reboot(headers=headers)
        elif action is Action.REBOOT_HARD:
            service.reset(headers=headers)
        elif action is Action.STOP:
            (service.shutdown if self._graceful_stop else service.stop)(headers=headers)
        elif action is Action.DELETE:
            if str(service.get(headers=headers).status) != "down":
                service.stop(headers=headers)
                self._settle(service, headers)
            service.remove(headers=headers)

    # ------------------------------------------------------------ reads

    def get(self, uuid: str) -> Instance:
        vm = self._find(uuid)
        if vm is None:
            raise InstanceNotFound(uuid)
        return self._instance(vm)

    def instances(self) -> list[Instance]:
        # Two engine calls whatever the number of VMs: the cluster's, and the tagged ones.
        vms = self._cluster_vms()
        tagged = self._tagged_ids()
        found = []
        for vm in vms:
            uuid = meta(vm).get("uuid")
            if not uuid and (self._prefixed(vm) or vm.id in tagged):
                uuid = vm.id
            if uuid:
                self._vm_ids[uuid] = vm.id
                found.append(self._instance(vm))
        return found

    def close(self) -> None:
        with contextlib.suppress(sdk.Error):
            self._connection.close()

    # ---------------------------------------------------------- helpers

    def _vms(self) -> Any:
        return self._connection.system_service().vms_service()

    def _prefixed(self, vm: Any) -> bool:
        """Whether a VM's name makes it adopted (made outside cellrouter, its engine id
        is its uuid)."""
        return self._adopt_prefix is not None and (vm.name or "").startswith(self._adopt_prefix)

    def _tagged_ids(self) -> frozenset[str]:
        """The engine ids of the cluster's VMs carrying the adoption tag, found by the
        engine's search (one call) rather than by reading each VM's tags."""
        if self._adopt_tag is None:
            return frozenset()
        with translated():
            vms = self._vms().list(search=f"tag={self._adopt_tag} and cluster={self._cluster}")
        return frozenset(vm.id for vm in vms)

    def _find(self, uuid: str) -> Any:
        """The engine's VM for a cellrouter uuid, or None."""
        with translated():
            vm_id = self._vm_ids.get(uuid)
            if vm_id is not None:
                try:
                    return self._vms().vm_service(vm_id).get(headers=correlation(uuid))
                except sdk.NotFoundError:
                    self._vm_ids.pop(uuid, None)
                    return None
        vms = self._cluster_vms()
        found = next((vm for vm in vms if meta(vm).get("uuid") == uuid), None)
        if found is None:
            found = next((vm for vm in vms if vm.id == uuid and not meta(vm).get("uuid")), None)
            # An engine id is the uuid only of an adopted VM; the tag search runs only
            # when the name does not already make it one.
            if found is None or not (self._prefixed(found) or found.id in self._tagged_ids()):
                return None
        self._vm_ids[uuid] = found.id
        return found

    def _cluster_vms(self) -> list[Any]:
        with translated():
            return list(self._vms().list(search=f"cluster={self._cluster}"))

    def _settle(self, service: Any, headers: dict[str, str]) -> Any:
        """The VM once it has stopped moving between states."""
        deadline = time.monotonic() + self._settle_timeout
        pause = 0.002  # doubled each time, up to 0.2 s: quick moves cost little
        with translated():
            vm = service.get(headers=headers)
            while str(vm.status) in MOVING and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
                vm = service.get(headers=headers)
        return vm

    def _instance(self, vm: Any) -> Instance:
        return instance_of(vm, self._cluster)


# ------------------------------------------------------------------ config

def from_config(options: Mapping[str, Any], hosts: Sequence[Mapping[str, Any]],
                state_dir: Path) -> OvirtDriver:
    """The `ovirt` entry point.

    Options: url; username; the password from password_file or the
    environment variable named by password_env (never from the config
    itself, and never logged); ca_file, or insecure = true; cluster
    ("Default"); template ("Blank"); graceful_stop (shutdown instead of a hard
    stop); disk_gb (what the cluster's storage offers); adopt_prefix (take in
    VMs made outside cellrouter whose names start with it); adopt_tag (take in
    VMs made outside cellrouter that carry the oVirt tag of that name; with
    adopt_prefix too, a VM matching either is taken in); settle_timeout.
    The engine reports its own hosts: the leaf lists none.
    """
    _check_options(options, hosts)
    return OvirtDriver(
        _connect(options),
        cluster=str(options.get("cluster", "Default")),
        template=str(options.get("template", "Blank")),
        graceful_stop=bool(options.get("graceful_stop", False)),
        disk_gb=int(options.get("disk_gb", 0)),
        settle_timeout=float(options.get("settle_timeout", 120.0)),
        adopt_prefix=options.get("adopt_prefix"),
        adopt_tag=options.get("adopt_tag"),
    )


def _check_options(options: Mapping[str, Any], hosts: Sequence[Mapping[str, Any]]) -> None:
    if "password" in options:
        raise InvalidSpec("the oVirt password is never read from the config:"
                          " give password_file or password_env")
    unknown = set(options) - _OPTIONS
    if unknown:
        raise InvalidSpec(f"unknown oVirt driver options: {', '.join(sorted(unknown))}")
    if hosts:
        raise InvalidSpec("an oVirt leaf lists no hosts: the engine reports them")


def _connect(options: Mapping[str, Any]) -> Any:
    """The SDK's connection to the engine (it connects on first use)."""
    try:
        url, username = str(options["url"]), str(options["username"])
    except KeyError as exc:
        raise InvalidSpec(f"the oVirt driver needs {exc.args[0]!r}") from None
    return sdk.Connection(
        url=url, username=username, password=_password(options),
        ca_file=options.get("ca_file"), insecure=bool(options.get("insecure", False)),
        timeout=30,
    )


def _password(options: Mapping[str, Any]) -> str:
    if "password_file" in options:
        try:
            return Path(str(options["password_file"])).read_text().strip()
        except OSError as exc:
            raise InvalidSpec(f"cannot read the oVirt password file: {exc}") from None
    if "password_env" in options:
        value = os.environ.get(str(options["password_env"]))
        if value is None:
            raise InvalidSpec(f"environment variable {options['password_env']} is not set")
        return value
    raise InvalidSpec("give the oVirt password through password_file or password_env")
