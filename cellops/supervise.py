"""Keeping a tree's processes running under `cellrouter up`.

Every process `up` starts (each cell and replica, a leaf's standby, the API
process, a fake oVirt engine, each agent) is a `Slot`. `Supervisor.tick`,
called a few times a second, starts again any that exited, as it was started
(same config, same port), after a wait that doubles with each exit that came
soon after a start (`Backoff`): a process that keeps failing at start-up (a bad
config, a port taken) is told once with the end of its log, then retried
slowly, never in a tight loop. A process that stayed up `STABLE` seconds is
back to the shortest wait.

Each exit and restart is told on `up`'s output, and the state of every slot is
written to STATE/processes.json (`cellrouter tree --state-dir STATE` and
`cellrouter processes` read it). The tree ends only when `up` is told to stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

FIRST_WAIT = 0.5  # seconds before starting again a process that exited
MAX_WAIT = 30.0  # the longest wait, for one that keeps failing
STABLE = 10.0  # seconds up after which an exit is not a start-up failure
FAILING = 3  # exits in a row, each soon after its start: it keeps failing
STATUS_FILE = "processes.json"


@dataclass(frozen=True, slots=True)
class Slot:
    """One process of the tree: how to start it, and which one runs now."""

    name: str  # as messages name it: "cell top.r2", "api", "agent lb-1"
    kind: str  # cell, api, engine, agent
    log: Path  # where its output goes
    launch: Callable[[], subprocess.Popen[bytes]]  # start it (again), as at first
    current: Callable[[], subprocess.Popen[bytes] | None]


@dataclass(slots=True)
class Backoff:
    """The wait before the next start: FIRST_WAIT, doubling with each exit that
    came less than STABLE seconds after its start, at most MAX_WAIT."""

    quick_exits: int = 0

    def after_exit(self, lived: float) -> float:
        self.quick_exits = self.quick_exits + 1 if lived < STABLE else 1
        return float(min(MAX_WAIT, FIRST_WAIT * 2 ** (self.quick_exits - 1)))

    @property
    def failing(self) -> bool:
        return self.quick_exits >= FAILING


@dataclass(slots=True)
class Watched:
    """What the supervisor knows of one slot."""

    slot: Slot
    started_at: float  # the supervisor's clock
    pid: int = 0
    since: float = field(default_factory=time.time)  # the same moment, as wall time
    restarts: int = 0
    last_exit: int | None = None  # the return code: negative for a signal
    restart_at: float | None = None  # waiting to start again, until then
    backoff: Backoff = field(default_factory=Backoff)
    told_failing: bool = False

    def status(self) -> dict[str, Any]:
        state = "restarting" if self.restart_at is not None else "running"
        if self.backoff.failing and self.restart_at is not None:
            state = "failing"
        return {"name": self.slot.name, "kind": self.slot.kind, "pid": self.pid,
                "state": state, "restarts": self.restarts,
                "last_exit": describe_exit(self.last_exit) if self.last_exit is not None
                else "", "since": self.since if self.restart_at is None else 0.0,
                "log": str(self.slot.log)}


def describe_exit(code: int) -> str:
    """A return code as people say it: "status 1", "killed by SIGKILL"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


class Supervisor:
    def __init__(self, slots: Sequence[Slot], state_dir: Path, out: TextIO,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        now = clock()
        self._watched = []
        for slot in slots:
            proc = slot.current()
            self._watched.append(Watched(slot, now, pid=proc.pid if proc is not None else 0))
        self._status = state_dir / STATUS_FILE
        self._out = out
        self._write()

    def tick(self) -> None:
        """Start again what exited, when its wait is over; tell what changed."""
        now = self._clock()
        changed = False
        for w in self._watched:
            if w.restart_at is not None:
                if now >= w.restart_at:
                    self._start(w, now)
                    changed = True
                continue
            proc = w.slot.current()
            if proc is not None and proc.poll() is not None:
                self._exited(w, proc.returncode, now)
                changed = True
        if changed:
            self._write()

    def _exited(self, w: Watched, code: int, now: float) -> None:
        lived = now - w.started_at
        wait = w.backoff.after_exit(lived)
        w.last_exit, w.restart_at = code, now + wait
        self._say(f"{w.slot.name} exited ({describe_exit(code)}) after {lived:.1f} s;"
                  f" starting it again in {wait:g} s")
        if w.backoff.failing and not w.told_failing:
            w.told_failing = True
            self._say(f"{w.slot.name} keeps failing at start-up ({w.backoff.quick_exits}"
                      f" exits in a row); trying again every {MAX_WAIT:g} s at most. The end"
                      f" of its log ({w.slot.log}):\n{_tail(w.slot.log)}")

    def _start(self, w: Watched, now: float) -> None:
        w.restart_at = None
        w.started_at, w.since = now, time.time()
        w.restarts += 1
        try:
            proc = w.slot.launch()
        except OSError as exc:  # it could not even be started: wait, and try again
            self._say(f"{w.slot.name} could not be started: {exc}")
            self._exited(w, 127, now)
            return
        w.pid = proc.pid
        if w.told_failing and not w.backoff.failing:
            w.told_failing = False
        self._say(f"{w.slot.name} started again (pid {proc.pid}, restart {w.restarts})")

    def _say(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} up: {line}", file=self._out, flush=True)

    def _write(self) -> None:
        data = {"written_at": time.time(), "processes": self.snapshot()}
        temporary = self._status.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(temporary, self._status)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every slot's status, as written to the status file."""
        return [w.status() for w in self._watched]


def read_status(state_dir: Path) -> list[dict[str, Any]]:
    """The processes a running (or the last) `cellrouter up` of `state_dir`
    supervised; [] when there is no status file."""
    path = state_dir / STATUS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    processes: list[dict[str, Any]] = data.get("processes", [])
    return processes


def _tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join(f"  | {line}" for line in text.splitlines()[-lines:])
