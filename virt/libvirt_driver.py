"""A leaf's hosts through libvirt (libvirt-python).

Each host has a libvirt URI: `qemu:///system`, `qemu+ssh://host/system`, or
for development and tests libvirt's own test driver. A host given by size
only (vcpus, memory_mb) gets a generated test-driver node file in the cell's
state directory, so a leaf runs real libvirt with no daemon. Note that a
test-driver node lives in the process that opened it: its domains are gone
when the leaf restarts.

Every domain carries a <cellrouter:instance> metadata element (name,
request id, project, flavor, ports, creation time), so the leaf can rebuild
its view from the hypervisor alone. libvirt's errors are translated into the
virt error tree in one place, `_translated`.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from model.compute import (
    Action,
    BootSpec,
    HostInfo,
    Instance,
    InstanceState,
    Port,
    Resources,
    allocation_ratios,
)
from model.states import check
from virt.driver import Capabilities
from virt.errors import (
    DRIVER_ERRORS,
    HypervisorUnavailable,
    IllegalTransition,
    InstanceNotFound,
    InvalidSpec,
    NoCapacity,
    VirtError,
)
from virt.tombstones import Tombstones

NS = "https://cellrouter.dev/xmlns/instance/1"
ET.register_namespace("cellrouter", NS)
_Q = f"{{{NS}}}"

# Silence libvirt's default handler, which prints every error to stderr; the
# errors still reach us as exceptions.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

# Undefine everything a domain may have left behind. Drivers refuse flags for
# things they lack (the test driver has no NVRAM), so fewer are tried next.
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM,
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
)


def _undefine(dom: Any) -> None:
    for flags in _UNDEFINE_FLAGS[:-1]:
        try:
            dom.undefineFlags(flags)
            return
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                raise
    dom.undefineFlags(_UNDEFINE_FLAGS[-1])


@dataclass(frozen=True, slots=True)
class LibvirtHost:
    name: str
    uri: str
    disk_gb: int = 0  # libvirt does not report disk capacity; the operator does
    ratios: tuple[float, float, float] = (1.0, 1.0, 1.0)  # cpu, ram, disk


@dataclass(slots=True)
class _Link:
    """One host's connection, opened on first use and reopened when lost.

    libvirt connections are safe to share between threads, so calls hold no
    lock: `opening` guards (re)opening, `claiming` makes check-room-then-define
    atomic. A slow guest start never holds up heartbeats or other calls.
    """

    host: LibvirtHost
    conn: Any = None
    opening: threading.Lock = field(default_factory=threading.Lock)
    claiming: threading.Lock = field(default_factory=threading.Lock)
    # What each domain on the host takes, kept as domains come and go, so that
    # capacity costs nothing per call. Counted in full on first use, again by
    # every full listing, and whenever the connection is reopened; None until then.
    usage: dict[str, Resources] | None = None
    size: Resources | None = None  # getInfo(), schedulable (ratios applied)
    counting: threading.Lock = field(default_factory=threading.Lock)


class LibvirtDriver:
    def __init__(self, hosts: Sequence[LibvirtHost], domain_type: str = "test",
                 interface_type: str = "bridge", stop_timeout: float = 30.0,
                 files: Path | None = None, images: Path | None = None) -> None:
        if not hosts:
            raise InvalidSpec("a libvirt leaf needs at least one host")
        _ensure_event_loop()
        self._links = {h.name: _Link(h) for h in hosts}
        self._domain_type = domain_type
        self._interface_type = interface_type
        self._stop_timeout = stop_timeout
        # Each guest's own copy of its image, and its serial console log.
        self._files = files
        # Where image files are: a guest's disk is made only from a file in here.
        self._images = images
        self._on_change: Callable[[str, InstanceState | None], None] | None = None
        self._tombstones = Tombstones()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    # ------------------------------------------------------------ hosts

    def hosts(self) -> list[HostInfo]:
        return [self._host_info(link) for link in self._links.values()]

    def _host_info(self, link: _Link) -> HostInfo:
        """The host's size and use, from what the driver keeps: O(1) once counted."""
        with self._session(link) as conn:
            if link.usage is None or link.size is None:
                self._count(link, conn.listAllDomains())
                info = conn.getInfo()  # [model, MiB, cpus, mhz, nodes, sockets, cores, threads]
                link.size = Resources(info[2], info[1], link.host.disk_gb).scaled(
                    link.host.ratios)
            with link.counting:
                usage = link.usage or {}
                used = sum(usage.values(), Resources())
                count = len(usage)
        return HostInfo(link.host.name, link.size, used, count)

    def _count(self, link: _Link, domains: Sequence[Any]) -> None:
        """Count what every domain of `domains` (all of the host's) takes."""
        usage = {}
        for dom in domains:
            taken = _taken(dom)
            if taken is not None:
                usage[dom.UUIDString()] = taken
        with link.counting:
            link.usage = usage

    def _counted(self, link: _Link, uuid: str, taken: Resources | None) -> None:
        """A domain came (`taken` is what it takes) or went (None)."""
        with link.counting:
            if link.usage is None:
                return  # counted in full on first use
            if taken is None:
                link.usage.pop(uuid, None)
            else:
                link.usage[uuid] = taken

    # ------------------------------------------------------------ boot

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        link = self._links.get(host)
        if link is None:
            raise InvalidSpec(f"no host named {host!r}")
        with link.claiming:  # the claim: check room and define, with no one in between
            existing = self._find_on(link, spec.uuid)
            if existing is not None:
                return self._instance(existing, host)
            info = self._host_info(link)
            if not info.free.covers(spec.flavor):
                raise NoCapacity(f"host {host} cannot hold {spec.flavor} (free {info.free})")
            disk, console = self._guest_files(spec, link)
            xml = render_domain(spec, self._domain_type, self._interface_type, disk, console)
            try:
                with self._session(link) as conn:
                    dom = conn.defineXML(xml)  # from here on the room is taken
            except BaseException:
                self._remove_files(spec.uuid, spec.image_source, link)
                raise
            self._counted(link, spec.uuid, spec.flavor)
        try:
            with self._session(link):
                dom.create()
        except BaseException:
            with contextlib.suppress(*DRIVER_ERRORS), self._session(link):
                _undefine(dom)
            self._counted(link, spec.uuid, None)
            self._remove_files(spec.uuid, spec.image_source, link)
            raise
        with self._session(link):
            return self._instance(dom, host)

    def _guest_files(self, spec: BootSpec, link: _Link) -> tuple[Disk | None, Path | None]:
        """The guest's own disk, and where its serial console is logged.

        The image's source (from the leaf's catalog, never from a caller) is
        either `POOL/VOLUME` (a copy-on-write overlay volume is made in that
        storage pool) or a file in the leaf's image directory (the guest gets a
        private copy). On a test-driver host a source that is no such file (a
        plain name) means no disk.
        """
        disk: Disk | None = None
        pool, volume = _pool_volume(spec.image_source)
        if pool:
            disk = self._overlay(link, pool, volume, spec.uuid)
        image = None if pool or not spec.image_source else self._image_file(spec.image_source)
        if self._files is None:
            return disk, None
        self._files.mkdir(parents=True, exist_ok=True)
        if image is not None:
            copy = self._files / f"{spec.uuid}.img"
            shutil.copyfile(image, copy)
            disk = Disk(path=str(copy), format="raw")
        return disk, self._files / f"{spec.uuid}.console.log"

    def _image_file(self, source: str) -> Path | None:
        """The file `source` names inside the image directory; InvalidSpec for
        a path that leads out of it, or (but on a test-driver host) for none."""
        if self._images is None:
            raise InvalidSpec(f"image {source!r}: this leaf has no image directory")
        base = self._images.resolve()
        path = (base / source).resolve()  # symlinks and ".." followed, then checked
        if not path.is_relative_to(base):
            raise InvalidSpec(f"image source {source!r} leads out of the image directory")
        if path.is_file():
            return path
        if self._domain_type == "test":
            return None
        raise InvalidSpec(f"image file {source!r} is not in the image directory {base}")

    def _overlay(self, link: _Link, pool_name: str, volume: str, uuid: str) -> Disk:
        with self._session(link) as conn:
            pool = conn.storagePoolLookupByName(pool_name)
            base = pool.storageVolLookupByName(volume)
            base_format = _volume_format(base)
            capacity = base.info()[1]
            xml = _overlay_xml(_overlay_name(uuid), capacity, base.path(), base_format)
            pool.createXML(xml, 0)
        return Disk(pool=pool_name, volume=_overlay_name(uuid), format="qcow2")

    def console_log(self, uuid: str) -> Path | None:
        """Where the guest's serial console is written, when the driver keeps files."""
        return self._files / f"{uuid}.console.log" if self._files else None

    def _remove_files(self, uuid: str, image: str, link: _Link) -> None:
        pool, _ = _pool_volume(image)
        if pool:
            with contextlib.suppress(*DRIVER_ERRORS), self._session(link) as conn:
                conn.storagePoolLookupByName(pool).storageVolLookupByName(
                    _overlay_name(uuid)).delete(0)
        if self._files is None:
            return
        for leftover in (self._files / f"{uuid}.img", self._files / f"{uuid}.console.log"):
            leftover.unlink(missing_ok=True)

    # ---------------------------------------------------------- actions

    def act(self, uuid: str, action: Action) -> Instance:
        try:
            dom, host = self._find(uuid)
        except InstanceNotFound:
            gone = self._tombstones.get(uuid) if action is Action.DELETE else None
            if gone is not None:
                return gone  # deleted already: not an error
            raise
        link = self._links[host]
        with self._session(link):
            meta = _metadata(dom)
            current = self._instance(dom, host, meta)
            check(uuid, current.state, action)
            self._apply(dom, action)
            if action is Action.DELETE:
                self._counted(link, uuid, None)
                self._remove_files(uuid, meta.image_source if meta else "", link)
                gone = _replace_state(current, InstanceState.DELETED)
                self._tombstones.remember(gone)
                return gone
            return self._instance(dom, host)

    def _apply(self, dom: Any, action: Action) -> None:
        if action is Action.PAUSE:
            dom.suspend()
        elif action is Action.UNPAUSE:
            dom.resume()
        elif action is Action.SUSPEND:
            dom.managedSave()
        elif action in (Action.RESUME, Action.START):
            dom.create()  # restores a managed save image when there is one
        elif action is Action.REBOOT:
            dom.reboot()
        elif action is Action.REBOOT_HARD:
            dom.reset()
        elif action is Action.STOP:
            self._stop(dom)
        elif action is Action.DELETE:
            if dom.isActive():
                dom.destroy()
            _undefine(dom)

    def _stop(self, dom: Any) -> None:
        """Ask the guest to shut down; pull the plug if it has not within the timeout."""
        dom.shutdown()
        deadline = time.monotonic() + self._stop_timeout
        while dom.isActive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if dom.isActive():
            dom.destroy()

    # ------------------------------------------------------------ reads

    def get(self, uuid: str) -> Instance:
        dom, host = self._find(uuid)
        with self._session(self._links[host]):
            return self._instance(dom, host)

    def instances(self) -> list[Instance]:
        """Every instance of ours, from a full listing of every host (which also
        counts each host's use afresh)."""
        found = []
        for name, link in self._links.items():
            with self._session(link) as conn:
                domains = conn.listAllDomains()
                for dom in domains:
                    instance = self._listed(dom, name)
                    if instance is not None:
                        found.append(instance)
                self._count(link, domains)
        return found

    def _listed(self, dom: Any, host: str) -> Instance | None:
        """A listed domain as an instance; None when cellrouter did not make it
        (adoption is another matter), or when it vanished after the listing
        (destroyed meanwhile: it is simply gone, and the rest still count)."""
        meta = _metadata(dom)
        if meta is None:
            return None
        try:
            return self._instance(dom, host, meta)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def watch(self, on_change: Callable[[str, InstanceState | None], None]) -> None:
        """Lifecycle events of every host's domains go to `on_change(uuid, state)`."""
        self._on_change = on_change
        for link in self._links.values():
            with self._session(link):
                pass  # opening registers for events

    def _event(self, conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        """A lifecycle event of one domain (on libvirt's event thread): keep the
        host's use current, and tell the watcher which domain changed."""
        with contextlib.suppress(libvirt.libvirtError):
            uuid = dom.UUIDString()
            link = next((k for k in self._links.values() if k.conn is conn), None)
            if link is not None and event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
                self._counted(link, uuid, None)
            elif (link is not None and event == libvirt.VIR_DOMAIN_EVENT_DEFINED
                  and link.usage is not None and uuid not in link.usage):
                # Defined by someone else (a spawn counts its own domain).
                self._counted(link, uuid, _taken(dom))
            # A definition changes no state (a boot's own start follows it).
            if self._on_change is not None and event != libvirt.VIR_DOMAIN_EVENT_DEFINED:
                self._on_change(uuid, _announced_state(event, detail))

    def connection(self, host: str) -> Any:
        """The live libvirt connection to `host`. A test-driver node exists only
        inside this process, so this is how an operator's direct change (what
        virsh would do on a real host) is made to one."""
        with self._session(self._links[host]) as conn:
            return conn

    def close(self) -> None:
        for link in self._links.values():
            with link.opening:
                if link.conn is not None:
                    with contextlib.suppress(libvirt.libvirtError):
                        link.conn.close()
                    link.conn = None

    # ---------------------------------------------------------- helpers

    def _find(self, uuid: str) -> tuple[Any, str]:
        for name, link in self._links.items():
            dom = self._find_on(link, uuid)
            if dom is not None:
                return dom, name
        raise InstanceNotFound(uuid)

    def _find_on(self, link: _Link, uuid: str) -> Any:
        with self._session(link) as conn:
            try:
                return conn.lookupByUUIDString(uuid)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

    def _instance(self, dom: Any, host: str, meta: _Meta | None = None) -> Instance:
        meta = meta or _metadata(dom) or _Meta(name=dom.name())
        state = _state(dom)
        return Instance(
            uuid=dom.UUIDString(), name=meta.name, state=state, flavor=meta.flavor,
            image=meta.image, ports=meta.ports, host=host, project=meta.project,
            request_id=meta.request_id, created_at=meta.created_at,
            updated_at=datetime.now(UTC),
            fault="the guest crashed" if state is InstanceState.ERROR else "",
        )

    @contextlib.contextmanager
    def _session(self, link: _Link) -> Iterator[Any]:
        """The host's connection, (re)opened as needed; libvirt errors translated."""
        with link.opening:
            if link.conn is None or not _alive(link.conn):
                link.usage = link.size = None  # a new connection: count afresh
                link.conn = self._open(link.host)
                with _translated():
                    link.conn.domainEventRegisterAny(
                        None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._event, None)
            conn = link.conn
        with _translated():
            yield conn

    def _open(self, host: LibvirtHost) -> Any:
        retrying = Retrying(retry=retry_if_exception_type(libvirt.libvirtError),
                            stop=stop_after_attempt(3),
                            wait=wait_exponential(multiplier=0.1, max=1.0), reraise=True)
        with _translated():
            conn = retrying(libvirt.open, host.uri)
            with contextlib.suppress(libvirt.libvirtError):
                conn.setKeepAlive(5, 3)  # remote transports only; local ones refuse
            return conn


# ------------------------------------------------------------------ errors

_UNAVAILABLE_CODES = {
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
}


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """The one place libvirt's errors become virt errors."""
    try:
        yield
    except DRIVER_ERRORS:
        raise
    except libvirt.libvirtError as exc:
        code = exc.get_error_code()
        message = exc.get_error_message() or str(exc)
        if code == libvirt.VIR_ERR_NO_DOMAIN:
            raise InstanceNotFound(message) from exc
        if code in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_OPERATION_DENIED):
            raise IllegalTransition("", "", "", [], detail=f"refused by libvirt: {message}"
                                    ) from exc
        if code in _UNAVAILABLE_CODES or exc.get_error_domain() == libvirt.VIR_FROM_RPC:
            raise HypervisorUnavailable(f"hypervisor unreachable: {message}") from exc
        if code in (libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                    libvirt.VIR_ERR_INVALID_ARG):
            raise InvalidSpec(message) from exc
        raise VirtError(f"libvirt: {message}") from exc


_event_loop_lock = threading.Lock()
_event_loop_started = False


def _taken(dom: Any) -> Resources | None:
    """What a domain takes of its host (its disk as its metadata says); None
    when it vanished while being read."""
    try:
        _, max_kib, _, vcpus, _ = dom.info()
    except libvirt.libvirtError:
        return None
    meta = _metadata(dom)
    return Resources(vcpus, max_kib // 1024, meta.flavor.disk_gb if meta else 0)


def _ensure_event_loop() -> None:
    """libvirt's event loop, once per process, before any connection opens:
    the embedded QEMU driver needs it, and so do domain events."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


# ------------------------------------------------------------------- state

def _state(dom: Any) -> InstanceState:
    state, _reason = dom.state()
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return InstanceState.ACTIVE
    if state == libvirt.VIR_DOMAIN_PAUSED:
        return InstanceState.PAUSED
    if state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTDOWN):
        return InstanceState.SUSPENDED if dom.hasManagedSaveImage(0) else InstanceState.STOPPED
    if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
        return InstanceState.SUSPENDED
    if state == libvirt.VIR_DOMAIN_CRASHED:
        return InstanceState.ERROR
    return InstanceState.UNKNOWN


def _announced_state(event: int, detail: int) -> InstanceState | None:
    """The state a lifecycle event leaves a domain in, read from the event alone
    (no call to libvirt on its event thread); None when it does not say."""
    if event in (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_RESUMED):
        return InstanceState.ACTIVE
    if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
        if detail == libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR:
            return None
        return InstanceState.PAUSED
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            return InstanceState.SUSPENDED  # a managed save
        if detail in (libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED,
                      libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED):
            return InstanceState.ERROR
        return InstanceState.STOPPED
    if event == libvirt.VIR_DOMAIN_EVENT_CRASHED:
        return InstanceState.ERROR
    if event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
        return InstanceState.DELETED
    return None  # shutting down, PM-suspended: look


def _replace_state(instance: Instance, state: InstanceState) -> Instance:
    return replace(instance, state=state, updated_at=datetime.now(UTC))


# ----------------------------------------------------------------- the XML

@dataclass(frozen=True, slots=True)
class _Meta:
    name: str
    request_id: str = ""
    project: str = ""
    image: str = ""
    image_source: str = ""
    flavor: Resources = field(default_factory=Resources)
    ports: tuple[Port, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Disk:
    """A guest's disk: a file, or a volume in a storage pool."""

    format: str
    path: str = ""
    pool: str = ""
    volume: str = ""


def _pool_volume(image: str) -> tuple[str, str]:
    """("pool", "volume") for an image named POOL/VOLUME, else ("", "")."""
    if image.startswith("/") or image.count("/") != 1:
        return "", ""
    pool, volume = image.split("/")
    if pool in ("", ".", "..") or volume in ("", ".", ".."):
        return "", ""  # a path, not a pool's volume
    return pool, volume


def _overlay_name(uuid: str) -> str:
    return f"cr-{uuid}.qcow2"


def _volume_format(vol: Any) -> str:
    found = ET.fromstring(vol.XMLDesc(0)).find("target/format")
    return found.get("type", "raw") if found is not None else "raw"


def _overlay_xml(name: str, capacity: int, backing: str, backing_format: str) -> str:
    volume = ET.Element("volume")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(capacity)
    target = ET.SubElement(volume, "target")
    ET.SubElement(target, "format", type="qcow2")
    store = ET.SubElement(volume, "backingStore")
    ET.SubElement(store, "path").text = backing
    ET.SubElement(store, "format", type=backing_format)
    return ET.tostring(volume, encoding="unicode")


def render_domain(spec: BootSpec, domain_type: str, interface_type: str = "bridge",
                  disk: Disk | None = None, console: Path | None = None) -> str:
    """The domain XML for `spec`, built with ElementTree."""
    domain = ET.Element("domain", type=domain_type)
    ET.SubElement(domain, "name").text = f"cr-{spec.uuid}"
    ET.SubElement(domain, "uuid").text = spec.uuid
    ET.SubElement(domain, "memory", unit="MiB").text = str(spec.flavor.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(spec.flavor.vcpus)
    os_ = ET.SubElement(domain, "os")
    if domain_type == "test":
        ET.SubElement(os_, "type").text = "hvm"
    else:  # a PC that boots from its first disk
        ET.SubElement(os_, "type", arch="x86_64", machine="pc").text = "hvm"
        ET.SubElement(os_, "boot", dev="hd")
    domain.append(_metadata_element(spec))
    devices = ET.SubElement(domain, "devices")
    if disk is not None:
        # IDE: every BIOS boots from it, no guest drivers needed.
        kind = "volume" if disk.pool else "file"
        element = ET.SubElement(devices, "disk", type=kind, device="disk")
        ET.SubElement(element, "driver", name="qemu", type=disk.format)
        if disk.pool:
            ET.SubElement(element, "source", pool=disk.pool, volume=disk.volume)
        else:
            ET.SubElement(element, "source", file=disk.path)
        ET.SubElement(element, "target", dev="hda", bus="ide")
    for port in spec.ports:
        nic = ET.SubElement(devices, "interface", type=interface_type)
        source_key = "bridge" if interface_type == "bridge" else "network"
        ET.SubElement(nic, "source", {source_key: port.plugged_into})
        ET.SubElement(nic, "mac", address=port.mac)
    if console is not None:
        serial = ET.SubElement(devices, "serial", type="file")
        ET.SubElement(serial, "source", path=str(console))
    else:
        ET.SubElement(devices, "serial", type="pty")
    return ET.tostring(domain, encoding="unicode")


def _metadata_element(spec: BootSpec) -> ET.Element:
    metadata = ET.Element("metadata")
    inst = ET.SubElement(metadata, f"{_Q}instance")
    for tag, value in (("name", spec.name), ("request-id", spec.request_id),
                       ("project", spec.project), ("image", spec.image),
                       ("image-source", spec.image_source),
                       ("cell-path", spec.target_cell),
                       ("created-at", datetime.now(UTC).isoformat())):
        ET.SubElement(inst, f"{_Q}{tag}").text = value
    f = spec.flavor
    ET.SubElement(inst, f"{_Q}flavor", vcpus=str(f.vcpus), memory_mb=str(f.memory_mb),
                  disk_gb=str(f.disk_gb))
    ports = ET.SubElement(inst, f"{_Q}ports")
    for p in spec.ports:
        ET.SubElement(ports, f"{_Q}port", network=p.network, mac=p.mac, ip=p.ip)
    return metadata


def _metadata(dom: Any) -> _Meta | None:
    """Our metadata element of `dom`, or None for a domain cellrouter did not make."""
    try:
        root = ET.fromstring(dom.XMLDesc(0))
    except (libvirt.libvirtError, ET.ParseError):
        return None
    inst = root.find(f"metadata/{_Q}instance")
    if inst is None:
        return None

    def text(tag: str) -> str:
        found = inst.find(f"{_Q}{tag}")
        return (found.text or "") if found is not None else ""

    flavor = inst.find(f"{_Q}flavor")
    size = flavor.attrib if flavor is not None else {}
    created = text("created-at")
    return _Meta(
        name=text("name"),
        request_id=text("request-id"),
        project=text("project"),
        image=text("image"),
        image_source=text("image-source"),
        flavor=Resources(int(size.get("vcpus", 0)), int(size.get("memory_mb", 0)),
                         int(size.get("disk_gb", 0))),
        ports=tuple(Port(p.get("network", ""), p.get("mac", ""), p.get("ip", ""))
                    for p in inst.iterfind(f"{_Q}ports/{_Q}port")),
        created_at=datetime.fromisoformat(created) if created else None,
    )


# ------------------------------------------------------------------ config

def test_node_xml(vcpus: int, memory_mb: int) -> str:
    """A libvirt test-driver node with this many CPUs and this much memory, and
    an `images` storage pool."""
    node = ET.Element("node")
    cpu = ET.SubElement(node, "cpu")
    for tag, value in (("mhz", 2000), ("model", "x86_64"), ("active", vcpus), ("nodes", 1),
                       ("sockets", 1), ("cores", vcpus), ("threads", 1)):
        ET.SubElement(cpu, tag).text = str(value)
    ET.SubElement(node, "memory").text = str(memory_mb * 1024)  # KiB
    # A storage pool for images, as a real host would have one.
    pool = ET.SubElement(node, "pool", type="dir")
    ET.SubElement(pool, "name").text = "images"
    ET.SubElement(ET.SubElement(pool, "target"), "path").text = "/var/lib/cellrouter/images"
    return ET.tostring(node, encoding="unicode")


def from_config(options: Mapping[str, Any], hosts: Sequence[Mapping[str, Any]],
                state_dir: Path) -> LibvirtDriver:
    """The `libvirt` entry point.

    Options: domain_type ("test", "qemu" or "kvm"; default "test"),
    interface_type ("bridge" or "network"), stop_timeout (seconds),
    images_dir (where the catalog's image files are; relative to the state
    directory; default "images").
    Hosts: name and uri, or name, vcpus and memory_mb for a generated
    test-driver node; disk_gb and *_allocation_ratio as for any leaf.
    """
    unknown = set(options) - {"domain_type", "interface_type", "stop_timeout", "images_dir"}
    # Guests' image copies and console logs live in the cell's state dir.
    if unknown:
        raise InvalidSpec(f"unknown libvirt driver options: {', '.join(sorted(unknown))}")
    nodes = state_dir / "libvirt-nodes"
    built = []
    for entry in hosts:
        name = str(entry.get("name", ""))
        if not name:
            raise InvalidSpec(f"a libvirt host needs a name: {dict(entry)}")
        uri = str(entry.get("uri", ""))
        try:
            if not uri:
                nodes.mkdir(parents=True, exist_ok=True)
                node = nodes / f"{name}.xml"
                node.write_text(test_node_xml(int(entry["vcpus"]), int(entry["memory_mb"])))
                uri = f"test://{node.resolve()}"
            built.append(LibvirtHost(name, uri, int(entry.get("disk_gb", 0)),
                                     allocation_ratios(entry)))
        except KeyError as exc:
            raise InvalidSpec(f"libvirt host {name} needs a uri, or {exc.args[0]}") from exc
        except (TypeError, ValueError) as exc:
            raise InvalidSpec(f"libvirt host {name}: {exc}") from exc
    return LibvirtDriver(
        built,
        domain_type=str(options.get("domain_type", "test")),
        interface_type=str(options.get("interface_type", "bridge")),
        stop_timeout=float(options.get("stop_timeout", 30.0)),
        files=state_dir / "guests",
        images=state_dir / str(options.get("images_dir", "images")),
    )
