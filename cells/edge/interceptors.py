"""The shape of a cell's server interceptors (metrics).

A `UnaryInterceptor` wraps the behaviour of every unary-unary method; other
kinds of method pass unchanged. An interceptor costs a coroutine per call, so
a cell installs one only when it is asked for (metrics_listen).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

Behaviour = Callable[[Any, "grpc.aio.ServicerContext[Any, Any]"], Awaitable[Any]]


class UnaryInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    @abc.abstractmethod
    def wrap(self, method: str, inner: Behaviour) -> Behaviour:
        """The behaviour to run instead of `inner` for the full method name `method`."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails],
                               Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self.wrap(details.method, handler.unary_unary),  # type: ignore[arg-type]
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
