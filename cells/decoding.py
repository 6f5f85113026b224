"""Requests that are not the message their method takes are INVALID_ARGUMENT.

gRPC itself answers UNKNOWN ("Unexpected DecodeError") for bytes its
deserializer cannot parse, which reads like a fault of the cell. `DecodeGuard`
wraps every unary method's deserializer so that such a request reaches no
servicer and is refused with a message saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio


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


class DecodeGuard(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails],
                               Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        inner, method = handler.unary_unary, details.method

        async def checked(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if isinstance(request, _Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"malformed request to {method}: {request.why}")
            return await inner(request, context)  # type: ignore[arg-type]

        return grpc.unary_unary_rpc_method_handler(
            checked, request_deserializer=_guarded(handler.request_deserializer),
            response_serializer=handler.response_serializer)
