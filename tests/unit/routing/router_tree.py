"""A router over fake children, for the unit tests of routing: a real SQLite
index under a `RouterCell` whose children are `FakeChild` links (tests/unit/
fakes.py), reached only through the `Connect` function the router is given,
as gRPC links are in a cell."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bestmatch.api import HostState, RequestSpec, Selection
from cells.backend import Identity
from cells.edge.servicers import CellsServicer
from cells.router import RouterCell
from model.call import Call
from model.cells import CellCapacity, CellKind, ChildReport, Registration
from model.compute import BootSpec, Resources
from routing.children import Children
from routing.index import LocationIndex
from tests.unit.fakes import FakeChild

TOP = "top"
ROOMY = CellCapacity(total=Resources(64, 65536, 1000), largest_free=Resources(64, 65536, 1000),
                     hosts=1, hosts_up=1)


class InOrder:
    """A selector that keeps the children in the order they registered."""

    name = "in-order"

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        return Selection(tuple(candidates), len(candidates), {}, len(candidates))


@dataclass
class Tree:
    router: RouterCell
    index: LocationIndex
    kids: dict[str, FakeChild]
    children: Children

    def mark_down(self, name: str) -> None:
        child = self.children.get(name)
        assert child is not None
        child.last_seen = time.monotonic() - 3600


def uuid() -> str:
    return str(uuidlib.uuid4())


def spec(name: str = "web", request_id: str = "", project: str = "acme") -> BootSpec:
    return BootSpec("", request_id or uuid(), name, Resources(1, 512), project=project)


Body = Callable[[Tree], Awaitable[None]]


def run(tmp_path: Path, body: Body, names: Sequence[str] = ("a", "b"), *,
        direct: bool = False, list_timeout: float = 1.0,
        pause_as_suspend: bool = False) -> None:
    """Run `body` against a router over fake children `names`, each one leaf."""
    async def main() -> None:
        async with tree(tmp_path, names, direct, list_timeout, pause_as_suspend) as made:
            await body(made)

    asyncio.run(main())


class tree:
    def __init__(self, tmp_path: Path, names: Sequence[str], direct: bool,
                 list_timeout: float, pause_as_suspend: bool = False) -> None:
        self._args = (tmp_path, names, direct, list_timeout, pause_as_suspend)
        self._made: Tree | None = None

    async def __aenter__(self) -> Tree:
        tmp_path, names, direct, list_timeout, pause_as_suspend = self._args
        index = LocationIndex.open(f"sqlite:///{tmp_path / 'router.db'}")
        identity = Identity(TOP, "127.0.0.1:1", TOP, CellKind.ROUTER)
        kids = {n: FakeChild(n, f"{TOP}!{n}") for n in names}
        by_address = {f"fake:{n}": kid for n, kid in kids.items()}

        def connect(address: str, name: str, label: str) -> Any:
            return by_address[address]

        children = Children(index.engine, identity, down_after=30.0, connect=connect)
        router = RouterCell(identity, children, index, InOrder(), child_timeout=5.0,
                            list_timeout=list_timeout, direct_to_leaf=direct,
                            pause_as_suspend=pause_as_suspend,
                            connect=connect)
        for name, kid in kids.items():
            await children.register(Registration(name, f"fake:{name}", CellKind.LEAF))
            router.on_report(ChildReport(name, ROOMY, leaves=(kid.leaf_info(),)))
        self._made = Tree(router, index, kids, children)
        return self._made

    async def __aexit__(self, *_: object) -> None:
        assert self._made is not None
        await self._made.router.close()
        self._made.index.close()


async def boot_into(t: Tree, child: str, name: str = "web", project: str = "acme") -> str:
    """An instance at `child`, recorded in the index as a boot would."""
    for other, kid in t.kids.items():
        kid.full = other != child
    instance = await t.router.boot(spec(name, project=project), Call())
    for kid in t.kids.values():
        kid.full = False
    return instance.uuid


def edge_of(t: Tree, max_hops: int = 10) -> CellsServicer:
    """The router's gRPC servicer, with its fast path, as a cell serves it."""
    return CellsServicer(t.router, t.router.identity, max_hops=max_hops, fast=t.router.fast)
