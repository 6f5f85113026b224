"""The Objects service's edge (cells.edge.agents.ObjectsServicer): a client's
calls count against the same per-client budget as its Cells calls, and another
project's request id is no way to its object."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import grpc
import pytest

from cellrouter.v1 import cells_pb2 as pb
from cells.edge.agents import ObjectsServicer
from cells.security.limits import Limiter, Limits
from model.agents import PlaceSpec, ServiceObject
from model.call import HOPS_KEY, REQUEST_ID_KEY, Call
from model.context import REQUEST_ID
from model.principal import EVERYONE, Principal
from routing.errors import IndexUnavailable
from tests.unit.fakes import AbortedCall, FakeContext


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class MemoryObjects:
    """Objects placed in memory, one per request id (an ObjectsBackend)."""

    def __init__(self) -> None:
        self.by_request: dict[str, ServiceObject] = {}

    async def place(self, spec: PlaceSpec, call: Call) -> ServiceObject:
        if spec.request_id not in self.by_request:
            self.by_request[spec.request_id] = ServiceObject(
                f"u-{len(self.by_request)}", spec, "lb-1", "top!z1")
        return self.by_request[spec.request_id]

    async def get(self, uuid: str, call: Call) -> ServiceObject:
        return next(o for o in self.by_request.values() if o.uuid == uuid)

    async def delete(self, uuid: str, call: Call) -> ServiceObject:
        return await self.get(uuid, call)

    async def objects(self, kind: str, agent: str, project: str,
                      call: Call) -> list[ServiceObject]:
        return list(self.by_request.values())

    async def bind(self, uuid: str, agent: str, call: Call) -> ServiceObject:
        return replace(await self.get(uuid, call), agent=agent)

    async def unbind(self, uuid: str, call: Call) -> ServiceObject:
        return await self.get(uuid, call)


def as_member(project: str) -> object:
    return lambda metadata, peer: Principal(f"tok-{project}", project, "member")


def place(servicer: ObjectsServicer, request_id: str, context: FakeContext) -> pb.ServiceObject:
    request = pb.PlaceRequest(request_id=request_id, name="vip", kind="loadbalancer")
    return asyncio.run(servicer.Place(request, context))


def test_objects_calls_count_against_the_clients_budget_shared_with_cells() -> None:
    clock = Clock()
    limiter = Limiter(Limits(requests_per_second_per_client=1, burst_per_client=2), clock)
    servicer = ObjectsServicer(MemoryObjects(), lambda: "top", as_member("shop"),  # type: ignore[arg-type]
                               limiter, from_cells=False)
    with limiter.admit("tok-shop"):  # a Cells call of the same client, in the same budget
        pass
    place(servicer, "r1", FakeContext())
    with pytest.raises(AbortedCall) as refused:
        place(servicer, "r2", FakeContext())
    assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "rate limit of 1 calls/s" in refused.value.details
    with limiter.admit("tok-lab"):  # another client has its own budget
        pass
    clock.now += 1.0  # a second later, one more call is allowed
    place(servicer, "r2", FakeContext())


def test_a_client_claiming_to_be_a_cell_is_still_limited_on_the_clients_port() -> None:
    limiter = Limiter(Limits(requests_per_second_per_client=1, burst_per_client=1), Clock())
    servicer = ObjectsServicer(MemoryObjects(), lambda: "top", as_member("shop"),  # type: ignore[arg-type]
                               limiter, from_cells=False)
    claim = FakeContext(metadata=((HOPS_KEY, "3"),))
    place(servicer, "r1", claim)
    with pytest.raises(AbortedCall) as refused:
        place(servicer, "r2", claim)
    assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_another_projects_request_id_is_already_in_use_not_its_object() -> None:
    backend = MemoryObjects()
    shop = ObjectsServicer(backend, lambda: "top", as_member("shop"))  # type: ignore[arg-type]
    lab = ObjectsServicer(backend, lambda: "top", as_member("lab"))  # type: ignore[arg-type]
    placed = place(shop, "req-1", FakeContext())
    assert placed.project == "shop"
    with pytest.raises(AbortedCall) as refused:
        place(lab, "req-1", FakeContext())
    assert refused.value.code is grpc.StatusCode.ALREADY_EXISTS
    assert refused.value.details.endswith("request id req-1 is already in use")
    assert place(shop, "req-1", FakeContext()).uuid == placed.uuid  # its own retry


class BrokenObjects(MemoryObjects):
    """Objects whose database has gone: every call fails as the index would."""

    async def get(self, uuid: str, call: Call) -> ServiceObject:
        raise IndexUnavailable("index database unavailable: connection to"
                               " postgresql://cells@db-7.internal:5432 refused")


@pytest.mark.parametrize(("gate", "told_detail"), [
    (as_member("shop"), False),
    (lambda metadata, peer: EVERYONE, True),
], ids=["member", "admin"])
def test_a_member_reads_a_generic_failure_with_its_request_id(
        gate: object, told_detail: bool, caplog: pytest.LogCaptureFixture) -> None:
    servicer = ObjectsServicer(BrokenObjects(), lambda: "top", gate)  # type: ignore[arg-type]
    context = FakeContext(metadata=((REQUEST_ID_KEY, "req-42"),))
    with pytest.raises(AbortedCall) as refused:
        asyncio.run(servicer.GetObject(pb.ObjectRequest(uuid="u-0"), context))
    assert refused.value.code is grpc.StatusCode.UNAVAILABLE  # still retried as unavailable
    assert ("db-7.internal" in refused.value.details) is told_detail
    if not told_detail:
        assert refused.value.details == ("the cloud cannot do this right now; try again later"
                                         " (request req-42: the operator's log has the detail)")
        # The operator finds the detail under the request id.
        assert any("req-42" in r.getMessage() and "db-7.internal" in r.getMessage()
                   for r in caplog.records)


def test_objects_calls_go_through_the_one_edge_hop_limit_and_request_id() -> None:
    """The Objects service serves as Cells does (cells.edge.serve): a call
    that crossed too many cells is refused, and the request id is set for
    everything that serves it."""
    seen: list[str] = []

    class Tracing(MemoryObjects):
        async def get(self, uuid: str, call: Call) -> ServiceObject:
            seen.append(REQUEST_ID.get())
            return await super().get(uuid, call)

    objects = Tracing()
    servicer = ObjectsServicer(objects, lambda: "top", max_hops=4)  # type: ignore[arg-type]
    placed = place(servicer, "r1", FakeContext())
    looped = FakeContext(metadata=((HOPS_KEY, "4"),))
    with pytest.raises(AbortedCall) as refused:
        asyncio.run(servicer.GetObject(pb.ObjectRequest(uuid=placed.uuid), looped))
    assert refused.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert "crossed 4 cells, over the limit of 4" in refused.value.details
    assert seen == []  # refused before it reached the objects
    traced = FakeContext(metadata=((REQUEST_ID_KEY, "trace-9"),))
    asyncio.run(servicer.GetObject(pb.ObjectRequest(uuid=placed.uuid), traced))
    assert seen == ["trace-9"]
