"""Per-client limits at the top of a tree of cell processes: overload is refused quickly
with RESOURCE_EXHAUSTED, and nothing is held afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire.client import CellClient
from tests.integration.conftest import HEAD, start_tree

TREE = HEAD.replace("[cells.top]", "[cells.top]\nlimits = { max_in_flight_per_client = 2 }") + """
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""


async def burst(address: str, calls: int) -> list[grpc.StatusCode]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CellsStub(channel)  # type: ignore[no-untyped-call]

        async def one() -> grpc.StatusCode:
            try:
                await stub.List(pb.ListRequest(), timeout=20)
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                assert "too many calls at once" in (exc.details() or ""), exc.details()
                return exc.code()

        return await asyncio.gather(*(one() for _ in range(calls)))


def test_a_client_over_its_in_flight_limit_is_refused_at_once(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE)
    try:
        codes = asyncio.run(burst(runner.top_address, 40))
        assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert codes.count(grpc.StatusCode.OK) >= 2
        with CellClient(runner.top_address) as top:  # every slot was given back
            assert top.list().instances == ()
            assert {n.path for n in top.topology().walk()} == {"top", "top!r1", "top!r1!z1"}
    finally:
        runner.stop()
