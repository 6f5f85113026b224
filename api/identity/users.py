"""The users file: who may log in, their project and role, and a hash of their password.

    cellrouter users add alice --project acme --role member --file users.json
    cellrouter users list --file users.json
    cellrouter users remove alice --file users.json

The file is JSON, `{"users": [{"id", "name", "project", "role", "password_hash"}]}`,
mode 0600, replaced atomically on every change; a `UserStore` re-reads it when
it changes, so every API process sees an added or removed user without a
restart. One writer at a time (the operator's CLI); readers may be many.

Passwords are hashed with scrypt (`hashlib.scrypt`, memory-hard), stored as
`scrypt$N$r$p$<salt b64>$<hash b64>`; the parameters are read back from each
hash, so they can be raised for new passwords without breaking old ones.
A password never reaches a log line, an exception or the file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from api.identity.errors import (
    BadAuthRequest,
    Unauthorized,
    UnknownUser,
    UserExists,
    UsersUnreadable,
)
from api.identity.files import write_private

ROLES = ("member", "admin")
NAME_RULE = "1 to 64 letters, digits or any of _ . @ -"
AUTH_FAILED = "The request you have made requires authentication."

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
_FIELDS = ("id", "name", "project", "role", "password_hash")


def hash_password(password: str) -> str:
    """A new salted scrypt hash of `password`, in the stored format."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, in constant time; False for a malformed hash."""
    try:
        n, r, p, salt, expected = _parse_hash(stored)
        digest = _scrypt(password, salt, n, r, p)
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    project: str
    role: str
    password_hash: str = field(repr=False)


class UserStore:
    """The users file: read when it changes, written atomically. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: tuple[User, ...] = ()

    def users(self) -> list[User]:
        """Everyone in the file, in the order they were added; none when there is no file."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._users = None, ()
                return []
            # The inode too: an atomic replace always makes a new one, even within
            # the filesystem's timestamp granularity and at the same size.
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp != self._stamp:
                self._users, self._stamp = _read(self.path), stamp
            return list(self._users)

    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users() if u.id == user_id), None)

    def add(self, name: str, project: str, role: str, password: str) -> User:
        """Add a user and save; BadAuthRequest for a bad name, project, role or an empty
        password, UserExists when the name is taken."""
        _check_new(name, project, role, password)
        users = self.users()
        if any(u.name == name for u in users):
            raise UserExists(f"there is a user named {name} in {self.path} already")
        user = User(uuid.uuid4().hex, name, project, role, hash_password(password))
        self._write([*users, user])
        return user

    def remove(self, name: str) -> None:
        """Remove the user and save; UnknownUser when there is none of that name."""
        users = self.users()
        kept = [u for u in users if u.name != name]
        if len(kept) == len(users):
            raise UnknownUser(f"there is no user named {name} in {self.path}")
        self._write(kept)

    def authenticate(self, name: str, password: str) -> User:
        """The user whose name and password these are; Unauthorized otherwise.

        Takes one scrypt run (~50 ms) whether or not the user exists, so the time
        does not tell which; call it off the event loop."""
        user = next((u for u in self.users() if u.name == name), None)
        stored = user.password_hash if user else _DUMMY_HASH
        if not verify_password(password, stored) or user is None:
            raise Unauthorized(AUTH_FAILED)
        return user

    def _write(self, users: list[User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"users": [asdict(u) for u in users]}, indent=2) + "\n"
        write_private(self.path, data.encode())


def check_name(what: str, value: str) -> None:
    """BadAuthRequest unless `value` is a valid user or project name."""
    if not _NAME.fullmatch(value):
        raise BadAuthRequest(f"a {what} name must be {NAME_RULE}, not {value!r}")


def _check_new(name: str, project: str, role: str, password: str) -> None:
    check_name("user", name)
    check_name("project", project)
    if role not in ROLES:
        raise BadAuthRequest(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    if not password:
        raise BadAuthRequest("a password must not be empty")


def _read(path: Path) -> tuple[User, ...]:
    try:
        rows = json.loads(path.read_bytes())["users"]
        return tuple(_user(row) for row in rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsersUnreadable(f"cannot read the users file {path}: {exc}") from None


def _user(row: dict[str, Any]) -> User:
    if sorted(row) != sorted(_FIELDS) or not all(isinstance(row[f], str) for f in _FIELDS):
        raise ValueError(f"a user must have exactly the string fields {', '.join(_FIELDS)}")
    _parse_hash(row["password_hash"])  # a broken hash is found now, not at someone's login
    return User(**row)


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    scheme, n, r, p, salt, digest = stored.split("$")  # ValueError when not 6 parts
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    return int(n), int(r), int(p), _unb64(salt), _unb64(digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt needs about 128*n*r bytes; leave room so raised parameters still fit.
    maxmem = max(_MAXMEM, 256 * n * r)
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)  # binascii.Error is a ValueError


# What an unknown user's password is checked against, so that it costs one scrypt run
# as a known user's does; no password hashes to 32 zero bytes.
_DUMMY_HASH = f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(bytes(16))}${_b64(bytes(32))}"
