"""The one place where errors become gRPC status codes.

Every package raises its own error tree; a cell answering a call turns any of
them into a status code and a message here. What a member (a project's token)
reads of a failure that is not its own doing is a generic sentence with the
request id (`for_member`); the detail goes to this cell's log under that id.
"""

from __future__ import annotations

import logging

import grpc

from celldb.errors import DatabaseUnavailable
from model.config import ConfigError
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
    # Named before the CellError rule below so that it says where it happened.
    (DatabaseUnavailable, grpc.StatusCode.UNAVAILABLE),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    # Anything else the hypervisor said: still worth reading.
    (virt.VirtError, grpc.StatusCode.INTERNAL),
]


log = logging.getLogger(__name__)

# Failures a member can do nothing about, and whose words (a database's, a
# hypervisor's, a host's name) are the operator's to read.
_GENERIC = {
    grpc.StatusCode.INTERNAL: "the cloud failed to do this",
    grpc.StatusCode.UNKNOWN: "the cloud failed to do this",
    grpc.StatusCode.DATA_LOSS: "the cloud failed to do this",
    grpc.StatusCode.UNAVAILABLE: "the cloud cannot do this right now; try again later",
}
# Raised here, these are the deployment's faults whatever their code says.
_OPERATORS = (ConfigError, virt.DriverMisconfigured)


def for_member(exc: BaseException, code: grpc.StatusCode, message: str,
               request_id: str) -> str:
    """`message` as a member may read it: unchanged for what it can act on
    (not found, invalid, no room, a state that forbids the action); else a
    generic sentence naming the request id, the detail logged under it."""
    generic = _GENERIC.get(code)
    if generic is None and isinstance(exc, _OPERATORS):
        generic = "the cloud is not set up to do this"
    if generic is None:
        return message
    log.warning("request %s: a member was told %s %r instead of: %s", request_id, code.name,
                generic, message)
    return f"{generic} (request {request_id}: the operator's log has the detail)"


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
