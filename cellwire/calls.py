"""What every client's calls share: the metadata they carry, and the one
translation of gRPC's errors into `model.errors`."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from model.errors import CellError, Unreachable, error_for

Metadata = Sequence[tuple[str, str]]


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
    return error_for(code.name, details)
