"""Which agent of a leaf holds a new object: rules, then the least loaded.

The rules, in order, each an answer per agent:

    kind                the agent is of the object's kind
    capability          it offers every capability the object needs
    alive               it reported within the down period
    enabled             neither an operator nor the agent itself switched it off
    availability_zone   it is in the zone the hint names, if one does

Then any filters the operator added (`[agents] filters`, plugins of the
`cellrouter.filters` group, as hosts' filters are): each sees an agent as a
`HostState` (its id as the name; alive, enabled, zone and capabilities; the
objects it holds as `instances`) and the object as a `RequestSpec` (project
and hints, no flavor). `max_instances` with `limit = N`, for one, holds each
agent to N objects.

Among the agents that pass, the ones holding the fewest objects (as Neutron's
least-routers scheduler) and, among those, one at random. When none passes,
ResourceExhausted says how many agents each rule turned away.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from bestmatch.api import Filter, HostState, RequestSpec
from model.agents import Agent, PlaceSpec
from model.compute import Resources
from model.errors import ResourceExhausted

Rule = tuple[str, Callable[[Agent, PlaceSpec], bool]]

RULES: tuple[Rule, ...] = (
    ("kind", lambda a, s: a.report.kind == s.kind),
    ("capability", lambda a, s: set(s.needs) <= set(a.report.capabilities)),
    ("alive", lambda a, s: a.alive),
    ("enabled", lambda a, s: a.enabled and a.report.admin_up),
    ("availability_zone",
     lambda a, s: a.report.availability_zone == dict(s.hints).get("availability_zone",
                                                                   a.report.availability_zone)),
)


def as_host(agent: Agent, held: int) -> HostState:
    """An agent as the filters of `bestmatch` see a candidate."""
    r = agent.report
    return HostState(name=r.id, alive=agent.alive, enabled=agent.enabled and r.admin_up,
                     availability_zone=r.availability_zone,
                     capabilities=frozenset(r.capabilities), instances=held)


def choose(agents: Sequence[Agent], held: Mapping[str, int], spec: PlaceSpec,
           rng: random.Random | None = None, filters: Sequence[Filter] = ()) -> Agent:
    """The agent for `spec`; `held` is how many objects each agent holds;
    `filters` are the operator's, after the rules."""
    passing: list[Agent] = []
    turned_away: dict[str, int] = {}
    request = RequestSpec(Resources(), spec.project, hints=dict(spec.hints))
    for agent in agents:
        failed = next((name for name, rule in RULES if not rule(agent, spec)), None)
        if failed is None:
            host = as_host(agent, held.get(agent.id, 0))
            failed = next((f.name for f in filters if not f.check(host, request).passed), None)
        if failed is None:
            passing.append(agent)
        else:
            turned_away[failed] = turned_away.get(failed, 0) + 1
    if not passing:
        why = ", ".join(f"{name}: {n} of {len(agents)} agents" for name, n in
                        turned_away.items()) or "no agent has reported here"
        needs = f" needing {', '.join(spec.needs)}" if spec.needs else ""
        raise ResourceExhausted(f"no agent can hold {spec.kind} object {spec.name}{needs}"
                                f" ({why})")
    fewest = min(held.get(a.id, 0) for a in passing)
    least = [a for a in passing if held.get(a.id, 0) == fewest]
    return (rng or random).choice(least)
