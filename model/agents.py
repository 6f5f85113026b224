"""Agents: the processes that hold service objects (a load balancer's virtual
IP, a VPN endpoint) on a host, a VM or an appliance, and report to a leaf cell.

An agent is known by its id and says, on every report, what it is: its host,
its kind ("loadbalancer", "vpn"), the capabilities it offers (the drivers it
runs: "haproxy", "octavia-amphora"), its availability zone, whether it takes
new objects (its own admin state), and its load. The leaf keeps every agent it
ever heard from until an operator removes it, and marks one down when its
reports stop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Heard(enum.Enum):
    """What a leaf answers an agent's report."""

    NEW = "NEW"  # first report: the agent is now known
    ALIVE = "ALIVE"  # a report within the down period
    REVIVED = "REVIVED"  # a report after the agent was marked down


@dataclass(frozen=True, slots=True)
class AgentReport:
    """What an agent says about itself on every report."""

    id: str
    host: str
    kind: str
    capabilities: tuple[str, ...] = ()
    availability_zone: str = ""
    admin_up: bool = True  # the agent takes new objects
    load: int = 0  # objects held, or a figure of the agent's own


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as a leaf knows it."""

    report: AgentReport
    alive: bool
    enabled: bool = True  # an operator may disable an agent: it takes no new objects
    heard_ago: float = 0.0  # seconds since its last report (since the cell started, at most)
    first_heard: float = 0.0  # wall-clock time of its first report

    @property
    def id(self) -> str:
        return self.report.id

    @property
    def takes_objects(self) -> bool:
        """Whether new objects may be placed on it."""
        return self.alive and self.enabled and self.report.admin_up


@dataclass(frozen=True, slots=True)
class AgentListing:
    """The agents a cell lists: a leaf its own, a router its subtree's."""

    agents: tuple[tuple[Agent, str], ...]  # each with the path of its leaf
    failover_stopped: str = ""  # why failover stood still (a router: per leaf, by path)
    unanswered: tuple[str, ...] = ()  # paths of cells below that did not answer


@dataclass(frozen=True, slots=True)
class Failover:
    """An operator's choice: move the objects of dead agents, unless more than
    `threshold` agents are down at once."""

    enabled: bool = False
    threshold: int = 3


class ObjectState(enum.Enum):
    PENDING = "PENDING"  # bound, not yet reported live by its agent
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class PlaceSpec:
    """An object to place: on an agent of `kind` offering every one of `needs`."""

    request_id: str
    name: str
    kind: str
    needs: tuple[str, ...] = ()
    hints: tuple[tuple[str, str], ...] = ()
    project: str = ""


@dataclass(frozen=True, slots=True)
class ServiceObject:
    """A service object, bound to an agent."""

    uuid: str
    spec: PlaceSpec
    agent: str
    cell_path: str = ""
    state: ObjectState = ObjectState.PENDING
    fault: str = ""
    revision: int = 0  # of its last binding change in its leaf


@dataclass(frozen=True, slots=True)
class BindingEvent:
    """What an agent's watch hears: an object bound to it, or no longer
    (`bound` false: moved away or deleted); or, with no object, that every
    change up to `revision` was sent."""

    revision: int
    object: ServiceObject | None = None
    bound: bool = False
    caught_up: bool = False
