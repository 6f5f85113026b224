"""The children a router routes to: who registered, where they are, whether
they are up, and what they last reported.

Children register (name, address, kind, capabilities) and then report every
`report_interval` seconds. A child not heard from for `down_after` intervals
is down: routed calls to it fail fast with UNAVAILABLE and placement skips
it. Registrations are kept in the cell's database, so a restarted parent
routes to its children at once; it counts them up for one down period after
start, giving them time to report.

Whoever must hear when a child goes down or comes back (cells.router_notify:
the router's notifications) is given as a `LivenessListener`: `look` (every
report interval, from `keep_looking`) tells it of each child whose liveness
changed since the last look, and a report from a child last found down tells
it at once. The first look after start only remembers, as does the first
look at a child registered since.

A child is reached through a `ChildLink` made by the `Connect` function the
cell hands in (gRPC in a cell process, fakes in unit tests).

A child may run as several replicas (processes with the same name, sharing
one database): each registers and reports with its own address, and the link
to the child spans the addresses heard from within FORGET_AFTER, joined with
commas (gRPC balances calls over the ones that answer; an address that does
not is skipped at little cost, so one is forgotten only long after it fell
silent: a replica that restarts must find itself still in its parent's link,
and its siblings with it). A new address makes a new link; the old one is
closed once the calls on it have had time to finish.

A leaf may also have standby processes, waiting to take over from its active
one (cells.standby). A standby reports only that it is there: it is shown in
the topology but never in the link, and it joins the link when it takes over
and registers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, select

from celldb.store import transaction, upsert
from model.cells import (
    SEPARATOR,
    CellCapacity,
    CellKind,
    ChildReport,
    LeafInfo,
    Registration,
    Replica,
    in_subtree,
)
from model.compute import Action, Resources
from model.errors import NotFound, Unavailable
from routing.link import ChildLink, Connect
from routing.tables import children as children_table
from routing.validate import check_registration, check_report

T = TypeVar("T")
log = logging.getLogger(__name__)
RETIRE_AFTER = 60.0  # seconds a replaced link stays open for the calls already on it
FORGET_AFTER = 60.0  # seconds after which a silent replica's address leaves the link


class Here(Protocol):
    """This cell, as routing needs to know it."""

    @property
    def path(self) -> str:
        """Its full path; only its name until its parent has told it the rest."""
        ...


class LivenessListener(Protocol):
    """Hears of children found down, and back up."""

    def liveness_changed(self, child: Child, up: bool) -> None:
        """`child` was up at the last look and is down now (`up` false), or the
        reverse. Called on the cell's event loop; must not await. An exception
        is logged and the change counts as told (it is not told again)."""
        ...


@dataclass(slots=True)
class Child:
    name: str
    parent: Here
    address: str
    kind: CellKind
    capabilities: tuple[str, ...]
    capacity: CellCapacity = field(default_factory=CellCapacity)
    last_seen: float = field(default_factory=time.monotonic)
    connect: Connect | None = None
    client: ChildLink | None = None
    # Every leaf in its subtree, by path relative to it ("" for the child itself).
    leaves: dict[str, LeafInfo] = field(default_factory=dict)
    # Each replica's address, and when it last registered or reported.
    replicas: dict[str, float] = field(default_factory=dict)
    # Each standby process's address, and when it last said it was there.
    standbys: dict[str, float] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.parent.path}{SEPARATOR}{self.name}"

    def link(self) -> ChildLink:
        if self.client is None:
            if self.connect is None:
                raise Unavailable(f"cell {self.path} has no link")
            self.client = self.connect(self.address, self.name, "")
        self.client.label = f"cell {self.path} ({self.address})"  # its path may be new
        return self.client


class Children:
    def __init__(self, engine: Engine, identity: Here, down_after: float,
                 connect: Connect | None = None,
                 listener: LivenessListener | None = None) -> None:
        self._engine = engine
        self._identity = identity
        self._connect = connect
        self.down_after = down_after
        self._listener = listener
        self._looked: dict[str, bool] | None = None  # each child up, at the last look
        self._children: dict[str, Child] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._load()

    def __iter__(self) -> Iterator[Child]:
        return iter(list(self._children.values()))

    def __len__(self) -> int:
        return len(self._children)

    def is_up(self, child: Child) -> bool:
        return time.monotonic() - child.last_seen <= self.down_after

    def get(self, name: str) -> Child | None:
        return self._children.get(name)

    def require_up(self, name: str) -> Child:
        """The child called `name`, or the error a routed call should fail with."""
        child = self._children.get(name)
        if child is None:
            raise Unavailable(f"cell {self._identity.path}!{name} is not registered with "
                              f"{self._identity.path}")
        if not self.is_up(child):
            silent = time.monotonic() - child.last_seen
            raise Unavailable(f"cell {child.path} is down (no report for {silent:.0f} s)")
        return child

    async def register(self, reg: Registration) -> Child:
        check_registration(reg)
        old = self._children.get(reg.name)
        child = Child(
            name=reg.name,
            parent=self._identity,
            address=old.address if old else reg.address,
            kind=reg.kind,
            capabilities=reg.capabilities,
            capacity=old.capacity if old else CellCapacity(),
            connect=self._connect,
            client=old.client if old else None,
            replicas=old.replicas if old else {},
            standbys=old.standbys if old else {},
        )
        self._children[reg.name] = child
        self._add_replica(child, reg.address)
        return child

    def report(self, report: ChildReport) -> Child:
        """Record a heartbeat. NotFound when the child has not registered."""
        child = self._children.get(report.name)
        if child is None:
            raise NotFound(f"cell {report.name} is not registered with {self._identity.path}")
        check_report(report)
        if report.standby:
            self._standing_by(child, report.address)
            return child
        child.last_seen = now = time.monotonic()
        if self._looked is not None and self._looked.get(child.name) is False:
            self._tell(child, True)  # back: told now, not at the next look
        child.leaves = {leaf.path: leaf for leaf in report.leaves}
        if report.address and report.address not in child.replicas:
            self._add_replica(child, report.address)  # a replica this one never saw register
        elif report.address:
            child.replicas[report.address] = now
        if report.capacity != child.capacity:
            child.capacity = report.capacity
            self._save(child)
        return child

    def look(self) -> None:
        """Tell the listener of each child whose liveness changed since the
        last look (the first look only remembers, as for a child new since)."""
        now = {name: self.is_up(child) for name, child in self._children.items()}
        before, self._looked = self._looked, now
        if before is None:
            return
        for name, up in now.items():
            if name in before and before[name] != up:
                self._tell(self._children[name], up)

    async def keep_looking(self, every: float) -> None:
        """`look` every `every` seconds, until cancelled."""
        while True:
            self.look()
            await asyncio.sleep(every)

    def _tell(self, child: Child, up: bool) -> None:
        if self._looked is not None:
            self._looked[child.name] = up
        if self._listener is None:
            return
        try:
            self._listener.liveness_changed(child, up)
        except Exception:  # the routing goes on; the next change is told
            log.exception("telling that cell %s is %s failed", child.path,
                          "up" if up else "down")

    def replicas_of(self, child: Child) -> tuple[Replica, ...]:
        """The child's processes as this cell hears from them, when there are
        several (one process is the child itself: nothing to tell)."""
        now = time.monotonic()
        standbys = {a: t for a, t in child.standbys.items() if now - t <= FORGET_AFTER}
        if len(child.replicas) + len(standbys) < 2:
            return ()
        return (tuple(Replica(a, now - t) for a, t in sorted(child.replicas.items()))
                + tuple(Replica(a, now - t, standby=True) for a, t in sorted(standbys.items())))

    def _standing_by(self, child: Child, address: str) -> None:
        """A standby of the child is there, at `address`. Should that address be
        in the link (the process served there before it restarted and found
        another active), it leaves the link: a standby does not serve."""
        if not address:
            return
        now = time.monotonic()
        child.standbys = {a: t for a, t in child.standbys.items() if now - t <= FORGET_AFTER}
        child.standbys[address] = now
        if address in child.replicas and len(child.replicas) > 1:
            del child.replicas[address]
            self._relink(child)

    def _live(self, child: Child) -> dict[str, float]:
        """The child's replicas heard from within FORGET_AFTER (or the down period,
        if that is longer)."""
        now, keep = time.monotonic(), max(FORGET_AFTER, self.down_after)
        return {a: t for a, t in child.replicas.items() if now - t <= keep}

    def _add_replica(self, child: Child, address: str) -> None:
        """Note `address` as one of the child's processes, heard from now (the
        long-silent ones forgotten), and save it; a link over other addresses
        is replaced."""
        child.replicas = self._live(child)
        child.replicas[address] = time.monotonic()
        child.standbys.pop(address, None)  # it took over
        self._relink(child)

    def _relink(self, child: Child) -> None:
        """Point the child's link at its replicas' addresses, replacing a link
        over others, and save them."""
        joined = _joined(child.replicas)
        if joined != child.address and child.client is not None:
            self._retire(child.client)
            child.client = None
        child.address = joined
        self._save(child)

    def _retire(self, client: ChildLink) -> None:
        """Close a replaced link once the calls already on it have had their time."""
        async def later() -> None:
            await asyncio.sleep(RETIRE_AFTER)
            await client.close()
        task = asyncio.get_running_loop().create_task(later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def toward(self, path: str) -> list[Child]:
        """The children whose subtrees hold cells in the subtree at full `path`:
        all of them when `path` is this cell or above it, the one on the way
        when it is below, none when it is elsewhere."""
        mine = self._identity.path
        if in_subtree(mine, path):
            return list(self._children.values())
        if not path.startswith(mine + SEPARATOR):
            return []
        child = self._children.get(path[len(mine) + 1:].partition(SEPARATOR)[0])
        return [child] if child is not None else []

    def leaf(self, path: str) -> LeafInfo | None:
        """The leaf at full `path`, if a child reported it (even a child that
        is down now: the leaf below it may well be up), named by that path."""
        mine = self._identity.path + SEPARATOR
        if not path.startswith(mine):
            return None
        name, _, below = path[len(mine):].partition(SEPARATOR)
        child = self._children.get(name)
        found = child.leaves.get(below) if child is not None else None
        return replace(found, path=path) if found is not None else None

    def refusing(self, path: str, action: Action) -> LeafInfo | None:
        """The leaf at full `path` when it reported that it cannot do `action`;
        None when it can, or has not said (it then decides for itself)."""
        leaf = self.leaf(path)
        return None if leaf is None or leaf.supports(action) else leaf

    def leaves(self) -> tuple[LeafInfo, ...]:
        """Every leaf below, by path relative to this cell, as last reported.
        Those below a child that is down stay: their actions have not changed,
        and they may be up themselves.

        Paths travel relative so that no cell depends on a leaf knowing its
        full path yet (it learns it only once every cell above has)."""
        return tuple(sorted(
            (replace(leaf, path=f"{child.name}!{rel}" if rel else child.name)
             for child in self._children.values() for rel, leaf in child.leaves.items()),
            key=lambda leaf: leaf.path,
        ))

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        for child in self._children.values():
            if child.client is not None:
                await child.client.close()

    # --- persistence

    def _save(self, child: Child) -> None:
        values = {
            "name": child.name,
            "address": child.address,
            "kind": child.kind.value,
            "capabilities": json.dumps(list(child.capabilities)),
            "capacity": json.dumps(asdict(child.capacity)),
            "registered_at": time.time(),
        }
        with transaction(self._engine, "child registry") as conn:
            upsert(conn, children_table, "name", values)

    def _load(self) -> None:
        with transaction(self._engine, "child registry") as conn:
            rows = conn.execute(select(children_table)).all()
        for row in rows:
            self._children[row.name] = Child(
                name=row.name,
                parent=self._identity,
                address=row.address,
                replicas=dict.fromkeys(row.address.split(","), time.monotonic()),
                kind=CellKind(row.kind),
                capabilities=tuple(json.loads(row.capabilities)),
                capacity=_capacity_from_json(json.loads(row.capacity)),
                connect=self._connect,
            )


def _joined(replicas: dict[str, float]) -> str:
    """The address of a child's link: its replicas' addresses, in a stable order."""
    return ",".join(sorted(replicas))


def _capacity_from_json(data: dict[str, Any]) -> CellCapacity:
    return CellCapacity(
        total=Resources(**data["total"]),
        used=Resources(**data["used"]),
        largest_free=Resources(**data["largest_free"]),
        hosts=data["hosts"],
        hosts_up=data["hosts_up"],
        instances=data["instances"],
        flavor_fits=tuple((name, int(n)) for name, n in data.get("flavor_fits", ())),
        states=tuple((name, int(n)) for name, n in data.get("states", ())),
        agents=tuple((key, int(n)) for key, n in data.get("agents", ())),
    )


async def fanout(
    children: Sequence[Child], ask: Callable[[Child], Awaitable[T]]
) -> list[tuple[Child, T | BaseException]]:
    """Ask `children` concurrently; failures come back as exceptions."""
    answers = await asyncio.gather(*(ask(c) for c in children), return_exceptions=True)
    return list(zip(children, answers, strict=True))
