"""Which agent of a leaf holds a new object: bestmatch's pipeline, with agents
as its candidates.

Each agent is a `HostState` (its id as the name; alive, enabled, zone; its
kind and capabilities as capabilities; the objects it holds as `instances`)
and the object a `RequestSpec` (project and hints; its kind and the
capabilities it needs as `needs`). The filters, in order, each a verdict with
a reason:

    kind                the agent is of the object's kind
    capability          it offers every capability the object needs
    alive, enabled      it reported within the down period; neither an
                        operator nor the agent itself switched it off
    availability_zone   it is in the zone the hint names, if one does (an
                        agent that names no zone passes, as a host does)
    host                it runs on the host the hint names, if one does

then the filters the operator added (`[agents] filters`, plugins of the
`cellrouter.filters` group, as hosts' filters are: `max_instances` with
`limit = N`, for one, holds each agent to N objects). The instance-count
weigher prefers the agents holding the fewest objects (as Neutron's
least-routers scheduler), and one of the best is taken at random. When none
passes, ResourceExhausted says how many agents each filter turned away.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from bestmatch.api import Filter, HostState, RequestSpec, Verdict
from bestmatch.filters.alive import AliveFilter
from bestmatch.filters.availability_zone import AvailabilityZoneFilter
from bestmatch.filters.capability import CapabilityFilter
from bestmatch.pipeline import run_filters, weigh
from bestmatch.weighers.instances import InstanceCountWeigher
from model.agents import Agent, PlaceSpec
from model.compute import Resources
from model.errors import ResourceExhausted

KIND = "kind"
HOST = "host"
_KIND_MARK = "kind:"  # an agent's kind, among its capabilities
_HOST_MARK = "host:"  # an agent's host, among its capabilities


class OnHostFilter:
    """Only the agents on the host the `host` hint names, if one does (an
    object that serves something on that host: a server's port)."""

    name = HOST

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        host = spec.hints.get(HOST, "")
        if not host or f"{_HOST_MARK}{host}" in candidate.capabilities:
            return Verdict.ok()
        return Verdict.reject(HOST, "on another host")


class KindFilter:
    """Only agents of the object's kind."""

    name = KIND

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        kinds = {need for need in spec.needs if need.startswith(_KIND_MARK)}
        if kinds <= candidate.capabilities:
            return Verdict.ok()
        return Verdict.reject(KIND, "of another kind")


RULES: tuple[Filter, ...] = (KindFilter(), OnHostFilter(), CapabilityFilter(), AliveFilter(),
                             AvailabilityZoneFilter())
FEWEST = ((InstanceCountWeigher(), -1.0),)  # fewer objects held is better


def as_host(agent: Agent, held: int) -> HostState:
    """An agent as the filters of `bestmatch` see a candidate."""
    r = agent.report
    return HostState(name=r.id, alive=agent.alive, enabled=agent.enabled and r.admin_up,
                     availability_zone=r.availability_zone,
                     capabilities=frozenset((f"{_KIND_MARK}{r.kind}", f"{_HOST_MARK}{r.host}",
                                             *r.capabilities)),
                     instances=held)


def as_request(spec: PlaceSpec) -> RequestSpec:
    """An object to place as the filters of `bestmatch` see a request."""
    return RequestSpec(Resources(), spec.project, hints=dict(spec.hints),
                       needs=frozenset((f"{_KIND_MARK}{spec.kind}", *spec.needs)))


def choose(agents: Sequence[Agent], held: Mapping[str, int], spec: PlaceSpec,
           rng: random.Random | None = None, filters: Sequence[Filter] = ()) -> Agent:
    """The agent for `spec`; `held` is how many objects each agent holds;
    `filters` are the operator's, after the rules."""
    by_id = {agent.id: agent for agent in agents}
    hosts = [as_host(agent, held.get(agent.id, 0)) for agent in agents]
    request = as_request(spec)
    found = run_filters((*RULES, *filters), hosts, request)
    if not found.passed:
        why = ", ".join(f"{reason}: {n} of {len(agents)} agents" for reason, n in
                        found.rejected.items()) or "no agent has reported here"
        needs = f" needing {', '.join(spec.needs)}" if spec.needs else ""
        raise ResourceExhausted(f"no agent can hold {spec.kind} object {spec.name}{needs}"
                                f" ({why})")
    weights = weigh(FEWEST, found.passed, request)
    best = max(weights)
    ties = [host for host, weight in zip(found.passed, weights, strict=True) if weight == best]
    return by_id[(rng or random).choice(ties).name]
