"""The key repository: the Fernet keys that encrypt and sign tokens, as Keystone keeps them.

    cellrouter api-keys init --dir keys      keys 0 (staged) and 1 (primary)
    cellrouter api-keys rotate --dir keys    the staged key becomes primary

A directory of files named by integers, each one `Fernet.generate_key()`, mode
0600, in a directory of mode 0700:
- the highest number is the *primary*: it encrypts new tokens;
- `0` is the *staged* key: the next primary. Every process already decrypts
  with it, so after a rotation on one host (and the directory copied to the
  others) tokens from the new primary verify everywhere, even in processes that
  have not re-read the directory yet;
- the others are *secondaries*: they only decrypt tokens issued before a rotation.

Every API process reading the same directory shares no other state: a token
that one issued, another verifies. `fernet()` re-reads the directory when a
file appears, goes or changes, checking at most once per `recheck` seconds
(one scan per second costs nothing; one per request would, a little).
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from api.identity.errors import KeysMissing
from api.identity.files import write_private

_KEY_NAME = re.compile(r"0|[1-9][0-9]*")
_LOAD_ATTEMPTS = 3  # a rotation renaming a file under a scan makes it try again

# (key number, mtime_ns, size, inode) of every key file: any change means re-read.
_Stamp = tuple[tuple[int, int, int, int], ...]


class KeyRepository:
    """The key files in `directory`; at most `max_active` (>= 3) are kept by `rotate`."""

    def __init__(self, directory: Path, max_active: int = 3, *, recheck: float = 1.0) -> None:
        if max_active < 3:
            # Fewer would drop the previous primary at once, and with it every live token.
            raise ValueError(f"max_active must be at least 3, not {max_active}")
        self.directory = directory
        self.max_active = max_active
        self.recheck = recheck
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._stamp: _Stamp = ()
        self._fernet: MultiFernet | None = None

    def keys(self) -> list[int]:
        """The numbers of the key files, ascending; KeysMissing when the directory
        cannot be listed (an empty directory is [])."""
        return sorted(number for number, *_ in self._scan())

    def init(self) -> bool:
        """Create the directory (0700) with keys 0 and 1 unless it has keys already.
        Idempotent: True when it made them. May raise OSError."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.keys():
            return False
        _write_key(self.directory / "1")
        _write_key(self.directory / "0")
        self._forget()
        return True

    def rotate(self) -> int:
        """Promote the staged key 0 to primary, stage a new 0, and remove the oldest
        secondaries beyond `max_active` keys (the previous primary always stays).
        Returns the new primary's number; KeysMissing without a staged key."""
        numbers = self.keys()
        if 0 not in numbers:
            raise KeysMissing(self.directory, "there is no staged key 0 to promote")
        primary = max(numbers) + 1
        os.rename(self.directory / "0", self.directory / str(primary))
        _write_key(self.directory / "0")
        secondaries = sorted(n for n in numbers if n != 0)  # the previous primary last
        surplus = len(secondaries) - (self.max_active - 2)  # 0 and the new primary stay
        for number in secondaries[:max(0, surplus)]:
            (self.directory / str(number)).unlink(missing_ok=True)
        self._forget()
        return primary

    def fernet(self) -> MultiFernet:
        """Every key, the primary first (it encrypts), then the others by descending
        number, 0 last. Cached; KeysMissing when there is no usable key."""
        with self._lock:
            now = time.monotonic()
            if self._fernet is None or now - self._checked_at >= self.recheck:
                self._fernet = self._load()
                self._checked_at = now
            return self._fernet

    def _load(self) -> MultiFernet:
        for _ in range(_LOAD_ATTEMPTS):
            stamp = self._scan()
            if stamp == self._stamp and self._fernet is not None:
                return self._fernet
            if not stamp:
                raise KeysMissing(self.directory, "it has no key files")
            try:
                fernet = MultiFernet([self._read(n) for n, *_ in sorted(stamp, reverse=True)])
            except FileNotFoundError:
                continue
            self._stamp = stamp
            return fernet
        raise KeysMissing(self.directory, "its files kept changing while being read")

    def _read(self, number: int) -> Fernet:
        try:
            return Fernet((self.directory / str(number)).read_bytes())
        except ValueError:
            raise KeysMissing(self.directory, f"file {number} is not a Fernet key") from None
        except PermissionError as exc:
            raise KeysMissing(self.directory, f"cannot read file {number}: {exc}") from None

    def _scan(self) -> _Stamp:
        try:
            with os.scandir(self.directory) as listing:
                found = [_stat(e) for e in listing if _KEY_NAME.fullmatch(e.name)]
        except FileNotFoundError:
            raise KeysMissing(self.directory, "it does not exist") from None
        except OSError as exc:
            raise KeysMissing(self.directory, f"cannot list it: {exc}") from None
        return tuple(sorted(key for key in found if key is not None))

    def _forget(self) -> None:
        """Drop the cache: this process's own change is seen at once."""
        with self._lock:
            self._fernet, self._stamp = None, ()


def _stat(entry: os.DirEntry[str]) -> tuple[int, int, int, int] | None:
    """The key file's stamp; None for a directory, or a file renamed since the listing."""
    try:
        st = entry.stat()
    except FileNotFoundError:
        return None
    if not entry.is_file():
        return None
    return int(entry.name), st.st_mtime_ns, st.st_size, st.st_ino


def _write_key(path: Path) -> None:
    write_private(path, Fernet.generate_key())
