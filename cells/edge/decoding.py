"""Requests that are not the message their method takes are INVALID_ARGUMENT.

gRPC itself answers UNKNOWN ("Unexpected DecodeError") for bytes its
deserializer cannot parse, which reads like a fault of the cell. `decoded`
makes a method handler whose deserializer keeps such bytes from the
servicer, which refuses them with a message saying what was wrong. It costs
one plain function call per request, and no interceptor. Methods that take
bytes (`cells.edge.servicers`) decode, and refuse, for themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

Behaviour = Callable[[Any, "grpc.aio.ServicerContext[Any, Any]"], Awaitable[Any]]


class _Undecodable:
    """What the guarded deserializer returns for bytes it cannot parse."""

    __slots__ = ("why",)

    def __init__(self, why: Exception) -> None:
        self.why = why


def _guarded(request: Any) -> Callable[[bytes], Any]:
    """A deserializer of the message class `request` that hands bytes it cannot
    parse on as `_Undecodable` rather than failing the call."""
    parse = request.FromString

    def deserialize(raw: bytes) -> Any:
        try:
            return parse(raw)
        except Exception as exc:  # protobuf's DecodeError, or its C twin's
            return _Undecodable(exc)

    return deserialize


def decoded(method: str, behaviour: Behaviour, request: Any,
            response: Any) -> grpc.RpcMethodHandler[Any, Any]:
    """A unary handler of `behaviour` for the full method name `method`, taking
    the message class `request` and answering `response`."""
    deserialize = _guarded(request)

    async def checked(message: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(message, _Undecodable):
            await refuse_malformed(context, method, message.why)
        return await behaviour(message, context)

    return grpc.unary_unary_rpc_method_handler(
        checked, request_deserializer=deserialize,
        response_serializer=response.SerializeToString)


def decoded_stream(method: str, behaviour: Callable[..., AsyncIterator[Any]], request: Any,
                   response: Any) -> grpc.RpcMethodHandler[Any, Any]:
    """A server-streaming handler of `behaviour` (an async generator of
    `response` messages), refusing undecodable requests as `decoded` does."""
    deserialize = _guarded(request)

    async def checked(message: Any,
                      context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        if isinstance(message, _Undecodable):
            await refuse_malformed(context, method, message.why)
        async for answer in behaviour(message, context):
            yield answer

    return grpc.unary_stream_rpc_method_handler(
        checked, request_deserializer=deserialize,
        response_serializer=response.SerializeToString)


async def refuse_malformed(context: grpc.aio.ServicerContext[Any, Any], method: str,
                           why: Exception) -> None:
    """Abort the call: its request to the full method name `method` could not
    be decoded (`why`, protobuf's error)."""
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                        f"malformed request to {method}: {str(why)[:200]}")


def handlers(service: str, servicer: Any,
             methods: dict[str, tuple[Any, Any]]) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """Decoded handlers of `servicer`'s methods (name: (request, response)) of
    the full service name `service`."""
    return {name: decoded(f"/{service}/{name}", getattr(servicer, name), request, response)
            for name, (request, response) in methods.items()}
