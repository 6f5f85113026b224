"""Errors of the API, and how each is written, the way Nova writes them.

    ApiError               (status, fault)    {"<fault>": {"code": status, "message": ...}}
    ├── BadRequest         400 badRequest      malformed JSON, wrong types, unknown image
    (401, no token or one that does not verify, is identity's: api.identity.errors)
    ├── Forbidden          403 forbidden       a member asking for what only admins may
    ├── ItemNotFound       404 itemNotFound    no such server, flavor or image (or not yours)
    ├── NotAcceptable      406 notAcceptable   a microversion outside the advertised range
    ├── Conflict           409 conflictingRequest  an action the server's state forbids
    ├── TooLarge           413 overLimit       a request body over the limit
    ├── OverLimit          429 overLimit       the tree's rate limits said no
    ├── Unsupported        501 notImplemented  an operation the tree cannot do (disable a host)
    ├── ServiceUnavailable 503 serviceUnavailable  the tree cannot be reached
    └── Internal           500 computeFault    anything unexpected

`from_cell_error` is the one place the tree's errors (`model.errors`) become
these; the app's error middleware is the one place they are written out.
"""

from __future__ import annotations

import logging

from model.errors import CellError

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500
    fault = "computeFault"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, dict[str, object]]:
        return {self.fault: {"code": self.status, "message": self.message}}


class BadRequest(ApiError):
    status, fault = 400, "badRequest"


class Forbidden(ApiError):
    status, fault = 403, "forbidden"


class ItemNotFound(ApiError):
    status, fault = 404, "itemNotFound"


class NotAcceptable(ApiError):
    status, fault = 406, "notAcceptable"


class Conflict(ApiError):
    status, fault = 409, "conflictingRequest"


class TooLarge(ApiError):
    status, fault = 413, "overLimit"


class OverLimit(ApiError):
    status, fault = 429, "overLimit"


class Unsupported(ApiError):
    status, fault = 501, "notImplemented"


class ServiceUnavailable(ApiError):
    status, fault = 503, "serviceUnavailable"


class Internal(ApiError):
    status, fault = 500, "computeFault"


# A gRPC status name from the tree -> the API error that a Nova client expects.
_BY_CODE: dict[str, type[ApiError]] = {
    "INVALID_ARGUMENT": BadRequest,
    "OUT_OF_RANGE": BadRequest,
    "NOT_FOUND": ItemNotFound,
    "ALREADY_EXISTS": Conflict,
    "FAILED_PRECONDITION": Conflict,
    "ABORTED": Conflict,
    "RESOURCE_EXHAUSTED": OverLimit,
    "UNAVAILABLE": ServiceUnavailable,
    "DEADLINE_EXCEEDED": ServiceUnavailable,
    "UNAUTHENTICATED": ServiceUnavailable,  # the API's own credential for the tree failed
    "PERMISSION_DENIED": Forbidden,
}


def from_cell_error(exc: CellError) -> ApiError:
    """The API error for a failed call to the tree, with the cell's message (but
    not for an internal error, whose text is for the logs)."""
    kind = _BY_CODE.get(exc.code)
    if kind is None:
        log.error("the tree failed a call: %s", exc)
        return Internal("Unexpected API Error. The API's log has the details.")
    if exc.code == "UNAUTHENTICATED":
        return kind(f"the API cannot authenticate to the tree of cells: {exc.message}")
    return kind(exc.message)
