"""A leaf's hosts through libvirt (libvirt-python).

Each host has a libvirt URI: `qemu:///system`, `qemu+ssh://host/system`, or
for development and tests libvirt's own test driver. A host given by size
only (vcpus, memory_mb) gets a generated test-driver node file in the cell's
state directory, so a leaf runs real libvirt with no daemon. Note that a
test-driver node lives in the process that opened it: its domains are gone
when the leaf restarts.

Every domain carries a <cellrouter:instance> metadata element (name,
request id, project, flavor, ports, creation time), so the leaf can rebuild
its view from the hypervisor alone (virt.libvirt_xml). Each host's connection
and use are kept by its link, where libvirt's errors are translated into the
virt error tree in one place (virt.libvirt_host).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt

from model.compute import (
    Action,
    BootSpec,
    HostInfo,
    Instance,
    InstanceState,
    allocation_ratios,
)
from model.states import check
from virt.driver import Capabilities, without_shelving
from virt.errors import (
    DRIVER_ERRORS,
    IllegalTransition,
    InstanceNotFound,
    InvalidSpec,
    NoCapacity,
)
from virt.libvirt_host import (
    HostLink,
    LibvirtHost,
    announced_state,
    domain_state,
    ensure_event_loop,
    taken_by,
)
from virt.libvirt_xml import (
    NS as NS,  # the metadata's namespace, for readers of a domain's XML
)
from virt.libvirt_xml import (
    Disk,
    Meta,
    overlay_xml,
    read_metadata,
    render_domain,
    test_node_xml,
    volume_format,
)
from virt.tombstones import Tombstones

_CAPABILITIES = without_shelving(
    Capabilities(), "the libvirt driver keeps no shelved guests: it cannot shelve")

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


class LibvirtDriver:
    def __init__(self, hosts: Sequence[LibvirtHost], domain_type: str = "test",
                 interface_type: str = "bridge", stop_timeout: float = 30.0,
                 files: Path | None = None, images: Path | None = None) -> None:
        if not hosts:
            raise InvalidSpec("a libvirt leaf needs at least one host")
        ensure_event_loop()
        self._links = {h.name: HostLink(h, self._event) for h in hosts}
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
        return _CAPABILITIES

    # ------------------------------------------------------------ hosts

    def hosts(self) -> list[HostInfo]:
        return [link.info() for link in self._links.values()]

    # ------------------------------------------------------------ boot

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        link = self._links.get(host)
        if link is None:
            raise InvalidSpec(f"no host named {host!r}")
        with link.claiming:  # the claim: check room and define, with no one in between
            existing = self._find_on(link, spec.uuid)
            if existing is not None:
                return self._instance(existing, host)
            info = link.info()
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
            link.counted(spec.uuid, spec.flavor)
        try:
            with self._session(link):
                dom.create()
        except BaseException:
            with contextlib.suppress(*DRIVER_ERRORS), self._session(link):
                _undefine(dom)
            link.counted(spec.uuid, None)
            self._remove_files(spec.uuid, spec.image_source, link)
            raise
        with self._session(link):
            return self._instance(dom, host)

    def _guest_files(self, spec: BootSpec, link: HostLink) -> tuple[Disk | None, Path | None]:
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

    def _overlay(self, link: HostLink, pool_name: str, volume: str, uuid: str) -> Disk:
        with self._session(link) as conn:
            pool = conn.storagePoolLookupByName(pool_name)
            base = pool.storageVolLookupByName(volume)
            base_format = volume_format(base)
            capacity = base.info()[1]
            xml = overlay_xml(_overlay_name(uuid), capacity, base.path(), base_format)
            pool.createXML(xml, 0)
        return Disk(pool=pool_name, volume=_overlay_name(uuid), format="qcow2")

    def _remove_files(self, uuid: str, image: str, link: HostLink) -> None:
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
        if action not in _CAPABILITIES.actions:
            raise IllegalTransition(uuid, "", action.value, [],
                                    detail=_CAPABILITIES.why_not(action))
        try:
            dom, host = self._find(uuid)
        except InstanceNotFound:
            gone = self._tombstones.get(uuid) if action is Action.DELETE else None
            if gone is not None:
                return gone  # deleted already: not an error
            raise
        link = self._links[host]
        with self._session(link):
            meta = read_metadata(dom)
            current = self._instance(dom, host, meta)
            check(uuid, current.state, action)
            self._apply(dom, action)
            if action is Action.DELETE:
                link.counted(uuid, None)
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
                link.count(domains)
        return found

    def _listed(self, dom: Any, host: str) -> Instance | None:
        """A listed domain as an instance; None when cellrouter did not make it
        (adoption is another matter), or when it vanished after the listing
        (destroyed meanwhile: it is simply gone, and the rest still count)."""
        meta = read_metadata(dom)
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
                link.counted(uuid, None)
            elif (link is not None and event == libvirt.VIR_DOMAIN_EVENT_DEFINED
                  and link.usage is not None and uuid not in link.usage):
                # Defined by someone else (a spawn counts its own domain).
                link.counted(uuid, taken_by(dom))
            # A definition changes no state (a boot's own start follows it).
            if self._on_change is not None and event != libvirt.VIR_DOMAIN_EVENT_DEFINED:
                self._on_change(uuid, announced_state(event, detail))

    def connection(self, host: str) -> Any:
        """The live libvirt connection to `host`. A test-driver node exists only
        inside this process, so this is how an operator's direct change (what
        virsh would do on a real host) is made to one."""
        with self._session(self._links[host]) as conn:
            return conn

    def close(self) -> None:
        for link in self._links.values():
            link.close()

    # ---------------------------------------------------------- helpers

    def _find(self, uuid: str) -> tuple[Any, str]:
        for name, link in self._links.items():
            dom = self._find_on(link, uuid)
            if dom is not None:
                return dom, name
        raise InstanceNotFound(uuid)

    def _find_on(self, link: HostLink, uuid: str) -> Any:
        with self._session(link) as conn:
            try:
                return conn.lookupByUUIDString(uuid)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

    def _instance(self, dom: Any, host: str, meta: Meta | None = None) -> Instance:
        meta = meta or read_metadata(dom) or Meta(name=dom.name())
        state = domain_state(dom)
        return Instance(
            uuid=dom.UUIDString(), name=meta.name, state=state, flavor=meta.flavor,
            image=meta.image, ports=meta.ports, host=host, project=meta.project,
            request_id=meta.request_id, created_at=meta.created_at,
            updated_at=datetime.now(UTC),
            fault="the guest crashed" if state is InstanceState.ERROR else "",
        )

    def _session(self, link: HostLink) -> contextlib.AbstractContextManager[Any]:
        """The host's connection, (re)opened as needed; libvirt errors translated."""
        return link.session()


def _replace_state(instance: Instance, state: InstanceState) -> Instance:
    return replace(instance, state=state, updated_at=datetime.now(UTC))


# ------------------------------------------------------- image files

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


# ------------------------------------------------------------------ config

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
    if unknown:
        raise InvalidSpec(f"unknown libvirt driver options: {', '.join(sorted(unknown))}")
    nodes = state_dir / "libvirt-nodes"
    return LibvirtDriver(
        [_host(entry, nodes) for entry in hosts],
        domain_type=str(options.get("domain_type", "test")),
        interface_type=str(options.get("interface_type", "bridge")),
        stop_timeout=float(options.get("stop_timeout", 30.0)),
        # Guests' image copies and console logs live in the cell's state dir.
        files=state_dir / "guests",
        images=state_dir / str(options.get("images_dir", "images")),
    )


def _host(entry: Mapping[str, Any], nodes: Path) -> LibvirtHost:
    """A host of the config: its uri, or a test-driver node file written under
    `nodes` for a host given by size."""
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
        return LibvirtHost(name, uri, int(entry.get("disk_gb", 0)), allocation_ratios(entry))
    except KeyError as exc:
        raise InvalidSpec(f"libvirt host {name} needs a uri, or {exc.args[0]}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidSpec(f"libvirt host {name}: {exc}") from exc
