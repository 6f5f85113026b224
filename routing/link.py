"""What a router can ask of a child cell: the only way routing reaches one.

`cells.links` makes these over gRPC (`cellwire.client.AsyncCellClient`); unit
tests hand the router in-memory fakes instead. Every method may raise the
errors of `model.errors`, as the child answered them, and:

    Unreachable         the call never reached the child: safe to send again
    Unavailable         the child, or a cell below it, is down or did not answer
    DeadlineExceeded    out of time; the call may or may not have been done

`timeout` is in seconds; `metadata` is what the call carries to the next hop
(`model.call.Call.downstream`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Protocol

from model.agents import Agent, AgentListing, PlaceSpec, ServiceObject
from model.cells import CellNode, InstancePage, ListQuery, Located, Placement
from model.compute import Action, BootSpec, Instance
from model.edits import Edit
from model.instance_actions import ActionLog

Metadata = Sequence[tuple[str, str]]


class ChildLink(Protocol):
    label: str  # how errors name the child, e.g. "cell top!eu (127.0.0.1:50061)"

    async def boot(self, spec: BootSpec, timeout: float | None = None,
                   metadata: Metadata = ()) -> Instance:
        """Place and build below the child. Idempotent on spec.request_id."""
        ...

    async def plan(self, spec: BootSpec, timeout: float | None = None,
                   metadata: Metadata = ()) -> Placement:
        """Where the child would place `spec`; ResourceExhausted when nowhere."""
        ...

    async def act(self, uuid: str, action: Action, wait: bool = False,
                  timeout: float | None = None, metadata: Metadata = (),
                  host: str = "") -> Instance:
        """Apply `action` (an unshelve onto `host`, when given). Not idempotent:
        a retry may act twice."""
        ...

    async def update(self, uuid: str, edit: Edit, timeout: float | None = None,
                     metadata: Metadata = ()) -> Instance:
        """Apply `edit` to the instance's name and attributes. Idempotent."""
        ...

    async def rebuild(self, uuid: str, image: str, timeout: float | None = None,
                      metadata: Metadata = ()) -> Instance:
        """Build the instance's disk again from `image`. Not idempotent."""
        ...

    async def get(self, uuid: str, timeout: float | None = None,
                  metadata: Metadata = ()) -> Instance: ...

    async def list(self, query: ListQuery, timeout: float | None = None,
                   metadata: Metadata = ()) -> InstancePage: ...

    async def locate(self, uuid: str, timeout: float | None = None,
                     metadata: Metadata = ()) -> Located:
        """Where below the child `uuid` is; NotFound when nowhere."""
        ...

    async def actions(self, uuid: str, request_id: str = "", timeout: float | None = None,
                      metadata: Metadata = ()) -> ActionLog:
        """What was done to `uuid` (routing.history); NotFound when no leaf
        below keeps a log of it. A read."""
        ...

    async def topology(self, timeout: float | None = None,
                       metadata: Metadata = ()) -> CellNode: ...

    async def forward(self, method: str, payload: bytes, timeout: float | None = None,
                      metadata: Metadata = ()) -> bytes:
        """Send `payload`, a serialised request of the Cells method `method`
        ("Pause", "Get", ...), unchanged, and return the child's serialised
        answer unchanged (routing.fastpath). Errors as for the other calls."""
        ...

    async def place_object(self, spec: PlaceSpec, timeout: float | None = None,
                           metadata: Metadata = ()) -> ServiceObject:
        """Place a service object on an agent below. Idempotent on request_id."""
        ...

    async def get_object(self, uuid: str, timeout: float | None = None,
                         metadata: Metadata = ()) -> ServiceObject: ...

    async def delete_object(self, uuid: str, timeout: float | None = None,
                            metadata: Metadata = ()) -> ServiceObject: ...

    async def bind_object(self, uuid: str, agent: str, timeout: float | None = None,
                          metadata: Metadata = ()) -> ServiceObject:
        """Move the object to `agent` (of the leaf that holds it). Not idempotent."""
        ...

    async def unbind_object(self, uuid: str, timeout: float | None = None,
                            metadata: Metadata = ()) -> ServiceObject:
        """Move the object to another agent the rules choose. Not idempotent."""
        ...

    async def list_objects(self, kind: str = "", agent: str = "", project: str = "",
                           timeout: float | None = None,
                           metadata: Metadata = ()) -> builtins.list[ServiceObject]: ...

    async def list_agents(self, kind: str = "", timeout: float | None = None,
                          metadata: Metadata = ()) -> AgentListing:
        """The agents of the leaves below the child (of `kind`). A read."""
        ...

    async def set_agent_enabled(self, agent_id: str, enabled: bool,
                                timeout: float | None = None,
                                metadata: Metadata = ()) -> tuple[Agent, str]:
        """Switch the agent off (no new objects) or on, at its leaf below. Idempotent."""
        ...

    async def remove_agent(self, agent_id: str, timeout: float | None = None,
                           metadata: Metadata = ()) -> None:
        """Forget the agent at its leaf below (NotFound when none has it)."""
        ...

    async def close(self) -> None: ...


# Makes the link to the cell at an address: (address, the cell's name as its
# certificate must give it, a label for errors).
Connect = Callable[[str, str, str], ChildLink]
