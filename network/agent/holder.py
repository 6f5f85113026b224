"""The network agent's Holder (agents.reference): a port bound to it is
plugged through its driver and reported ACTIVE, or ERROR with the driver's
reason; a port unbound is unplugged.

Its state directory keeps what a restart resumes from:

    revision            the last binding revision applied
    ports/UUID.json     each port held (the object's uuid; its PortWiring)

A restarted agent plugs every port it holds again (the driver is idempotent;
a host that rebooted lost its bridges) before it watches from its revision.
If one fails, it forgets its revision: the watch then sends every object it
holds again, and each is reported with what plugging it says now.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Set
from dataclasses import asdict
from pathlib import Path

from model.agents import AgentReport, BindingEvent, ObjectState
from network.agent.driver import WiringDriver
from network.agent.errors import MalformedPort, WiringFailed
from network.agent.objects import KIND, PortWiring, wiring_of
from network.resources import NetworkType

log = logging.getLogger(__name__)


class NetworkHolder:
    def __init__(self, state_dir: Path, driver: WiringDriver, agent_id: str, host: str,
                 availability_zone: str = "") -> None:
        self._driver = driver
        self._ports_dir = state_dir / "ports"
        self._ports_dir.mkdir(parents=True, exist_ok=True)
        self._revision_file = state_dir / "revision"
        saved = self._revision_file.read_text().strip() if self._revision_file.exists() else ""
        self._revision = int(saved) if saved.isdigit() else 0
        self._held = _load_ports(self._ports_dir)
        self._report = AgentReport(agent_id, host, KIND, (driver.name,), availability_zone)

    def describe(self) -> AgentReport:
        """What the agent is now: its load is the ports it holds."""
        r = self._report
        return AgentReport(r.id, r.host, r.kind, r.capabilities, r.availability_zone,
                           r.admin_up, len(self._held))

    def held(self) -> dict[str, PortWiring]:
        """The ports held, by object uuid."""
        return dict(self._held)

    def resume(self) -> dict[str, str]:
        """Plug every port held again; the reasons of those that failed, by uuid
        (then the next watch resyncs and reports them)."""
        failed = {}
        for uuid, wiring in self._held.items():
            try:
                self._driver.plug(wiring)
            except WiringFailed as exc:
                failed[uuid] = exc.reason
        if failed:
            self._advance(0, force=True)
        return failed

    @property
    def revision(self) -> int:
        return self._revision

    def apply(self, event: BindingEvent) -> tuple[ObjectState, str] | None:
        obj = event.object
        assert obj is not None, "the agent applies events that carry an object"
        said: tuple[ObjectState, str] | None = None
        if event.bound:
            said = self._bind(obj.uuid, wiring_of(obj))
            if said == (obj.state, obj.fault):
                said = None  # the cell has it already (a resync)
        else:
            self._unbind(obj.uuid)
        self._advance(event.revision)
        return said

    def keep_only(self, uuids: Set[str]) -> None:
        for uuid in set(self._held) - set(uuids):
            self._unbind(uuid)

    def reached(self, revision: int) -> None:
        if revision > self._revision:
            self._advance(revision)

    def _bind(self, uuid: str, wiring: PortWiring | MalformedPort) -> tuple[ObjectState, str]:
        if isinstance(wiring, MalformedPort):
            return ObjectState.ERROR, wiring.reason
        # On disk before the links are made: after a crash between the two it is
        # plugged again, or unplugged when its unbinding comes.
        self._held[uuid] = wiring
        _write(self._ports_dir / f"{uuid}.json", json.dumps(asdict(wiring), indent=2) + "\n")
        try:
            self._driver.plug(wiring)
        except WiringFailed as exc:
            log.warning("network agent: port %s: %s", wiring.port_id, exc.reason)
            return ObjectState.ERROR, exc.reason
        return ObjectState.ACTIVE, ""

    def _unbind(self, uuid: str) -> None:
        wiring = self._held.pop(uuid, None)
        if wiring is None:
            return
        (self._ports_dir / f"{uuid}.json").unlink(missing_ok=True)
        try:
            self._driver.unplug(wiring)
        except WiringFailed as exc:  # the object is gone: nobody to report it to
            log.warning("network agent: unplugging port %s: %s", wiring.port_id, exc.reason)

    def _advance(self, revision: int, force: bool = False) -> None:
        if force or revision != self._revision:
            self._revision = revision
            _write(self._revision_file, f"{revision}\n")


def _load_ports(directory: Path) -> dict[str, PortWiring]:
    held = {}
    for path in sorted(directory.glob("*.json")):
        try:
            fields = json.loads(path.read_text())
            fields["network_type"] = NetworkType(fields["network_type"])
            held[path.stem] = PortWiring(**fields)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("network agent: skipping %s: %s", path, exc)
    return held


def _write(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a crash leaves the old file)."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
