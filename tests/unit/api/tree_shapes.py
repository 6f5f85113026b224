"""Builders of what the top answers (a topology, instances) for the API's unit
tests, and the check of a body against Tempest's own schema for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tempest.lib.common.rest_client import RestClient

from model.cells import CellCapacity, CellKind, CellNode, HostSummary
from model.compute import Resources

SEEN = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Response:
    status: int


def validate(schema: dict[str, Any], body: Any, status: int = 200) -> None:
    """Raise as Tempest's client does when `body` breaks `schema` (a module
    attribute of tempest.lib.api_schema.response.compute.v2_N)."""
    RestClient.validate_response(schema, _Response(status), body)


def host(name: str, vcpus: int = 16, used: int = 2, alive: bool = True,
         instances: int = 1) -> HostSummary:
    capacity = CellCapacity(total=Resources(vcpus, 65536, 500),
                            used=Resources(used, 4096, 20), hosts=1,
                            hosts_up=1 if alive else 0, instances=instances)
    return HostSummary(name, capacity)


def leaf(path: str, *hosts: HostSummary, up: bool = True, driver: str = "fake") -> CellNode:
    return CellNode(path.rpartition("!")[2], path, CellKind.LEAF, f"{path}:1", up,
                    CellCapacity(), hosts=hosts, last_seen=SEEN, driver=driver)


def router(path: str, *children: CellNode) -> CellNode:
    return CellNode(path.rpartition("!")[2], path, CellKind.ROUTER, f"{path}:1", True,
                    CellCapacity(), children=children, last_seen=SEEN)


def a_tree() -> CellNode:
    """top > eu > (eu-a: two hosts, one dead; eu-b: down) and top > us-a (agents only)."""
    return router("top",
                  router("top!eu",
                         leaf("top!eu!eu-a", host("hv-1"), host("hv-2", alive=False)),
                         leaf("top!eu!eu-b", up=False)),
                  leaf("top!us-a", driver="agents"))
