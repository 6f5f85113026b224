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
