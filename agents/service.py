"""A leaf's service objects: place one on an agent, show, list, delete, and
an agent's watch of its bindings (the agents are in `agents.registry`, the
objects in `agents.objects`, the choice in `agents.choose`)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

from agents.choose import choose
from agents.objects import ObjectStore
from agents.registry import AgentRegistry
from agents.validate import check_place
from model.agents import BindingEvent, ObjectState, PlaceSpec, ServiceObject


class ObjectService:
    def __init__(self, registry: AgentRegistry, store: ObjectStore,
                 rng: random.Random | None = None) -> None:
        self.registry = registry
        self.store = store
        self._rng = rng or random.Random()

    def place(self, spec: PlaceSpec) -> ServiceObject:
        """Bind a new object to the agent `agents.choose` picks; the same request
        id again is the object it made (a retry makes nothing new)."""
        check_place(spec)
        earlier = self.store.by_request_id(spec.request_id)
        if earlier is not None:
            return earlier
        agent = choose(self.registry.agents(), self.store.held(), spec, self._rng)
        return self.store.bind(spec, agent.id)

    def get(self, uuid: str) -> ServiceObject:
        return self.store.get(uuid)

    def delete(self, uuid: str) -> ServiceObject:
        return self.store.delete(uuid)

    def objects(self, kind: str = "", agent: str = "", project: str = "") -> list[ServiceObject]:
        return self.store.objects(kind, agent, project)

    def set_state(self, agent: str, uuid: str, state: ObjectState, fault: str) -> ServiceObject:
        self.registry.get(agent)  # NotFound for an agent nobody knows
        return self.store.set_state(agent, uuid, state, fault)

    async def watch(self, agent: str, after: int) -> AsyncIterator[BindingEvent]:
        """The agent's bindings after revision `after` (0: all it holds), then
        a caught-up mark, then each change as it happens, until the caller stops."""
        self.registry.get(agent)
        seen = after
        for event in self.store.events(agent, after):
            seen = max(seen, event.revision)
            yield event
        seen = max(seen, self.store.revision)
        yield BindingEvent(seen, caught_up=True)
        while True:
            await self.store.changed_after(seen)
            for event in self.store.events(agent, seen):
                yield event
            seen = self.store.revision
