"""Neutron's error bodies, and the one mapping of the network service's error
tree (network.errors) to HTTP statuses.

    {"NeutronError": {"type": "NetworkNotFound", "message": "...", "detail": ""}}

    network.errors.InvalidInput       400
    network.errors.NotAuthorized      403
    network.errors.NotFound           404
    network.errors.Conflict (and all) 409
    network.errors.NoNetworkAvailable 503 (as Neutron: resources exhausted)
    network.errors.NetworkError       500 (one not named above: none today)
    celldb DatabaseUnavailable        503 ServiceUnavailable
"""

from __future__ import annotations

import logging

from aiohttp import web

from celldb.errors import DatabaseUnavailable
from network.errors import (
    Conflict,
    InvalidInput,
    NetworkError,
    NoNetworkAvailable,
    NotAuthorized,
    NotFound,
)

log = logging.getLogger(__name__)
INTERNAL = "Request Failed: internal server error while processing your request."
_STATUS: tuple[tuple[type[NetworkError], int], ...] = (
    (InvalidInput, 400), (NotAuthorized, 403), (NotFound, 404), (Conflict, 409),
    (NoNetworkAvailable, 503))
_HTTP_KINDS = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
               404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
               413: "HTTPRequestEntityTooLarge", 503: "ServiceUnavailable"}


def body(status: int, message: str, kind: str = "") -> dict[str, dict[str, str]]:
    """Neutron's error body; `kind` defaults to the HTTP one for `status`."""
    kind = kind or _HTTP_KINDS.get(status, "HTTPInternalServerError")
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def response(exc: Exception, where: str) -> web.Response:
    """The answer to a request (`where`, for the log) that failed with `exc`."""
    if isinstance(exc, NetworkError):
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        return web.json_response(body(status, exc.message, exc.kind), status=status)
    if isinstance(exc, DatabaseUnavailable):
        log.error("%s: %s", where, exc.message)
        return web.json_response(body(503, "The network service's database is unavailable."),
                                 status=503)
    log.error("%s failed", where, exc_info=exc)
    return web.json_response(body(500, INTERNAL), status=500)
