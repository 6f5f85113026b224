"""The signature of a web hook's request, and its check by a receiver.

Every POST carries

    X-Cellrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

where the HMAC, keyed with the subscription's secret, is over the bytes
`t + "." + body` (the body exactly as sent). Signing the timestamp with the
body lets a receiver refuse a request captured and sent again later: it
accepts only a `t` within `tolerance` seconds of its own clock, and may keep
the message ids it has seen for that long to refuse an exact replay inside
the window too. The signature is compared in constant time. More than one v1
may be given (a receiver accepts any that verifies), so a secret can be
rolled over without a gap.

`verify` is the receiver's side, copied into docs/hooks.md: it needs only the
standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Cellrouter-Signature"
TOLERANCE = 300.0  # seconds a receiver accepts a timestamp away from its clock


class BadSignature(ValueError):
    """The request is not signed with the secret, or not now (a replay)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, str(timestamp).encode(), body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = TOLERANCE,
           now: float | None = None) -> int:
    """The request's timestamp if `header` signs `body` with `secret` within
    `tolerance` seconds of `now`; BadSignature otherwise."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in fields if key.strip() == "t"]
    macs = [value.strip() for key, value in fields if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not macs:
        raise BadSignature("the signature header is not t=...,v1=...")
    stamp = stamps[0].strip()
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        raise BadSignature("the timestamp is outside the tolerance: a replay, or a clock off")
    expected = _mac(secret, stamp.encode(), body)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise BadSignature("no signature matches the body")
    return int(stamp)


def _mac(secret: str, stamp: bytes, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp + b"." + body, hashlib.sha256).hexdigest()
