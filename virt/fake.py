"""An in-memory hypervisor: hosts with capacity and the instance state machine.

It behaves like a real driver (claims capacity, refuses illegal transitions,
is safe across threads) but runs nothing, so it does not block: the leaf
calls it on its event loop. Give it a `state_file` and it keeps its instances
on disk (a small SQLite file, one row per instance: written whole when the
instance is built, then only its state column on each action, committed
before the call returns), so a leaf cell restarted on the same file finds
them again, as it would on a real hypervisor.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from virt.errors import InstanceNotFound, InvalidSpec, NoCapacity
from virt.tombstones import Tombstones


@dataclass(frozen=True, slots=True)
class FakeHost:
    name: str
    total: Resources
    alive: bool = True


def hosts_from_config(entries: Iterable[Mapping[str, Any]]) -> list[FakeHost]:
    """Hosts from config tables: name, vcpus, memory_mb, disk_gb, and the
    allocation ratios cpu_allocation_ratio, ram_allocation_ratio and
    disk_allocation_ratio (default 1.0): the host can be claimed up to its
    size times the ratio. Other keys are the leaf's business, not the driver's."""
    hosts = []
    for entry in entries:
        try:
            size = Resources(int(entry["vcpus"]), int(entry["memory_mb"]),
                             int(entry.get("disk_gb", 0)))
            total = size.scaled(allocation_ratios(entry))
            hosts.append(FakeHost(str(entry["name"]), total, bool(entry.get("alive", True))))
        except KeyError as exc:
            raise InvalidSpec(f"fake host {dict(entry)} lacks {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise InvalidSpec(f"fake host {dict(entry)}: sizes must be numbers ({exc})") from exc
    return hosts


class FakeDriver:
    def __init__(
        self,
        hosts: Iterable[FakeHost],
        state_file: Path | None = None,
        capabilities: Capabilities | None = None,
    ) -> None:
        # No hosts is allowed: a leaf of agents only (service objects), where
        # no instance can go.
        self._hosts = {h.name: h for h in hosts}
        self._db = _open_state(state_file) if state_file is not None else None
        self._capabilities = replace(capabilities or Capabilities(), blocking=False)
        self._lock = threading.Lock()
        self._instances: dict[str, Instance] = self._load()
        self._tombstones = Tombstones()

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def hosts(self) -> list[HostInfo]:
        with self._lock:
            return [self._host_info(h) for h in self._hosts.values()]

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        with self._lock:
            if spec.uuid in self._instances:
                return self._instances[spec.uuid]
            if host not in self._hosts:
                raise InvalidSpec(f"no host named {host!r}")
            info = self._host_info(self._hosts[host])
            if not info.alive or not info.free.covers(spec.flavor):
                raise NoCapacity(f"host {host} cannot hold {spec.flavor} (free {info.free})")
            now = datetime.now(UTC)
            instance = Instance(
                uuid=spec.uuid,
                name=spec.name,
                state=InstanceState.ACTIVE,
                flavor=spec.flavor,
                image=spec.image,
                ports=spec.ports,
                host=host,
                project=spec.project,
                request_id=spec.request_id,
                created_at=now,
                updated_at=now,
            )
            self._instances[spec.uuid] = instance
            self._save(instance)
            return instance

    def act(self, uuid: str, action: Action) -> Instance:
        if action is Action.SHELVE:  # the leaf calls the Shelver methods; this is for others
            return self.shelve(uuid)
        if action is Action.SHELVE_OFFLOAD:
            return self.offload(uuid)
        if action is Action.UNSHELVE:  # an offloaded instance needs a host: unshelve()
            return self.unshelve(uuid, "")
        with self._lock:
            # A uuid booted again after its delete is a live instance, not the tombstone.
            if action is Action.DELETE and uuid not in self._instances:
                gone = self._tombstones.get(uuid)
                if gone is not None:
                    return gone  # deleted already: not an error
            current = self._find(uuid)
            target = check(uuid, current.state, action)
            updated = replace(current, state=target, updated_at=datetime.now(UTC))
            if target is InstanceState.DELETED:
                del self._instances[uuid]
                self._tombstones.remember(updated)
                self._drop(uuid)
            else:
                self._instances[uuid] = updated
                self._save_state(updated)
            return updated

    def rebuild(self, uuid: str, image: str, image_source: str) -> Instance:
        """The instance with `image` (a test host keeps no disks to rewrite)."""
        del image_source
        with self._lock:
            rebuilt = replace(self._find(uuid), image=image, updated_at=datetime.now(UTC))
            self._instances[uuid] = rebuilt
            self._save(rebuilt)
            return rebuilt

    def shelve(self, uuid: str) -> Instance:
        with self._lock:
            return self._move(uuid, Action.SHELVE, None)

    def offload(self, uuid: str) -> Instance:
        with self._lock:
            return self._move(uuid, Action.SHELVE_OFFLOAD, "")

    def unshelve(self, uuid: str, host: str) -> Instance:
        with self._lock:
            current = self._find(uuid)
            if current.state is not InstanceState.SHELVED_OFFLOADED:
                if host not in ("", current.host):
                    raise InvalidSpec(f"{uuid} is shelved on {current.host}, not offloaded:"
                                      f" it cannot be unshelved on {host}")
                return self._move(uuid, Action.UNSHELVE, None)
            if host not in self._hosts:
                raise InvalidSpec(f"no host named {host!r}")
            info = self._host_info(self._hosts[host])
            if not info.alive or not info.free.covers(current.flavor):
                raise NoCapacity(f"host {host} cannot hold {current.flavor} (free {info.free})")
            return self._move(uuid, Action.UNSHELVE, host)

    def _move(self, uuid: str, action: Action, host: str | None) -> Instance:
        """The instance after `action`, on `host` (None: where it is)."""
        current = self._find(uuid)
        target = check(uuid, current.state, action)
        moved = replace(current, state=target, updated_at=datetime.now(UTC),
                        host=current.host if host is None else host)
        self._instances[uuid] = moved
        self._save(moved)
        return moved

    def get(self, uuid: str) -> Instance:
        with self._lock:
            return self._find(uuid)

    def instances(self) -> list[Instance]:
        with self._lock:
            return list(self._instances.values())

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _find(self, uuid: str) -> Instance:
        try:
            return self._instances[uuid]
        except KeyError:
            raise InstanceNotFound(uuid) from None

    def _host_info(self, host: FakeHost) -> HostInfo:
        on_host = [i for i in self._instances.values() if i.host == host.name]
        used = sum((i.flavor for i in on_host), Resources())
        return HostInfo(host.name, host.total, used, len(on_host), host.alive)

    # --- persistence: one row per instance; an action updates its state only

    def _save(self, instance: Instance) -> None:
        if self._db is not None:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO instances (uuid, data, state, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (instance.uuid, json.dumps(_instance_to_json(instance)),
                     instance.state.value, _stamp(instance.updated_at)))

    def _save_state(self, instance: Instance) -> None:
        if self._db is not None:
            with self._db:
                self._db.execute("UPDATE instances SET state = ?, updated_at = ? WHERE uuid = ?",
                                 (instance.state.value, _stamp(instance.updated_at),
                                  instance.uuid))

    def _drop(self, uuid: str) -> None:
        if self._db is not None:
            with self._db:
                self._db.execute("DELETE FROM instances WHERE uuid = ?", (uuid,))

    def _load(self) -> dict[str, Instance]:
        if self._db is None:
            return {}
        rows = self._db.execute("SELECT data, state, updated_at FROM instances").fetchall()
        instances = (_instance_from_row(json.loads(data), state, updated)
                     for data, state, updated in rows)
        return {i.uuid: i for i in instances}


def _open_state(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS instances (uuid TEXT PRIMARY KEY, data TEXT)")
    # A file written before actions updated one column has no such columns.
    columns = {row[1] for row in db.execute("PRAGMA table_info(instances)")}
    for column in ("state", "updated_at"):
        if column not in columns:
            db.execute(f"ALTER TABLE instances ADD COLUMN {column} TEXT")
    db.isolation_level = "DEFERRED"
    return db


def _instance_to_json(instance: Instance) -> dict[str, Any]:
    row = asdict(instance)
    del row["attributes"]  # the leaf's (cells.attributes), not the hypervisor's
    row["state"] = instance.state.value
    for key in ("created_at", "updated_at"):
        row[key] = _stamp(getattr(instance, key))
    return row


def _instance_from_row(data: dict[str, Any], state: str | None,
                       updated_at: str | None) -> Instance:
    """An instance from its row: the whole of it as built, then its state columns
    (absent in a file written before actions updated them alone)."""
    instance = _instance_from_json(data)
    if state is None:
        return instance
    return replace(instance, state=InstanceState(state), updated_at=_parse_time(updated_at))


def _stamp(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _instance_from_json(row: dict[str, Any]) -> Instance:
    row = {k: v for k, v in row.items() if k != "attributes"}  # never the hypervisor's
    return Instance(
        **{
            **row,
            "state": InstanceState(row["state"]),
            "flavor": Resources(**row["flavor"]),
            "ports": tuple(Port(**p) for p in row["ports"]),
            "created_at": _parse_time(row["created_at"]),
            "updated_at": _parse_time(row["updated_at"]),
        }
    )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def from_config(
    options: Mapping[str, Any], hosts: Iterable[Mapping[str, Any]], state_dir: Path
) -> FakeDriver:
    """The `fake` entry point: hosts from config, instances kept in the state dir,
    or in `state_file` (a "hypervisor" that a leaf and its standby share)."""
    unknown = sorted(set(options) - {"state_file"})
    if unknown:
        raise InvalidSpec(f"the fake driver takes only state_file, got {', '.join(unknown)}")
    state_file = Path(options.get("state_file") or state_dir / "fake-hypervisor.db")
    return FakeDriver(hosts_from_config(hosts), state_file=state_file)
