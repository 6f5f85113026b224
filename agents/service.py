"""A leaf's service objects: place one on an agent, show, list, delete, move
(an operator's `bind` and `unbind`), fail over the objects of dead agents,
and an agent's watch of its bindings (the agents are in `agents.registry`,
the objects in `agents.objects`, the choice in `agents.choose`).

Failover is off unless configured (`[agents] failover = true`, as Neutron's
`allow_automatic_l3agent_failover` is off by default). When on, every half
down period the objects of agents silent for two down periods move to agents
that fit, one object at a time, a failure moving one never stopping the
others. The brake: when more than `failover_threshold` agents are down at once
(a network partition looks like that), nothing moves, and the operator is told
in the log and in `cellrouter agents list`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence

from agents.choose import choose
from agents.objects import ObjectStore
from agents.registry import AgentRegistry
from bestmatch.api import Filter
from model.agents import BindingEvent, Failover, ObjectState, PlaceSpec, ServiceObject
from model.errors import FailedPrecondition, ResourceExhausted
from routing.validate import check_place

log = logging.getLogger(__name__)


class ObjectService:
    def __init__(self, registry: AgentRegistry, store: ObjectStore,
                 rng: random.Random | None = None, failover: Failover | None = None,
                 filters: Sequence[Filter] = ()) -> None:
        """`filters` are the operator's, applied after the rules (`agents.choose`)."""
        self.registry = registry
        self._filters = tuple(filters)
        self.store = store
        self._rng = rng or random.Random()
        self.failover = failover or Failover()
        self.braked = ""  # why failover last stood still, for the operator; "" if it did not

    def place(self, spec: PlaceSpec) -> ServiceObject:
        """Bind a new object to the agent `agents.choose` picks; the same request
        id again is the object it made (a retry makes nothing new)."""
        check_place(spec)
        earlier = self.store.by_request_id(spec.request_id)
        if earlier is not None:
            return earlier
        agent = choose(self.registry.agents(), self.store.held(), spec, self._rng, self._filters)
        return self.store.bind(spec, agent.id)

    def get(self, uuid: str) -> ServiceObject:
        return self.store.get(uuid)

    def delete(self, uuid: str) -> ServiceObject:
        return self.store.delete(uuid)

    def objects(self, kind: str = "", agent: str = "", project: str = "") -> list[ServiceObject]:
        return self.store.objects(kind, agent, project)

    def bind(self, uuid: str, agent_id: str) -> ServiceObject:
        """An operator moves an object to `agent_id`; FailedPrecondition, with the
        rule it breaks, when that agent cannot hold it."""
        obj = self.store.get(uuid)
        agent = self.registry.get(agent_id)
        try:
            choose([agent], self.store.held(), obj.spec, filters=self._filters)
        except ResourceExhausted as exc:
            raise FailedPrecondition(f"agent {agent_id} cannot hold object {uuid}:"
                                     f" {exc.message}") from None
        return self.store.move(uuid, agent_id)

    def unbind(self, uuid: str) -> ServiceObject:
        """An operator takes an object off its agent: it goes to the agent the
        rules choose among the others (refused, and left where it is, when none fits)."""
        obj = self.store.get(uuid)
        others = [a for a in self.registry.agents() if a.id != obj.agent]
        return self.store.move(uuid, choose(others, self.store.held(), obj.spec, self._rng,
                                                  self._filters).id)

    def fail_over(self) -> list[ServiceObject]:
        """Move the objects of agents silent for two down periods (when failover
        is on and the brake is off); returns the objects moved."""
        if not self.failover.enabled:
            return []
        agents = self.registry.agents()
        down = [a for a in agents if not a.alive]
        dead = {a.id for a in down if a.heard_ago > 2 * self.registry.down_after}
        held = self.store.held()
        if not any(held.get(agent_id) for agent_id in dead):
            self.braked = ""
            return []
        if len(down) > self.failover.threshold:
            why = (f"failover stopped: {len(down)} agents are down at once, more than"
                   f" failover_threshold = {self.failover.threshold}; nothing was moved")
            if why != self.braked:
                log.warning("%s (down: %s)", why, ", ".join(a.id for a in down))
            self.braked = why
            return []
        self.braked = ""
        moved = []
        living = [a for a in agents if a.id not in dead]
        for agent_id in sorted(dead):
            for obj in self.store.objects(agent=agent_id):
                try:
                    target = choose(living, self.store.held(), obj.spec, self._rng,
                                    self._filters)
                except ResourceExhausted as exc:
                    log.warning("failover: object %s stays on dead agent %s: %s",
                                obj.uuid, agent_id, exc.message)
                    continue
                moved.append(self.store.move(obj.uuid, target.id))
                log.info("failover: object %s moved from dead agent %s to %s",
                         obj.uuid, agent_id, target.id)
        return moved

    async def keep_failing_over(self) -> None:
        """Fail over every half down period, until cancelled."""
        while True:
            await asyncio.sleep(self.registry.down_after / 2)
            try:
                self.fail_over()
            except Exception:  # the next round tries again
                log.exception("failover round failed")

    def set_state(self, agent: str, uuid: str, state: ObjectState, fault: str) -> ServiceObject:
        self.registry.get(agent)  # NotFound for an agent nobody knows
        return self.store.set_state(agent, uuid, state, fault)

    async def watch(self, agent: str, after: int) -> AsyncIterator[BindingEvent]:
        """The agent's bindings after revision `after` (0: all it holds), then
        a caught-up mark, then each change as it happens, until the caller stops."""
        self.registry.get(agent)
        # Each batch is read with the revision it reaches, in one step (nothing
        # changes between the two: no await); changes made while the batch is
        # being sent come in the next.
        reached, backlog = self.store.revision, self.store.events(agent, after)
        for event in backlog:
            yield event
        seen = max(after, reached)
        yield BindingEvent(seen, caught_up=True)
        while True:
            await self.store.changed_after(seen)
            reached, batch = self.store.revision, self.store.events(agent, seen)
            for event in batch:
                yield event
            seen = reached
