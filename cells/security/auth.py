"""API tokens: who a client is, and what it may see.

    cellrouter tokens issue --file tokens.json --project acme --role member
    cellrouter tokens list --file tokens.json
    cellrouter tokens revoke --file tokens.json ID

A token is `crt_<id>_<secret>`, shown once when issued. The file keeps its id,
project, role and the SHA-256 of the secret, never the secret (a token is 32
random bytes, so a plain hash is enough; checks compare in constant time).
A cell re-reads the file when it changes, so tokens work without a restart.

Clients send `authorization: Bearer <token>` as gRPC metadata on the cell's
client port. Roles:
- admin: sees and acts on every instance, and on the tree (Topology).
- member: only its project's instances. Another project's instance is
  NOT_FOUND, exactly as a missing one, so that existence does not leak; a
  boot lands in the member's project; lists show only it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from model.call import AUTH_KEY
from model.config import ConfigError
from model.errors import InvalidArgument, Unauthenticated
from model.principal import Principal

ROLES = ("admin", "member")
_PREFIX = "crt_"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    project: str
    role: str
    sha256: str
    name: str = ""


class TokenStore:
    """The tokens file: read when it changes, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: dict[str, TokenRecord] = {}

    def authenticate(self, metadata: Mapping[str, str]) -> Principal:
        """The principal of the call's token; Unauthenticated without a valid one."""
        header = metadata.get(AUTH_KEY, "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise Unauthenticated("this cell needs an API token: send 'authorization: Bearer"
                                  " <token>' (cellrouter --token, or CELLROUTER_TOKEN)")
        if scheme.lower() != "bearer" or not token.startswith(_PREFIX):
            raise Unauthenticated("the authorization metadata must be 'Bearer crt_...'")
        token_id, _, secret = token[len(_PREFIX):].partition("_")
        record = self.records().get(token_id)
        if record is None or not hmac.compare_digest(record.sha256, _digest(secret)):
            raise Unauthenticated("the API token is not valid (revoked, or never issued here)")
        return Principal(record.id, record.project, record.role)

    def records(self) -> dict[str, TokenRecord]:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._records = None, {}
                return {}
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                self._records = _read(self.path)
                self._stamp = stamp
            return dict(self._records)

    def issue(self, project: str, role: str, name: str = "") -> tuple[str, TokenRecord]:
        """A new token (returned once, in full) and its record, saved."""
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if role == "member" and not project:
            raise InvalidArgument("a member token needs a project")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        record = TokenRecord(token_id, project, role, _digest(secret), name)
        records = self.records()
        records[token_id] = record
        self._write(records.values())
        return f"{_PREFIX}{token_id}_{secret}", record

    def revoke(self, token_id: str) -> None:
        records = self.records()
        if records.pop(token_id, None) is None:
            raise InvalidArgument(f"no token with id {token_id} in {self.path}")
        self._write(records.values())

    def _write(self, records: Iterable[TokenRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"tokens": [asdict(r) for r in records]}, out, indent=2)
        os.replace(staging, self.path)


def _read(path: Path) -> dict[str, TokenRecord]:
    try:
        data = json.loads(path.read_text())
        return {r["id"]: TokenRecord(**r) for r in data["tokens"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the tokens file {path}: {exc}") from None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
