"""A tree run as users run it: `cellrouter up TREE.toml` as a process of its
own, for the tests that kill the tree's processes and count on `up` to start
them again. `run_up` starts it and waits for its "cells up;" line; `Up` finds
each process (`processes.json`, what `cellrouter processes` shows), kills
one and sees it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.conftest import eventually

SAFETY = 300.0  # seconds: a bound on waits that a working tree never nears


@dataclass
class Up:
    """A `cellrouter up` process and what it printed."""

    proc: subprocess.Popen[bytes]
    state: Path
    output: Path
    top: str = ""
    api: str = ""
    env: dict[str, str] = field(default_factory=dict)  # the API's openrc, when it has one

    def processes(self) -> dict[str, dict[str, Any]]:
        data = json.loads((self.state / "processes.json").read_text())
        return {p["name"]: p for p in data["processes"]}

    def listen(self, process: str) -> str:
        for line in (self.state / process / "cell.toml").read_text().splitlines():
            if line.startswith("listen = "):
                return str(json.loads(line.split("=", 1)[1]))
        raise LookupError(process)

    def kill(self, name: str) -> int:
        """SIGKILL the process `name` (as `cellrouter processes` names it); its pid."""
        pid = int(self.processes()[name]["pid"])
        os.kill(pid, signal.SIGKILL)
        return pid

    def back(self, name: str, old_pid: int) -> bool:
        """`up` started `name` again after `old_pid` died."""
        p = self.processes()[name]
        return bool(p["pid"] != old_pid and p["state"] == "running")


def wait_until(check: Callable[[], bool], what: str, up: Up | None = None) -> None:
    """Poll `check` (an error counts as not yet) until true: a bound for safety
    only (SAFETY), never a pace; fails at once if `up` exits meanwhile."""
    def ready() -> bool:
        if up is not None and up.proc.poll() is not None:
            raise AssertionError(f"cellrouter up exited while waiting for {what}:\n"
                                 + up.output.read_text()[-3000:])
        try:
            return check()
        except Exception:
            return False

    if not eventually(ready, SAFETY, step=0.1):
        raise AssertionError(f"not within {SAFETY:g} s: {what}")


@contextmanager
def run_up(directory: Path, tree_text: str) -> Iterator[Up]:
    """`cellrouter up` of `tree_text` (written to DIRECTORY/tree.toml, its
    state under DIRECTORY/state), once it has said every cell is up; stopped
    with SIGTERM, as a user's Ctrl-C, on the way out."""
    (directory / "tree.toml").write_text(tree_text)
    output, state = directory / "up.out", directory / "state"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cellops.cli", "up", str(directory / "tree.toml"),
             "--state-dir", str(state)], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    try:
        found = Up(proc, state, output)

        def started() -> bool:
            printed = output.read_text()
            if "cells up;" not in printed:
                return False
            for line in printed.splitlines():
                key, _, value = line.partition(": ")
                if key in ("top", "api"):
                    setattr(found, key, value.strip())
            # The API's credentials are in a file only this user reads, not printed.
            assert "OS_PASSWORD" not in printed
            openrc = state / "api" / "openrc"
            for line in (openrc.read_text().splitlines() if openrc.exists() else ()):
                name, _, value = line.removeprefix("export ").partition("=")
                if name.startswith("OS_"):
                    found.env[name] = value
            return True

        wait_until(started, "the tree to start", found)
        yield found
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
