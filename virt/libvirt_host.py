"""One libvirt host as the libvirt driver sees it: its connection, opened on
first use and reopened when lost, and what its domains take of it; and how
libvirt's answers read in cellrouter's terms: a domain's state, the state a
lifecycle event leaves it in, and libvirt's errors, translated into the virt
error tree in one place, `translated`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import libvirt
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from model.compute import HostInfo, InstanceState, Resources
from virt.errors import (
    DRIVER_ERRORS,
    HypervisorUnavailable,
    IllegalTransition,
    InstanceNotFound,
    InvalidSpec,
    VirtError,
)
from virt.libvirt_xml import read_metadata

# Silence libvirt's default handler, which prints every error to stderr; the
# errors still reach us as exceptions.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

# libvirt's lifecycle callback: (conn, dom, event, detail, opaque).
EventCallback = Callable[[Any, Any, int, int, Any], None]


@dataclass(frozen=True, slots=True)
class LibvirtHost:
    name: str
    uri: str
    disk_gb: int = 0  # libvirt does not report disk capacity; the operator does
    ratios: tuple[float, float, float] = (1.0, 1.0, 1.0)  # cpu, ram, disk


@dataclass(slots=True)
class HostLink:
    """One host's connection, opened on first use and reopened when lost.

    libvirt connections are safe to share between threads, so calls hold no
    lock: `opening` guards (re)opening, `claiming` makes check-room-then-define
    atomic. A slow guest start never holds up heartbeats or other calls.
    """

    host: LibvirtHost
    on_event: EventCallback | None = None  # registered on every connection opened
    conn: Any = None
    opening: threading.Lock = field(default_factory=threading.Lock)
    claiming: threading.Lock = field(default_factory=threading.Lock)
    # What each domain on the host takes, kept as domains come and go, so that
    # capacity costs nothing per call. Counted in full on first use, again by
    # every full listing, and whenever the connection is reopened; None until then.
    usage: dict[str, Resources] | None = None
    size: Resources | None = None  # getInfo(), schedulable (ratios applied)
    counting: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        """The host's connection, (re)opened as needed; libvirt errors translated."""
        with self.opening:
            if self.conn is None or not _alive(self.conn):
                self.usage = self.size = None  # a new connection: count afresh
                self.conn = _open(self.host)
                if self.on_event is not None:
                    with translated():
                        self.conn.domainEventRegisterAny(
                            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self.on_event, None)
            conn = self.conn
        with translated():
            yield conn

    def info(self) -> HostInfo:
        """The host's size and use, from what the link keeps: O(1) once counted."""
        with self.session() as conn:
            if self.usage is None or self.size is None:
                self.count(conn.listAllDomains())
                info = conn.getInfo()  # [model, MiB, cpus, mhz, nodes, sockets, cores, threads]
                self.size = Resources(info[2], info[1], self.host.disk_gb).scaled(
                    self.host.ratios)
            with self.counting:
                usage = self.usage or {}
                used = sum(usage.values(), Resources())
                count = len(usage)
        return HostInfo(self.host.name, self.size, used, count)

    def count(self, domains: Sequence[Any]) -> None:
        """Count what every domain of `domains` (all of the host's) takes."""
        usage = {}
        for dom in domains:
            taken = taken_by(dom)
            if taken is not None:
                usage[dom.UUIDString()] = taken
        with self.counting:
            self.usage = usage

    def counted(self, uuid: str, taken: Resources | None) -> None:
        """A domain came (`taken` is what it takes) or went (None)."""
        with self.counting:
            if self.usage is None:
                return  # counted in full on first use
            if taken is None:
                self.usage.pop(uuid, None)
            else:
                self.usage[uuid] = taken

    def close(self) -> None:
        with self.opening:
            if self.conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self.conn.close()
                self.conn = None


def taken_by(dom: Any) -> Resources | None:
    """What a domain takes of its host (its disk as its metadata says); None
    when it vanished while being read."""
    try:
        _, max_kib, _, vcpus, _ = dom.info()
    except libvirt.libvirtError:
        return None
    meta = read_metadata(dom)
    return Resources(vcpus, max_kib // 1024, meta.flavor.disk_gb if meta else 0)


def _open(host: LibvirtHost) -> Any:
    retrying = Retrying(retry=retry_if_exception_type(libvirt.libvirtError),
                        stop=stop_after_attempt(3),
                        wait=wait_exponential(multiplier=0.1, max=1.0), reraise=True)
    with translated():
        conn = retrying(libvirt.open, host.uri)
        with contextlib.suppress(libvirt.libvirtError):
            conn.setKeepAlive(5, 3)  # remote transports only; local ones refuse
        return conn


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


_event_loop_lock = threading.Lock()
_event_loop_started = False


def ensure_event_loop() -> None:
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


# ------------------------------------------------------------------ states

def domain_state(dom: Any) -> InstanceState:
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


def announced_state(event: int, detail: int) -> InstanceState | None:
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


# ------------------------------------------------------------------ errors

_UNAVAILABLE_CODES = {
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
}


@contextlib.contextmanager
def translated() -> Iterator[None]:
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
