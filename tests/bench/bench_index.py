"""How fast is the location index, from its cache and from each database?

    python -m tests.bench.bench_index [--seconds S] [--rows N]

Every routed call looks an instance up in a cell's location index
(routing.index.LocationIndex), and every boot records one. This measures,
one thread, one operation at a time:

  index cache hit   LocationIndex.lookup of 4,096 uuids that are all in the
                    in-memory cache (each looked up once before), in turn.
  sqlite miss       LocationIndex.lookup_uncached on a SQLite file (WAL) with
                    N rows (default 10,000), each lookup a uuid picked at random
                    among them: the database query a cache miss costs.
  sqlite record     LocationIndex.record of new rows, one transaction each.
  postgres miss     as sqlite miss, on PostgreSQL.
  postgres record   as sqlite record, on PostgreSQL.

The PostgreSQL server is the one named by CELLROUTER_TEST_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the benchmark works in a
schema of its own, dropped afterwards. When the server cannot be reached its
lines say "skipped" and why.

Each figure is operations over the wall time of a timed loop of about S
seconds (default 1.5), read with time.perf_counter() between batches (256
lookups or 16 writes), after a short warm-up that is not counted. Targets:
cache hit >= 400,000 lookups/s, SQLite miss >= 25,000 lookups/s, PostgreSQL
miss >= 5,000 lookups/s; writes have none. A figure under its target is
marked BELOW TARGET. The figures are for one quiet machine: other load on it
lowers them all.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from celldb.engine import create_schema, drop_schema
from celldb.errors import DatabaseUnavailable
from routing.errors import RoutingError
from routing.index import Location, LocationIndex
from routing.tables import locations

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 256  # lookups between two looks at the clock
WRITE_BATCH = 16  # writes between two looks at the clock
WARMUP_BATCHES = 2  # batches run before the clock starts
PICKS = 1 << 16  # random keys drawn for the miss runs (a multiple of BATCH)
LABEL_WIDTH = 18
CACHED = 4096  # uuids cycled through in the cache-hit run (a multiple of BATCH)


def measure(run_batch: Callable[[int], object], seconds: float, size: int = BATCH) -> float:
    """Operations per second of run_batch(0), run_batch(1), ..., each `size` operations,
    for about `seconds` (after WARMUP_BATCHES batches that are not counted)."""
    for b in range(WARMUP_BATCHES):
        run_batch(b)
    done = 0
    start = time.perf_counter()
    while True:
        run_batch(WARMUP_BATCHES + done)
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done * size / elapsed


def lookups(lookup: Callable[[str], object], keys: list[str]) -> Callable[[int], None]:
    """A batch runner: BATCH lookups of consecutive keys, wrapping around.

    len(keys) must be a multiple of BATCH, so that every slice is a full batch.
    """
    assert len(keys) % BATCH == 0
    per_round = len(keys) // BATCH

    def run_batch(b: int) -> None:
        off = (b % per_round) * BATCH
        for key in keys[off:off + BATCH]:
            if lookup(key) is None:
                raise AssertionError(f"{key} was not found")

    return run_batch


def report(label: str, rate: float, unit: str, target: float | None = None) -> None:
    line = f"{label:<{LABEL_WIDTH}} {rate:>12,.0f} {unit}"
    if target is not None:
        line += f"  (target >= {target:,.0f})"
        if rate < target:
            line += "  BELOW TARGET"
    print(line, flush=True)


def skipped(label: str, reason: str) -> None:
    print(f"{label:<{LABEL_WIDTH}} skipped: {reason}", flush=True)


def fill(index: LocationIndex, rows: int) -> list[str]:
    """`rows` rows in one bulk insert (not through record, which is measured apart)."""
    now = time.time()
    values = [
        {"uuid": str(uuidlib.uuid4()), "request_id": str(uuidlib.uuid4()),
         "child": f"c{i % 8}", "cell_path": f"top!c{i % 8}!z{i % 3}", "host": f"h{i % 97}",
         "project": f"p{i % 13}", "state": "ACTIVE", "pending": False, "updated_at": now,
         "name": f"vm-{i}", "created_at": now}
        for i in range(rows)
    ]
    with index.engine.begin() as conn:
        conn.execute(insert(locations), values)
    return [v["uuid"] for v in values]


def bench_database(label: str, index: LocationIndex, rows: int, seconds: float,
                   miss_target: float) -> None:
    uuids = fill(index, rows)
    assert index.count() == rows, "the table was not filled"
    rng = random.Random(1)
    picks = [rng.choice(uuids) for _ in range(PICKS)]
    rate = measure(lookups(index.lookup_uncached, picks), seconds)
    report(f"{label} miss", rate, "lookups/s", miss_target)

    def records(_b: int) -> None:
        for _ in range(WRITE_BATCH):
            index.record(Location(str(uuidlib.uuid4()), child="c0",
                                  request_id=str(uuidlib.uuid4()), state="BUILDING",
                                  pending=True, name="vm", created_at=1.0))

    before = index.count()
    rate = measure(records, seconds, WRITE_BATCH)
    if index.count() == before:
        raise AssertionError("record() wrote nothing")
    report(f"{label} record", rate, "writes/s")


def bench_cache(index: LocationIndex, seconds: float) -> None:
    uuids = fill(index, CACHED)
    for u in uuids:  # each a miss that brings the row into the cache
        index.lookup(u)
    if index.cache_stats().size != CACHED:
        raise AssertionError(f"the cache holds {index.cache_stats().size} of {CACHED} rows")
    before = index.cache_stats()
    rate = measure(lookups(index.lookup, uuids), seconds)
    after = index.cache_stats()
    if after.misses != before.misses:
        raise AssertionError(f"{after.misses - before.misses} cache misses in the hit run")
    report("index cache hit", rate, "lookups/s", 400_000)


def bench_invalidation(index: LocationIndex, url: str, rounds: int = 200) -> None:
    """How long another replica serves a row from its cache after this one changed
    it: from before the delete here until a lookup there misses (a lookup that
    misses reads the database, and finds nothing). Beside it, in the same run,
    one round trip to the database (a lookup that skips the cache)."""
    other = LocationIndex.open(url)
    try:
        windows, trips = [], []
        for n in range(rounds):
            uuid = str(uuidlib.uuid4())
            index.record(Location(uuid, "c1", "top!c1", "h", "p", "ACTIVE", f"inv-{n}"))
            other.lookup(uuid)  # cached there now
            started = time.perf_counter()
            index.forget(uuid)
            while other.lookup(uuid) is not None:
                pass
            windows.append(time.perf_counter() - started)
            started = time.perf_counter()
            index.lookup_uncached(uuid)
            trips.append(time.perf_counter() - started)
    finally:
        other.close()
    window, trip = statistics.median(windows) * 1e3, statistics.median(trips) * 1e3
    worst = sorted(windows)[int(len(windows) * 0.99) - 1] * 1e3
    print(f"postgres cache invalidation across replicas: p50 {window:.2f} ms, p99 {worst:.2f} ms"
          f" (delete, NOTIFY, eviction); one database round trip p50 {trip:.2f} ms;"
          f" ratio {window / trip:.1f}x")


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards."""
    schema = f"bench_{uuidlib.uuid4().hex[:12]}"
    create_schema(base, schema)
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        drop_schema(base, schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the miss tables")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, sqlalchemy {sqlalchemy.__version__},"
          f" sqlite {sqlite3.sqlite_version}, {platform.machine()}")

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        index = LocationIndex.open(f"sqlite:///{Path(tmp) / 'index.db'}")
        try:
            bench_cache(index, args.seconds)
        finally:
            index.close()
        index = LocationIndex.open(f"sqlite:///{Path(tmp) / 'miss.db'}")
        try:
            bench_database("sqlite", index, args.rows, args.seconds, 25_000)
        finally:
            index.close()

    base = os.environ.get("CELLROUTER_TEST_PG_URL") or DEFAULT_PG_URL
    opened = False
    try:
        with pg_schema(base) as url:
            index = LocationIndex.open(url)
            opened = True
            try:
                bench_database("postgres", index, args.rows, args.seconds, 5_000)
                bench_invalidation(index, url)
            finally:
                index.close()
    except (SQLAlchemyError, RoutingError, DatabaseUnavailable, ImportError) as exc:
        if opened:  # reachable, then failed while measuring: that is no skip
            raise
        reason = f"cannot use PostgreSQL at {redact(base)}: {str(exc).splitlines()[0]}"
        skipped("postgres miss", reason)
        skipped("postgres record", reason)
    return 0


def redact(url: str) -> str:
    """The URL without its password."""
    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "CELLROUTER_TEST_PG_URL"


if __name__ == "__main__":
    sys.exit(main())
