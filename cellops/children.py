"""What the tree runner does alike for every process it starts (a cell, the
API process, a fake oVirt engine, an agent): start it with its log, and stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
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


def stop_together(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to every one at once; after `grace` seconds in all, SIGKILL to the
    session of each that has not exited (a cell's helpers go with it)."""
    for proc in procs:
        if alive(proc):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
