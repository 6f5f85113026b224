"""`cellrouter up` and `cellrouter boot --count` as a user runs them, their
progress going to a pipe: plain lines, one per cell or boot."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TREE = """
[tree]
insecure = true
report_interval = 0.2
down_after = 3

[cells.top]
[cells.r1]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [
  { name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 },
  { name = "h2", vcpus = 8, memory_mb = 16384, disk_gb = 100 },
]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{ name = "h3", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
"""
CELLS = {"top", "r1", "z1", "z2"}


@dataclass(frozen=True)
class Up:
    """A running `cellrouter up`: the top's address and where its stderr goes."""

    top: str
    stderr: Path


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up")
    (tmp / "tree.toml").write_text(TREE)
    with (tmp / "stderr").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cellops.cli", "up", str(tmp / "tree.toml"),
             "--state-dir", str(tmp / "state")],
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            said = []
            for line in proc.stdout:  # `up` ends by itself if the tree is not up in 60 s
                said.append(line)
                if " cells up; " in line:
                    break
            else:
                pytest.fail(f"up ended: {said} {(tmp / 'stderr').read_text()}")
            top = next(line.split()[1] for line in said if line.startswith("top: "))
            yield Up(top, tmp / "stderr")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def cli(up: Up, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cellops.cli", *args[:1], "--cell", up.top, *args[1:]],
        capture_output=True, text=True, timeout=120,
    )


def names_and_uuids(up: Up, prefix: str) -> dict[str, str]:
    listed = cli(up, "list", "--name-prefix", prefix, "--json")
    assert listed.returncode == 0, listed.stderr
    return {i["name"]: i["uuid"] for i in json.loads(listed.stdout)["instances"]}


def test_up_tells_each_cell_once_as_it_comes_up(up: Up) -> None:
    text = up.stderr.read_text()
    assert "\r" not in text
    told = [m.groups() for m in re.finditer(r"^cell (\S+) up \((\d+)/4\)$", text, re.M)]
    assert {name for name, _ in told} == CELLS
    assert [n for _, n in told] == ["1", "2", "3", "4"]


def test_boot_count_makes_name_1_to_5_and_the_same_command_again_nothing_new(up: Up) -> None:
    command = ["boot", "cnt", "--vcpus", "1", "--memory-mb", "64", "--count", "5",
               "--request-id", "cnt-base"]
    done = cli(up, *command)
    assert done.returncode == 0, done.stderr
    made = names_and_uuids(up, "cnt-")
    assert sorted(made) == ["cnt-1", "cnt-2", "cnt-3", "cnt-4", "cnt-5"]
    summary = done.stdout.splitlines()
    assert summary[:1] == ["5 of 5 booted"] and summary[1].split() == ["CELL", "INSTANCES", "HOSTS"]
    rows = [row.split() for row in summary[2:]]  # CELL COUNT HOST:N ...
    assert sum(int(count) for _, count, *_ in rows) == 5
    assert all(int(count) == sum(int(h.split(":")[1]) for h in hosts)
               for _, count, *hosts in rows)
    booted = re.findall(r"^(cnt-\d) booted in top!r1!z[12] on h\d \(\d/5 booted\)$",
                        done.stderr, re.M)
    assert sorted(booted) == sorted(made) and "\r" not in done.stderr

    again = cli(up, *command, "--json")
    assert again.returncode == 0, again.stderr
    answered = {i["name"]: i["uuid"] for i in json.loads(again.stdout)["instances"]}
    assert answered == made
    assert json.loads(again.stdout)["request_id_base"] == "cnt-base"
    assert names_and_uuids(up, "cnt-") == made


def test_boot_count_prints_a_random_base_that_makes_a_rerun_safe(up: Up) -> None:
    done = cli(up, "boot", "rnd", "--vcpus", "1", "--memory-mb", "64", "--count", "2", "--json")
    assert done.returncode == 0, done.stderr
    hint = re.search(r"^request ids (\S+)-1 … (\S+)-2: to retry safely, run the same command"
                     r" with --request-id (\S+)$", done.stderr, re.M)
    assert hint is not None and len(set(hint.groups())) == 1
    base = hint.group(1)
    first = {i["name"]: i["uuid"] for i in json.loads(done.stdout)["instances"]}
    assert {i["request_id"] for i in json.loads(done.stdout)["instances"]} == {
        f"{base}-1", f"{base}-2"}

    again = cli(up, "boot", "rnd", "--vcpus", "1", "--memory-mb", "64", "--count", "2",
                "--request-id", base)
    assert again.returncode == 0, again.stderr
    assert names_and_uuids(up, "rnd-") == first


def test_boot_count_with_failures_lists_them_and_exits_1(up: Up) -> None:
    done = cli(up, "boot", "big", "--vcpus", "64", "--memory-mb", "64", "--count", "3")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[:2] == ["0 of 3 booted", "3 failed (RESOURCE_EXHAUSTED: 3):"]
    assert [line.split()[:2] for line in lines[2:5]] == [
        ["big-1", "RESOURCE_EXHAUSTED:"], ["big-2", "RESOURCE_EXHAUSTED:"],
        ["big-3", "RESOURCE_EXHAUSTED:"]]
    assert lines[5].startswith("to retry them, run the same command with --request-id ")
    assert names_and_uuids(up, "big-") == {}


def test_boot_without_count_is_one_instance_named_as_given(up: Up) -> None:
    done = cli(up, "boot", "solo", "--vcpus", "1", "--memory-mb", "64",
               "--request-id", "solo-rid", "--json")
    assert done.returncode == 0, done.stderr
    instance = json.loads(done.stdout)
    assert (instance["name"], instance["request_id"]) == ("solo", "solo-rid")
    assert done.stderr == ""
