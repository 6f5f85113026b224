"""Errors of the cells package, one per gRPC status code a caller can act on.

    CellError                (code)
    ├── InvalidArgument      INVALID_ARGUMENT    the request is malformed
    ├── NotFound             NOT_FOUND           no such instance or cell
    ├── AlreadyExists        ALREADY_EXISTS      a uuid taken by another boot
    ├── FailedPrecondition   FAILED_PRECONDITION not legal in the current state
    ├── ResourceExhausted    RESOURCE_EXHAUSTED  nothing fits, or overload
    ├── Aborted              ABORTED             a concurrent request got there first
    ├── Unavailable          UNAVAILABLE         a cell is down or unreachable
    │   └── Unreachable                          the call never reached the cell
    ├── DeadlineExceeded     DEADLINE_EXCEEDED   out of time
    ├── Unauthenticated      UNAUTHENTICATED     no token, or one nobody issued
    ├── PermissionDenied     PERMISSION_DENIED   a peer cell acting out of its place
    └── Internal             INTERNAL and anything else unexpected
    ConfigError                                  a bad configuration file

The client raises these for a failed call (`from_rpc_error` is the one place
gRPC errors are translated). A cell raises them too, and `cells.status` maps
them, and the other packages' error trees, to status codes.
"""

from __future__ import annotations

import grpc


class ConfigError(Exception):
    """A configuration file or option is wrong; the message says how."""


class CellError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class InvalidArgument(CellError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(CellError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CellError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(CellError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(CellError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Aborted(CellError):
    code = grpc.StatusCode.ABORTED


class Unavailable(CellError):
    code = grpc.StatusCode.UNAVAILABLE


class Unreachable(Unavailable):
    """The connection to the cell failed: the call was not delivered, so it is
    safe to send again, even an action that is not idempotent."""


class DeadlineExceeded(CellError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unauthenticated(CellError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(CellError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Internal(CellError):
    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[CellError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        Aborted,
        Unavailable,
        DeadlineExceeded,
        Unauthenticated,
        PermissionDenied,
    )
}


def error_for(code: grpc.StatusCode, message: str) -> CellError:
    """The CellError for a status code (Internal for codes without their own)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return Internal(f"{code.name}: {message}" if code is not grpc.StatusCode.INTERNAL
                        else message)
    return cls(message)


def from_rpc_error(exc: grpc.RpcError, peer: str) -> CellError:
    """Translate a failed gRPC call to `peer` (a cell, named for messages)."""
    # Both grpc.Call (blocking stubs) and grpc.aio.AioRpcError carry these.
    code_of = getattr(exc, "code", None)
    details_of = getattr(exc, "details", None)
    code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details = (details_of() if callable(details_of) else None) or str(exc)
    if code is grpc.StatusCode.UNAVAILABLE and "failed to connect" in details.lower():
        # The call never reached the peer: say which cell, briefly.
        why = "connection refused" if "refused" in details.lower() else details[:200]
        return Unreachable(f"{peer} is unreachable ({why})")
    return error_for(code, details)
