"""`cellrouter up` keeps its processes running (cellops.supervise): each exit is
told, the process started again after a wait that grows while it keeps failing
at start-up, and every slot's state written where `cellrouter processes` reads it."""

from __future__ import annotations

import io
import signal
import subprocess
from pathlib import Path
from typing import cast

import pytest

from cellops.supervise import (
    FIRST_WAIT,
    MAX_WAIT,
    STABLE,
    Slot,
    Supervisor,
    describe_exit,
    read_status,
)


class FakeProcess:
    """A started process whose exit the test decides."""

    pids = iter(range(1000, 100000))

    def __init__(self) -> None:
        self.pid = next(self.pids)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Program:
    """One slot's process, started again by the supervisor as often as it likes."""

    def __init__(self, log: Path) -> None:
        self.started: list[FakeProcess] = [FakeProcess()]
        self.slot = Slot("cell z1", "cell", log, self.launch, self.current)

    def launch(self) -> subprocess.Popen[bytes]:
        self.started.append(FakeProcess())
        return cast(subprocess.Popen[bytes], self.started[-1])

    def current(self) -> subprocess.Popen[bytes] | None:
        return cast(subprocess.Popen[bytes], self.started[-1])

    def dies(self, code: int) -> None:
        self.started[-1].returncode = code


def supervised(tmp_path: Path) -> tuple[Program, Supervisor, Clock, io.StringIO]:
    log = tmp_path / "cell.log"
    log.write_text("starting\nConfigError: port 50051 is taken\n")
    program, clock, out = Program(log), Clock(), io.StringIO()
    return program, Supervisor([program.slot], tmp_path, out, clock), clock, out


def test_a_killed_process_is_started_again_and_told(tmp_path: Path) -> None:
    program, supervisor, clock, out = supervised(tmp_path)
    clock.now += 600  # it ran ten minutes
    program.dies(-signal.SIGKILL)
    supervisor.tick()
    assert len(program.started) == 1  # not at once: after the first wait
    clock.now += FIRST_WAIT
    supervisor.tick()
    assert len(program.started) == 2
    told = out.getvalue()
    assert "cell z1 exited (killed by SIGKILL) after 600.0 s; starting it again in 0.5 s" in told
    assert f"cell z1 started again (pid {program.started[1].pid}, restart 1)" in told
    [status] = read_status(tmp_path)
    assert status["restarts"] == 1 and status["last_exit"] == "killed by SIGKILL"
    assert status["state"] == "running" and status["pid"] == program.started[1].pid


def test_a_process_failing_at_start_up_is_retried_slower_and_told_once(
        tmp_path: Path) -> None:
    program, supervisor, clock, out = supervised(tmp_path)
    waits = []
    for _ in range(9):
        program.dies(1)
        supervisor.tick()  # the exit is seen
        before, started = clock.now, len(program.started)
        while len(program.started) == started:  # wait, in small steps, for the restart
            clock.now += 0.25
            supervisor.tick()
        waits.append(clock.now - before)
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, MAX_WAIT, MAX_WAIT, MAX_WAIT]
    told = out.getvalue()
    assert told.count("keeps failing at start-up") == 1
    assert "| ConfigError: port 50051 is taken" in told  # the end of its log
    program.dies(1)
    supervisor.tick()
    assert read_status(tmp_path)[0]["state"] == "failing"


def test_a_process_that_stayed_up_is_back_to_the_shortest_wait(tmp_path: Path) -> None:
    program, supervisor, clock, _ = supervised(tmp_path)
    for _ in range(4):  # four quick failures: the wait has grown to 4 s
        program.dies(1)
        supervisor.tick()
        clock.now += MAX_WAIT
        supervisor.tick()
    clock.now += STABLE  # then it stays up
    program.dies(-signal.SIGTERM)
    supervisor.tick()
    clock.now += FIRST_WAIT
    supervisor.tick()
    assert len(program.started) == 6


def test_a_process_that_cannot_be_started_is_tried_again(tmp_path: Path) -> None:
    program, _, clock, out = supervised(tmp_path)

    def cannot() -> subprocess.Popen[bytes]:
        raise FileNotFoundError("no such interpreter")

    broken = Supervisor([Slot("api", "api", tmp_path / "api.log", cannot, program.current)],
                        tmp_path, out, clock)
    program.dies(1)
    broken.tick()
    clock.now += FIRST_WAIT
    broken.tick()
    assert "api could not be started: no such interpreter" in out.getvalue()
    assert read_status(tmp_path)[0]["state"] == "restarting"


@pytest.mark.parametrize(("code", "said"), [
    (0, "status 0"), (3, "status 3"), (-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"),
    (-200, "killed by signal 200"),
])
def test_how_an_exit_is_said(code: int, said: str) -> None:
    assert describe_exit(code) == said


def test_no_status_file_reads_as_no_processes(tmp_path: Path) -> None:
    assert read_status(tmp_path) == []
