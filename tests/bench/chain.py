"""A bare chain forwarder: the baseline for the routing benchmark.

    python -m tests.bench.chain --listen HOST:PORT [--next HOST:PORT ...]

It serves the generated `cellrouter.v1.Cells` service, but only Pause and
Unpause, and does nothing a cell does: no database, no location index, no
hop counting, no driver. With --next it forwards each request unchanged to
the next process (passing on the caller's remaining deadline) and returns
that reply; without --next it answers with a canned instance in the new
state. A chain of these processes therefore costs exactly its gRPC hops.
With --next given several times, each request goes to one of them, chosen by
its uuid (the same uuid always to the same one): a bare fan-out of the shape
of a cell tree, without anything a cell does.

It prints nothing and stops cleanly on SIGTERM (or SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import grpc
import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc

# As in cells.server: never share a port with another process.
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]


class Forwarder(pb_grpc.CellsServicer):
    """Pause and Unpause: forward to one of `next_addresses`, or answer when there are none."""

    def __init__(self, next_addresses: list[str]) -> None:
        self._channels = [grpc.aio.insecure_channel(a) for a in next_addresses]
        self._next = [pb_grpc.CellsStub(c) for c in self._channels]

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()

    def _stub(self, uuid: str) -> Any:
        # str hashes differ from process to process: each level spreads on its own.
        return self._next[hash(uuid) % len(self._next)]

    async def Pause(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        if not self._next:
            return pb.Instance(uuid=request.uuid, state=pb.PAUSED)
        return await self._forward(self._stub(request.uuid).Pause, request, context)

    async def Unpause(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        if not self._next:
            return pb.Instance(uuid=request.uuid, state=pb.ACTIVE)
        return await self._forward(self._stub(request.uuid).Unpause, request, context)

    @staticmethod
    async def _forward(method: Any, request: pb.ActionRequest, context: Any) -> pb.Instance:
        try:
            return await method(request, timeout=context.time_remaining())
        except grpc.aio.AioRpcError as exc:
            await context.abort(exc.code(), exc.details() or "")
            raise  # not reached: abort raises


async def serve(listen: str, next_addresses: list[str]) -> None:
    forwarder = Forwarder(next_addresses)
    server = grpc.aio.server(options=SERVER_OPTIONS)
    pb_grpc.add_CellsServicer_to_server(forwarder, server)
    server.add_insecure_port(listen)
    await server.start()

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        await server.stop(grace=1.0)
        await forwarder.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.chain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--next", dest="next_addresses", metavar="HOST:PORT", action="append",
                        default=[], help="forward every call here, or to one of several by"
                        " its uuid (the last process of the chain has none)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.listen, args.next_addresses))


if __name__ == "__main__":
    main()
