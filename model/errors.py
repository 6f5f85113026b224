"""What can go wrong with a call to a cell, one error per status a caller can act on.

    CellError                (code)
    ├── InvalidArgument      INVALID_ARGUMENT    the request is malformed
    ├── NotFound             NOT_FOUND           no such instance or cell
    ├── AlreadyExists        ALREADY_EXISTS      a uuid taken by another boot
    ├── FailedPrecondition   FAILED_PRECONDITION not legal in the current state
    │   └── IllegalTransition                    an action the instance's state forbids
    ├── ResourceExhausted    RESOURCE_EXHAUSTED  nothing fits, or overload
    ├── Aborted              ABORTED             a concurrent request got there first
    ├── Unavailable          UNAVAILABLE         a cell is down or unreachable
    │   └── Unreachable                          the call never reached the cell
    ├── DeadlineExceeded     DEADLINE_EXCEEDED   out of time
    ├── Unauthenticated      UNAUTHENTICATED     no token, or one nobody issued
    ├── PermissionDenied     PERMISSION_DENIED   a peer cell acting out of its place
    └── Internal             INTERNAL and anything else unexpected

Every layer speaks this tree: a router raises it and catches it from its
children, a leaf raises it, the clients raise it for a failed call. A code is
the name of a gRPC status code; `cells.edge.status` turns errors into statuses and
`cellwire.calls.from_rpc_error` turns a failed gRPC call back into one of these,
each in one place.
"""

from __future__ import annotations

from collections.abc import Sequence


class CellError(Exception):
    code: str = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(CellError):
    code = "INVALID_ARGUMENT"


class NotFound(CellError):
    code = "NOT_FOUND"


class AlreadyExists(CellError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(CellError):
    code = "FAILED_PRECONDITION"


class IllegalTransition(FailedPrecondition):
    """`action` is not legal while the instance is in `state` (model.states has
    the one table). Drivers raise it too when their hypervisor refuses an
    action for its own reasons; then `detail` says what it said."""

    def __init__(
        self, uuid: str, state: str, action: str, allowed: Sequence[str], detail: str = ""
    ) -> None:
        super().__init__(
            detail
            or f"cannot {action} instance {uuid} while it is {state}"
            f" (allowed: {', '.join(allowed)})"
        )
        self.uuid = uuid
        self.state = state
        self.action = action

    def __str__(self) -> str:
        return self.message


class ResourceExhausted(CellError):
    code = "RESOURCE_EXHAUSTED"


class Aborted(CellError):
    code = "ABORTED"


class Unavailable(CellError):
    code = "UNAVAILABLE"


class Unreachable(Unavailable):
    """The connection to the cell failed: the call was not delivered, so it is
    safe to send again, even an action that is not idempotent."""


class DeadlineExceeded(CellError):
    code = "DEADLINE_EXCEEDED"


class Unauthenticated(CellError):
    code = "UNAUTHENTICATED"


class PermissionDenied(CellError):
    code = "PERMISSION_DENIED"


class Internal(CellError):
    code = "INTERNAL"


_BY_CODE: dict[str, type[CellError]] = {
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


def error_for(code: str, message: str) -> CellError:
    """The CellError for a status code name (Internal for codes without their own)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return Internal(f"{code}: {message}" if code != "INTERNAL" else message)
    return cls(message)
