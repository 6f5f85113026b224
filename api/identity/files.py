"""Private files written atomically: the users file and the signing keys.

`write_private(path, data)` leaves either the old file or the whole new one at
`path`, never a partial one, with mode 0600 (readers in other processes may
open it at any moment). The staging file is a dot-file beside it, so it is on
the same filesystem (`os.replace` is atomic only there) and a key directory
scan, which only looks at numeric names, never mistakes it for a key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0600; may raise OSError."""
    fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp made it 0600 already
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the content is on disk before the name points at it
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
