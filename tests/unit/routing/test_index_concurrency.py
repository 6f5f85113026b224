"""Two OS processes writing to one location index at the same time.

Each worker is a separate Python process (`sys.executable -c WORKER`) with its
own LocationIndex on the same database: a SQLite file, or a PostgreSQL schema
of its own (the `url` fixture in tests/unit/conftest.py). Once both have
opened the index they are released together, and each records 300 uuids of
its own interleaved with 50 shared request ids, each under a uuid of its own.
For every shared request id exactly one worker must win and the other must
get routing.errors.Conflict; a third index then sees all the rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid as uuidlib
from pathlib import Path
from typing import Any

from routing.index import LocationIndex

OWN_ROWS = 300
SHARED = 50
WORKERS = 2
TIMEOUT = 60.0  # seconds, for a worker; a normal run takes about one

REPO = Path(__file__).resolve().parents[3]

# argv: url, worker name, rows of its own, JSON list of shared request ids.
# stdout: "ready", then (after a line on stdin) one JSON report.
WORKER = """
import json, sys, time, uuid
from routing.errors import Conflict
from routing.index import Location, LocationIndex

url, name, n_own, shared = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
index = LocationIndex.open(url)
print("ready", flush=True)
sys.stdin.readline()  # the start signal
started = time.time()
own, won, lost = [], {}, {}
every = max(1, n_own // len(shared))
for i in range(n_own):
    row = Location(str(uuid.uuid4()), child=name, request_id=f"{name}-{i}", host=name)
    index.record(row)
    own.append(row.uuid)
    if i % every == 0 and i // every < len(shared):
        request_id = shared[i // every]
        mine = str(uuid.uuid4())
        try:
            index.record(Location(mine, child=name, request_id=request_id, host=name))
            won[request_id] = mine
        except Conflict:
            lost[request_id] = mine
ended = time.time()
index.close()
report = {"own": own, "won": won, "lost": lost, "started": started, "ended": ended}
print(json.dumps(report), flush=True)
"""


def run_workers(url: str, shared: list[str]) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    procs = {
        f"w{n}": subprocess.Popen(
            [sys.executable, "-c", WORKER, url, f"w{n}", str(OWN_ROWS), json.dumps(shared)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=REPO, env=env,
        )
        for n in range(WORKERS)
    }
    try:
        for name, proc in procs.items():  # wait until every worker has opened the index
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "ready", f"{name} did not start: {line!r} {proc.stderr.read()!r}"
        for proc in procs.values():  # then release them together
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT)
            assert proc.returncode == 0, f"{name} failed:\n{err}"
            reports[name] = json.loads(out)
        return reports
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_two_processes_record_concurrently(url: str) -> None:
    setup = LocationIndex.open(url)  # create the schema before the workers race
    setup.close()
    shared = [f"shared-{uuidlib.uuid4()}" for _ in range(SHARED)]

    reports = run_workers(url, shared)

    # The two write phases overlapped in time: the workers really ran together.
    assert max(r["started"] for r in reports.values()) < min(
        r["ended"] for r in reports.values())
    won = {name: dict(r["won"]) for name, r in reports.items()}
    lost = {name: dict(r["lost"]) for name, r in reports.items()}
    own = {name: list(r["own"]) for name, r in reports.items()}
    for request_id in shared:
        winners = [name for name in reports if request_id in won[name]]
        losers = [name for name in reports if request_id in lost[name]]
        assert len(winners) == 1, f"{request_id}: won by {winners}"
        assert len(losers) == WORKERS - 1, f"{request_id}: Conflict raised in {losers}"
    for name in reports:
        assert len(own[name]) == OWN_ROWS
        assert len(won[name]) + len(lost[name]) == SHARED

    third = LocationIndex.open(url)
    try:
        assert third.count() == WORKERS * OWN_ROWS + SHARED
        assert third.count_by_child() == {
            name: OWN_ROWS + len(won[name]) for name in reports
        }
        for name in reports:
            for request_id, winner in won[name].items():
                got = third.lookup(winner)
                assert got is not None
                assert (got.request_id, got.child, got.host) == (request_id, name, name)
                by_key = third.by_request_id(request_id)
                assert by_key is not None and by_key.uuid == winner
            for loser in lost[name].values():
                assert third.lookup(loser) is None
            for i, uuid in enumerate(own[name]):
                got = third.lookup_uncached(uuid)
                assert got is not None
                assert (got.child, got.request_id) == (name, f"{name}-{i}")
    finally:
        third.close()
