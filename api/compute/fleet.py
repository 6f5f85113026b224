"""The tree's leaves and hosts as the compute API's zones, hypervisors and
services show them: what one Topology call of the top says, nothing stored.

    availability zone  a leaf cell's name (a server's OS-EXT-AZ:availability_zone
                       says the same); leaves of agents only are no zone
    hypervisor         a host of a leaf (HostSummary): its name, capacity, health
    service            nova-compute on each host; nova-scheduler on each router
                       cell, in Nova's "internal" zone

Ids are made from a host's (or cell's) full path, so every API process gives
the same ones: a number before 2.53, a uuid from then on, as Nova's.

What the topology does not carry, these resources cannot show: a host's own
`availability_zone` and `enabled = false` of its leaf's [[leaf.hosts]]
(bestmatch applies both at the leaf), and a host's address.
"""

from __future__ import annotations

import hashlib
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from aiohttp import web

from api.errors import BadRequest, Forbidden
from api.state import metadata, request_id, state, who
from model.cells import AGENTS_ONLY, SEPARATOR, CellCapacity, CellKind, CellNode, ListQuery
from model.compute import Instance

INTERNAL_ZONE = "internal"  # Nova's zone of the services that run no instances
COMPUTE, SCHEDULER = "nova-compute", "nova-scheduler"
_IDS = uuidlib.UUID("0b7c4c1e-6a61-4d7e-9a3f-5a4c2f9e7d31")


def admin_only(request: web.Request, rule: str) -> None:
    """403 as Nova's policy writes it, for a caller who is not an admin."""
    if not who(request).admin:
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def uuid_in_path(text: str) -> str:
    """The path's {id} as a canonical uuid (from 2.53 ids are uuids), else 400."""
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise BadRequest(f"Invalid uuid {text[:64]}") from None


def number_of(path: str) -> int:
    """A positive 31-bit id for the thing at `path` (Nova's ids before 2.53)."""
    return int(hashlib.sha256(path.encode()).hexdigest()[:8], 16) >> 1 or 1


def uuid_of(path: str) -> str:
    return str(uuidlib.uuid5(_IDS, path))


@dataclass(frozen=True, slots=True)
class Service:
    """A service as Nova lists it: a host's compute, or a router's scheduler."""

    binary: str
    host: str
    zone: str
    path: str  # the host's or the cell's full path: what its ids are made from
    up: bool
    updated_at: datetime | None

    def ident(self, by_uuid: bool) -> int | str:
        key = f"{self.binary}@{self.path}"
        return uuid_of(key) if by_uuid else number_of(key)


@dataclass(frozen=True, slots=True)
class TreeHost:
    """One host of a leaf, with what its leaf says of it."""

    cell: CellNode  # its leaf
    name: str
    capacity: CellCapacity  # the host's alone

    @property
    def alive(self) -> bool:
        return self.capacity.hosts_up > 0

    @property
    def path(self) -> str:
        return f"{self.cell.path}{SEPARATOR}{self.name}"

    @property
    def zone(self) -> str:
        return self.cell.name

    @property
    def up(self) -> bool:
        return self.alive and self.cell.health == "up"

    def ident(self, by_uuid: bool) -> int | str:
        return uuid_of(self.path) if by_uuid else number_of(self.path)

    def service(self) -> Service:
        return Service(COMPUTE, self.name, self.zone, self.path, self.up, self.cell.last_seen)


async def topology(request: web.Request) -> CellNode:
    """The tree as the top answers Topology: for admins as themselves; for a
    member as the API itself (a member's own token may not ask)."""
    tree = state(request).tree
    calls = metadata(request) if who(request).admin else tree.own_metadata(request_id(request))
    return await tree.client.topology(metadata=calls)


def leaves(top: CellNode) -> list[CellNode]:
    """The leaves that run instances, depth first."""
    return [cell for cell in top.walk()
            if cell.kind is CellKind.LEAF and cell.driver != AGENTS_ONLY]


def hosts(top: CellNode) -> list[TreeHost]:
    """Every host the tree reports (a leaf that did not answer shows none)."""
    return [TreeHost(leaf, host.name, host.capacity)
            for leaf in leaves(top) for host in leaf.hosts]


def services(top: CellNode) -> list[Service]:
    """The routers' schedulers, then each host's compute."""
    routers = [Service(SCHEDULER, cell.name, INTERNAL_ZONE, cell.path,
                       cell.health == "up", cell.last_seen)
               for cell in top.walk() if cell.kind is CellKind.ROUTER]
    return routers + [host.service() for host in hosts(top)]


async def instances_in(request: web.Request, cells: Iterable[str]) -> list[Instance]:
    """Every instance (of every project: for admins only) in the subtrees at `cells`."""
    found: list[Instance] = []
    for cell in dict.fromkeys(cells):
        found.extend(await every_instance(request, ListQuery(cell=cell)))
    return found


async def every_instance(request: web.Request, query: ListQuery) -> list[Instance]:
    """Every instance `query` matches, page after page, for this request's caller."""
    client = state(request).tree.client
    query = replace(query, limit=1000)
    found: list[Instance] = []
    while True:
        page = await client.list(query, metadata=metadata(request))
        found.extend(page.instances)
        if not page.next_page_token:
            return found
        query = replace(query, page_token=page.next_page_token)
