"""Requests that are not the message their method takes are INVALID_ARGUMENT.

gRPC itself answers UNKNOWN ("Unexpected DecodeError") for bytes its
deserializer cannot parse, which reads like a fault of the cell. `DecodeGuard`
wraps every unary method's deserializer so that such a request reaches no
servicer and is refused with a message saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from cells.edge.interceptors import Behaviour, Deserializer, UnaryInterceptor


class _Undecodable:
    """What the guarded deserializer returns for bytes it cannot parse."""

    def __init__(self, why: str) -> None:
        self.why = why


def _guarded(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def decode(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception as exc:  # protobuf's DecodeError, or its C twin's
            return _Undecodable(str(exc)[:200])

    return decode


class DecodeGuard(UnaryInterceptor):
    def deserializer(self, inner: Deserializer | None) -> Deserializer | None:
        return _guarded(inner) if inner is not None else None

    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        async def checked(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if isinstance(request, _Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"malformed request to {method}: {request.why}")
            return await inner(request, context)

        return checked
