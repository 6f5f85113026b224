"""The contract between a leaf cell and whatever runs its instances.

A driver manages one or more hosts. The leaf cell calls it from worker
threads, so implementations must be safe to call concurrently. The request id
of the call a method serves is `model.context.REQUEST_ID` ("" outside one); a
driver whose manager records a caller's id (oVirt's Correlation-Id) sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from model.compute import Action, BootSpec, HostInfo, Instance, InstanceState
from model.states import SHELVING


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a driver can do; advertised up the tree by the leaf.

    `reasons` says, for an action left out, why (shown to a client whose
    request is refused for it).
    """

    actions: frozenset[Action] = field(default_factory=lambda: frozenset(Action))
    reasons: tuple[tuple[Action, str], ...] = ()
    # True when calls wait on a hypervisor or a network: the leaf then makes
    # each in a worker thread. A driver that only computes (and writes a local
    # row) says False, and is called on the leaf's event loop.
    blocking: bool = True

    def names(self) -> list[str]:
        return sorted(a.value for a in self.actions)

    def why_not(self, action: Action) -> str:
        """Why `action` is not supported ("" when it is)."""
        if action in self.actions:
            return ""
        return dict(self.reasons).get(action, "the driver does not support it")

    def refusals(self) -> tuple[tuple[str, str], ...]:
        """(action, reason) for every action left out."""
        return tuple((a.value, self.why_not(a)) for a in sorted(
            set(Action) - self.actions, key=lambda a: a.value))


def without_shelving(capabilities: Capabilities, why: str) -> Capabilities:
    """`capabilities` less the shelving actions (model.states.SHELVING), each
    refused for `why`: for a driver that is no Shelver."""
    return replace(capabilities, actions=capabilities.actions - SHELVING,
                   reasons=(*capabilities.reasons, *((a, why) for a in sorted(
                       SHELVING, key=lambda a: a.value))))


class VirtDriver(Protocol):
    """A hypervisor (or a manager of many) seen by a leaf cell."""

    @property
    def capabilities(self) -> Capabilities:
        """The actions this driver supports."""
        ...

    def hosts(self) -> list[HostInfo]:
        """Every host with its capacity in schedulable units and what is used.

        May raise HypervisorUnavailable.
        """
        ...

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        """Claim room on `host` and build the instance described by `spec`.

        Idempotent on `spec.uuid`: spawning a uuid that exists returns it.
        Raises NoCapacity when the host cannot hold it (nothing is claimed),
        InvalidSpec for a request it cannot build.
        """
        ...

    def act(self, uuid: str, action: Action) -> Instance:
        """Apply `action` and return the instance in its new state.

        Raises InstanceNotFound, or IllegalTransition leaving the instance
        unchanged. A delete returns the instance with state DELETED and
        forgets it; deleting it again (a retry) returns the same, not an error.
        """
        ...

    def get(self, uuid: str) -> Instance:
        """The instance as the hypervisor sees it now. Raises InstanceNotFound."""
        ...

    def instances(self) -> list[Instance]:
        """Every instance the driver manages."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """An optional ability: a driver whose hypervisor announces changes."""

    def watch(self, on_change: Callable[[str, InstanceState | None], None]) -> None:
        """Call `on_change(uuid, state)` whenever an instance's lifecycle
        changes, whoever changed it: `state` is the state the change leaves it
        in when the announcement says (DELETED when it is gone), None when the
        watcher must look. Called from the driver's own thread, which must not
        be kept waiting."""
        ...


@runtime_checkable
class Rebuilder(Protocol):
    """A driver that can build an instance's disk again from another image, on
    the same host (an optional ability: a leaf whose driver lacks it refuses
    rebuilds, naming itself)."""

    def rebuild(self, uuid: str, image: str, image_source: str) -> Instance:
        """The instance rebuilt from `image` (its `image_source` at this leaf),
        in the power state it had. Raises InstanceNotFound."""
        ...


@runtime_checkable
class Shelver(Protocol):
    """A driver that can shelve an instance: power it off and keep it on its
    host, offload it (free the host), and bring it back (an optional ability:
    a leaf whose driver lacks it refuses shelving, naming itself)."""

    def shelve(self, uuid: str) -> Instance:
        """The instance SHELVED (powered off, on its host). Raises
        InstanceNotFound, or IllegalTransition leaving it unchanged."""
        ...

    def offload(self, uuid: str) -> Instance:
        """The SHELVED instance SHELVED_OFFLOADED: gone from its host, whose
        resources are freed; its `host` is "". Raises InstanceNotFound, or
        IllegalTransition leaving it unchanged."""
        ...

    def unshelve(self, uuid: str, host: str) -> Instance:
        """The instance ACTIVE again: a SHELVED one on its own host (`host`
        must be that one or ""), an offloaded one claimed on `host`. Raises
        InstanceNotFound, IllegalTransition, InvalidSpec for a host the driver
        does not have, NoCapacity when the instance does not fit on `host`
        (nothing is claimed)."""
        ...
