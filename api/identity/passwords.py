"""Password hashes: scrypt, as the users file stores them.

Passwords are hashed with scrypt (`hashlib.scrypt`, memory-hard), stored as
`scrypt$N$r$p$<salt b64>$<hash b64>`; the parameters are read back from each
hash, so they can be raised for new passwords without breaking old ones.
A password never reaches a log line, an exception or a file. Each hash or
check is one scrypt run (~50 ms, 16 MiB): call them off the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


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


def check_hash(stored: str) -> None:
    """ValueError unless `stored` is a hash in the stored format."""
    _parse_hash(stored)


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
DUMMY_HASH = f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(bytes(16))}${_b64(bytes(32))}"
