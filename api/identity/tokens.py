"""Tokens: who a request is, verifiable by any process that holds the keys.

A token is a Fernet token (AES-CBC + HMAC-SHA256, `KeyRepository.fernet()`)
of compact JSON, as Keystone's Fernet tokens are:

    {"v": 1, "u": user id, "n": user name, "p": project, "r": role,
     "i": issued at, "e": expires at (both µs since the epoch), "a": audit id}

with its base64 padding stripped, so it is url-safe as it stands. Nothing is
stored per token issued: a token is valid while it decrypts with a key still
in the repository, its expiry is ahead of the issuer's clock, and no
revocation matches it (api.identity.revocation): DELETE /auth/tokens ends one
token, by its audit id; `end_tokens` ends every token of a user, of a project,
or of a user on a project issued until now (Keystone's admin API deleting a
user or a project, or taking a role back); rotating a key out of the
repository ends every token it issued. A token names one project and the
highest role its user had there at issue time. With an identity backend that
changes outside cellrouter (LDAP), `access` (revocation.StillHeld) also checks
on every use that the user is still there, enabled, with the role (`verified`,
awaited: the directory is asked off the event loop).

Verifying costs a decryption (tens of microseconds), on every request; so
verified tokens are remembered for up to `VERIFIED_FOR` seconds (at most
`VERIFIED_MAX` of them), as keystonemiddleware caches tokens. Expiry and
revocation are still checked on every use; a token whose key is rotated out
stops verifying within `VERIFIED_FOR` seconds instead of at once.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import TTLCache
from cryptography.fernet import InvalidToken

from api.identity.errors import Unauthorized
from api.identity.keys import KeyRepository
from api.identity.revocation import MemoryRevocations, Revocations, StillHeld, subjects_of
from api.identity.users import User

MAX_TOKEN_LENGTH = 4096  # refused before decrypting: no work for a huge header
VERIFIED_FOR = 60.0
VERIFIED_MAX = 10_000
_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_OURS = ("The token is not valid: it was not issued here, it was altered, or the key"
             " that signed it has been rotated out")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a valid token says; datetimes are UTC-aware."""

    user_id: str
    user_name: str
    project: str
    role: str
    issued_at: datetime
    expires_at: datetime
    audit_id: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def keystone_time(moment: datetime) -> str:
    """ISO 8601 as Keystone writes it: `2026-12-02T17:00:00.000000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TokenIssuer:
    """Issues and verifies tokens valid for `ttl` seconds by `clock` (seconds since
    the epoch; tests pass a fake), refusing those in `revocations` (by default
    this process's own list). Thread-safe."""

    def __init__(self, keys: KeyRepository, ttl: float = 3600.0,
                 clock: Callable[[], float] = time.time,
                 revocations: Revocations | None = None,
                 access: StillHeld | None = None) -> None:
        self.keys = keys
        self.access = access
        self.ttl = ttl
        self.revocations = revocations if revocations is not None else MemoryRevocations(clock)
        self._clock = clock
        self._verified: TTLCache[str, TokenInfo] = TTLCache(VERIFIED_MAX, VERIFIED_FOR, timer=clock)
        self._lock = threading.Lock()  # the cache is not thread-safe by itself

    def issue(self, user: User, project: str | None = None,
              role: str | None = None) -> tuple[str, TokenInfo]:
        """A new token for `user` scoped to `project` with `role` (by default
        their default project and their role there), and what it says.
        KeysMissing when the repository has no key."""
        now = self._clock()
        issued = _micros(now)
        info = TokenInfo(user.id, user.name, user.project if project is None else project,
                         user.role if role is None else role, _moment(issued),
                         _moment(issued + _micros(self.ttl)), _audit_id())
        payload = json.dumps(_pack(info), separators=(",", ":")).encode()
        token = self.keys.fernet().encrypt_at_time(payload, int(now))
        return token.decode().rstrip("="), info

    def verify(self, token: str) -> TokenInfo:
        """What `token` says; Unauthorized when it is not valid, has expired or
        was revoked (itself, or by its user, project or role), KeysMissing when
        the repository has no key, DatabaseUnavailable when the revocations
        cannot be read. Not whether its user still holds it: `verified` adds
        that (`access`), and is what requests use."""
        with self._lock:
            info = self._verified.get(token)
        if info is None:
            info = _unpack(self._decrypt(token))
            with self._lock:
                self._verified[token] = info
        if _moment(_micros(self._clock())) >= info.expires_at:
            raise Unauthorized(f"The token expired at {keystone_time(info.expires_at)}")
        if self.revocations.is_revoked(info.audit_id) or self.revocations.ended(
                subjects_of(info.user_id, info.project), info.issued_at):
            raise Unauthorized("The token has been revoked")
        return info

    async def verified(self, token: str) -> TokenInfo:
        """`verify`, and with `access` that its user still holds it (Unauthorized
        otherwise, DirectoryUnavailable when the directory cannot be asked): a
        directory's answer is awaited off the event loop when not cached."""
        info = self.verify(token)
        if self.access is not None:
            await self.access.check(info.user_id, info.project, info.role, info.issued_at)
        return info

    def end_tokens(self, *subjects: str) -> None:
        """Refuse every token issued until now that any of `subjects`
        (api.identity.revocation's) matches, in every process that shares the
        revocations. May raise DatabaseUnavailable."""
        now = self._clock()
        issued_before = _moment(_micros(now))
        expires_at = _moment(_micros(now + self.ttl))
        for subject in subjects:
            self.revocations.end(subject, issued_before, expires_at)

    def _decrypt(self, token: str) -> bytes:
        if not token:
            raise Unauthorized("The token is not valid: it is empty")
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized(f"The token is not valid: it is longer than"
                               f" {MAX_TOKEN_LENGTH} characters")
        if not token.isascii():
            raise Unauthorized(_NOT_OURS)
        try:
            # No ttl here: expiry is checked against our own clock, in the payload.
            return self.keys.fernet().decrypt(token + "=" * (-len(token) % 4))
        except InvalidToken:
            raise Unauthorized(_NOT_OURS) from None


def _pack(info: TokenInfo) -> dict[str, Any]:
    return {"v": _VERSION, "u": info.user_id, "n": info.user_name, "p": info.project,
            "r": info.role, "i": _micros_of(info.issued_at), "e": _micros_of(info.expires_at),
            "a": info.audit_id}


def _unpack(payload: bytes) -> TokenInfo:
    # Only a holder of the keys can make a payload, so a bad one means a bug or a
    # format from a future version: refuse it as a token, not as a server error.
    try:
        d = json.loads(payload)
        if d["v"] != _VERSION or not all(isinstance(d[k], str) for k in "unpra"):
            raise ValueError("unknown version or field types")
        return TokenInfo(d["u"], d["n"], d["p"], d["r"], _moment(d["i"]), _moment(d["e"]),
                         d["a"])
    except (ValueError, KeyError, TypeError, OverflowError):
        raise Unauthorized("The token is not valid: its content is not understood") from None


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _moment(micros: int) -> datetime:
    # Exact in integer microseconds, so a verified token equals its issued TokenInfo.
    return _EPOCH + timedelta(microseconds=micros)


def _micros_of(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _audit_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
