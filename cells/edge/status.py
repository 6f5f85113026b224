"""The one place where errors become gRPC status codes.

Every package raises its own error tree; a cell answering a call turns any of
them into a status code and a message here.
"""

from __future__ import annotations

import grpc

from cells.errors import ConfigError
from model.errors import CellError, IllegalTransition
from routing import errors as routing
from virt import errors as virt

_CODES: list[tuple[type[Exception], grpc.StatusCode]] = [
    (virt.InstanceNotFound, grpc.StatusCode.NOT_FOUND),
    # The state machine's refusal says where it happened, as a driver's error does.
    (IllegalTransition, grpc.StatusCode.FAILED_PRECONDITION),
    (virt.InvalidSpec, grpc.StatusCode.INVALID_ARGUMENT),
    (virt.NoCapacity, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (virt.HypervisorUnavailable, grpc.StatusCode.UNAVAILABLE),
    (virt.DriverMisconfigured, grpc.StatusCode.FAILED_PRECONDITION),
    (routing.BadPath, grpc.StatusCode.INVALID_ARGUMENT),
    (routing.NotInSubtree, grpc.StatusCode.INVALID_ARGUMENT),
    (routing.UnknownChild, grpc.StatusCode.NOT_FOUND),
    (routing.UnknownInstance, grpc.StatusCode.NOT_FOUND),
    (routing.HopLimitExceeded, grpc.StatusCode.FAILED_PRECONDITION),
    (routing.Conflict, grpc.StatusCode.ABORTED),
    (routing.IndexUnavailable, grpc.StatusCode.UNAVAILABLE),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    # Anything else the hypervisor said: still worth reading.
    (virt.VirtError, grpc.StatusCode.INTERNAL),
]


def to_status(exc: BaseException, where: str) -> tuple[grpc.StatusCode, str]:
    """Status code and message for `exc`, raised in the cell at path `where`.

    Errors forwarded from a cell below already name where they happened and
    pass through unchanged; others get " (at PATH)" appended.
    """
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code, f"{exc} (at {where})"
    if isinstance(exc, CellError):
        return grpc.StatusCode[exc.code], exc.message
    return grpc.StatusCode.INTERNAL, f"internal error in cell {where}: {type(exc).__name__}"
