"""Who may call a cell's port, and what a member token may see through it.

A port has a gate, which turns a call's metadata and TLS peer into the
principal it acts for (or refuses it):

    open_gate    plaintext or client TLS without [auth]: everyone is admin
    TokenGate    the client port with [auth]: the API token decides
    PeerGate     the cells' port under mTLS: only the cells allowed there

`ScopedCells` wraps a cell's calls so that a member sees only its project:
instances of other projects are NOT_FOUND, exactly like missing ones, and
its actions obey the instance's lock (`Call.obey_lock`): the leaf, where the
lock is kept, refuses them with FAILED_PRECONDITION, as Nova answers 409.

A caller may narrow itself to one project with `x-cellrouter-act-for:
PROJECT` metadata (`narrow`): an admin then acts as a member of PROJECT. This
is how an API process in front of the tree (`api/`) acts for its users with
one credential of its own, and the scoping stays in this one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from cells.backend import CellBackend
from cells.security.auth import TokenStore
from cellwire.tls import require_peer
from model.call import ACT_FOR_KEY, Call
from model.catalog import Catalog
from model.cells import (
    CellNode,
    InstancePage,
    ListQuery,
    Located,
    Placement,
    PlacementOption,
)
from model.compute import Action, BootSpec, Instance, Resources
from model.edits import Edit
from model.errors import AlreadyExists, InvalidArgument, PermissionDenied
from model.instance_actions import ActionLog
from model.principal import EVERYONE, Principal
from routing.errors import UnknownInstance

AuthContext = Mapping[str, Iterable[bytes]]


class Gate(Protocol):
    def __call__(self, metadata: Mapping[str, str], peer: AuthContext) -> Principal:
        """The principal a call acts for; raises Unauthenticated or PermissionDenied."""
        ...


def open_gate(metadata: Mapping[str, str], peer: AuthContext) -> Principal:
    return EVERYONE


class TokenGate:
    def __init__(self, store: TokenStore) -> None:
        self._store = store

    def __call__(self, metadata: Mapping[str, str], peer: AuthContext) -> Principal:
        return self._store.authenticate(metadata)


class PeerGate:
    """Cells calls only from the cells named by `allowed()` (this cell's
    ancestors, learnt at registration)."""

    def __init__(self, allowed: Callable[[], Sequence[str]]) -> None:
        self._allowed = allowed

    def __call__(self, metadata: Mapping[str, str], peer: AuthContext) -> Principal:
        require_peer(peer, self._allowed(), "call this cell (only the cells above it may)")
        return EVERYONE


def narrow(principal: Principal, metadata: Mapping[str, str]) -> Principal:
    """`principal`, narrowed to the project the call asks to act for, if any.

    Narrowing only ever takes rights away: an admin becomes a member of the
    project; a member may name its own project only.
    """
    project = metadata.get(ACT_FOR_KEY)
    if project is None:
        return principal
    if not project:
        raise PermissionDenied(f"{ACT_FOR_KEY} names no project")
    if principal.admin:
        # Its own id, so that the limits count each project apart.
        return Principal(f"{principal.token_id}@{project}", project, "member", vouched=True)
    if project != principal.project:
        raise PermissionDenied(
            f"a token of project {principal.project} cannot act for project {project}")
    return principal


def cells_only(placement: Placement) -> Placement:
    """A plan as a member sees it: the cells, best first, without the hosts
    (which hypervisors a deployment runs is the operator's to know)."""
    cells = dict.fromkeys(option.cell_path for option in placement.ranked)
    return replace(placement, ranked=tuple(PlacementOption(path) for path in cells))


def member_boot(who: Principal, spec: BootSpec, catalog: Catalog) -> BootSpec:
    """What a member's boot may ask for, decided here on every port (the HTTP
    API's checks come first, but are not the only ones): its own project; no
    uuid of its choosing (the tree gives one: a chosen uuid could take another
    instance's name in a hypervisor); a server group of its own project's
    (a group hint is scoped to the project, as the API scopes it, so that no
    member joins, or reads the placement of, another project's group); and
    only the images and networks `catalog` offers its project, with MACs of
    the tree's making (model.catalog)."""
    if spec.uuid and not who.vouched:
        raise InvalidArgument("a member cannot choose an instance's uuid; the tree gives one")
    hints = dict(spec.hints)
    group = hints.get("group")
    if group is not None and not group.startswith(f"{who.project}:"):
        hints["group"] = f"{who.project}:{group}"
    spec = replace(spec, project=_own_project(who, spec.project, "boot into"),
                   hints=tuple(sorted(hints.items())))
    return catalog.member_boot(spec, bound_ports=who.vouched)


class ScopedCells:
    """The calls of `backend`, limited to what `call.principal` may see."""

    def __init__(self, backend: CellBackend, catalog: Catalog | None = None) -> None:
        self._backend = backend
        self._catalog = catalog or Catalog()

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        who = call.principal
        if not who.admin:
            spec = member_boot(who, spec, self._catalog)
        instance = await self._backend.boot(spec, call)
        if not who.owns(instance.project):  # the request id was another project's boot
            raise AlreadyExists(f"request id {spec.request_id} is already in use")
        return instance

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        if call.principal.admin:
            return await self._backend.plan(spec, call)
        spec = replace(spec, project=_own_project(call.principal, spec.project, "plan for"))
        return cells_only(await self._backend.plan(spec, call))

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        await self._check_owner(uuid, call)
        if not call.principal.admin:
            if host:  # as Nova's 2.91: only an admin names one
                raise PermissionDenied("only an admin may name the host an unshelve goes to")
            call = replace(call, obey_lock=True)  # the leaf, which keeps the lock, says no
        return await self._backend.act(uuid, action, wait, call, host)

    async def update(self, uuid: str, edit: Edit, call: Call) -> Instance:
        await self._check_owner(uuid, call)
        return await self._backend.update(uuid, edit, call)

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        await self._check_owner(uuid, call)
        if not call.principal.admin:  # a member rebuilds only from images offered to all
            self._catalog.member_boot(BootSpec("", "", "", Resources(), image=image))
        return await self._backend.rebuild(uuid, image, call)

    async def get(self, uuid: str, call: Call) -> Instance:
        # The owner first, from the index: another project's instance in a cell that
        # does not answer must look missing too, not unavailable.
        await self._check_owner(uuid, call)
        instance = await self._backend.get(uuid, call)
        if not call.principal.owns(instance.project):
            raise UnknownInstance(uuid)
        return instance

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        if not call.principal.admin:
            query = replace(query, project=_own_project(call.principal, query.project, "list"))
        return await self._backend.list(query, call)

    async def locate(self, uuid: str, call: Call) -> Located:
        await self._check_owner(uuid, call)
        return await self._backend.locate(uuid, call)

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        # No owner first: a deleted instance's owner is known only to its log.
        log = await self._backend.actions(uuid, request_id, call)
        if not call.principal.owns(log.project):
            raise UnknownInstance(uuid)
        return log

    async def topology(self, call: Call) -> CellNode:
        if not call.principal.admin:
            raise PermissionDenied("the tree's topology is shown to admin tokens only")
        return await self._backend.topology(call)

    async def _check_owner(self, uuid: str, call: Call) -> None:
        """NOT_FOUND, as for a missing uuid, unless the principal may see it;
        answered from what the cell already knows, with no routed call."""
        who = call.principal
        if not who.admin and not who.owns(await self._backend.owner(uuid, call)):
            raise UnknownInstance(uuid)


def _own_project(who: Principal, asked: str, what: str) -> str:
    if asked and asked != who.project:
        raise PermissionDenied(f"a token of project {who.project} cannot {what} project {asked}")
    return who.project
