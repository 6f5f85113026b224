"""What the tree runner does alike for every helper process it starts (the
API process, a fake oVirt engine): start it with its log, and stop it."""

from __future__ import annotations

import subprocess
from pathlib import Path


def start(args: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start `args` in a session of its own, its output appended to `log_file`."""
    with log_file.open("ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def alive(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is None


def stop(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
    if not alive(proc):
        return
    assert proc is not None
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
