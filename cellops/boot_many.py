"""`cellrouter boot NAME --count N`: N instances, NAME-1 … NAME-N, booted a
few at a time, and an account of where they went.

Each boot has its own request id, BASE-1 … BASE-N, made from one base: the
one given with --request-id, or a random one the command prints first. Every
cell de-duplicates boots by request id, so running the same command again
with the same base boots only what is missing: a boot that was done answers
with the instance it made. Names and request ids are made as the OpenStack
API's multiple create makes them (api.compute.boot), as Nova names them.
"""

from __future__ import annotations

import argparse
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace

from cellops.progress import BootsProgress
from model.compute import BootSpec, Instance
from model.errors import CellError
from model.table import table
from routing.validate import check_boot

MAX_COUNT = 1000
CONCURRENCY = 8  # boots in flight at once: well inside a cell's per-client limit (64)
MOST_FAILURES_SHOWN = 10  # in the summary for people; --json has them all

Boot = Callable[[BootSpec], Instance]  # CellClient.boot, or a fake in tests


def parse_count(text: str) -> int:
    """--count's value: a whole number from 1 to MAX_COUNT (for argparse)."""
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(
            f"a whole number from 1 to {MAX_COUNT}, not {text!r}")
    return value


def new_base() -> str:
    """A random base for the request ids of one command."""
    return uuidlib.uuid4().hex


def specs_for(spec: BootSpec, count: int, base: str) -> list[BootSpec]:
    """`count` copies of `spec`, the n-th named NAME-n with request id BASE-n.

    Each is checked as the cells will check it, so that a name or base too
    long fails once, here, and not once per boot (raises InvalidArgument)."""
    specs = [replace(spec, name=f"{spec.name}-{n}", request_id=f"{base}-{n}")
             for n in range(1, count + 1)]
    for one in specs:
        check_boot(one)
    return specs


def retry_hint(base: str, count: int) -> str:
    return (f"request ids {base}-1 … {base}-{count}: to retry safely, run the same"
            f" command with --request-id {base}")


@dataclass(frozen=True, slots=True)
class Failure:
    """A boot that failed, and the error the tree answered."""

    name: str
    request_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of each boot, in the order they were asked for."""

    results: tuple[Instance | Failure, ...]

    @property
    def booted(self) -> list[Instance]:
        return [r for r in self.results if isinstance(r, Instance)]

    @property
    def failures(self) -> list[Failure]:
        return [r for r in self.results if isinstance(r, Failure)]


def boot_all(boot: Boot, specs: Sequence[BootSpec], progress: BootsProgress,
             concurrency: int = CONCURRENCY) -> Outcome:
    """Boot every spec, `concurrency` at a time, telling `progress` as each
    ends (from this thread). A boot that fails with a CellError is a Failure;
    anything else is a bug and is raised. On an interrupt no further boot is
    started; the ones in flight end with the client's channel."""
    results: dict[int, Instance | Failure] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(specs))),
                              thread_name_prefix="boot")
    progress.start()
    try:
        futures = {pool.submit(boot, spec): n for n, spec in enumerate(specs)}
        for future in as_completed(futures):
            n = futures[future]
            spec = specs[n]
            try:
                instance = future.result()
            except CellError as exc:
                results[n] = Failure(spec.name, spec.request_id, exc.code, exc.message)
                progress.boot_failed(spec.name, str(exc))
            else:
                results[n] = instance
                progress.boot_ended(spec.name, instance.cell_path, instance.host)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        progress.finish()
    return Outcome(tuple(results[n] for n in range(len(specs))))


def report(outcome: Outcome, base: str) -> list[str]:
    """The summary for people: how many booted, a count per cell with its
    hosts, then each failure and how to retry."""
    booted, failures = outcome.booted, outcome.failures
    lines = [f"{len(booted)} of {len(outcome.results)} booted"]
    if booted:
        lines += table([["CELL", "INSTANCES", "HOSTS"], *_where_rows(booted)])
    if failures:
        codes = Counter(f.code for f in failures)
        lines.append(f"{len(failures)} failed ("
                     + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items())) + "):")
        shown = failures[:MOST_FAILURES_SHOWN]
        width = max(len(f.name) for f in shown)
        lines += [f"  {f.name.ljust(width)}  {f.code}: {f.message}" for f in shown]
        if len(failures) > len(shown):
            lines.append(f"  and {len(failures) - len(shown)} more (--json lists every one)")
        lines.append(f"to retry them, {rest_hint(base)}")
    return lines


def rest_hint(base: str) -> str:
    """How to boot what is missing (after failures, or an interrupt)."""
    return (f"run the same command with --request-id {base}"
            " (those booted are not booted again)")


def _where_rows(instances: Sequence[Instance]) -> list[list[str]]:
    """A row per cell path: its instances, and how many on each host (known)."""
    cells = Counter(i.cell_path or "-" for i in instances)
    hosts = Counter((i.cell_path or "-", i.host) for i in instances if i.host)
    rows = []
    for path, count in sorted(cells.items()):
        on = " ".join(f"{host}:{n}" for (p, host), n in sorted(hosts.items()) if p == path)
        rows.append([path, str(count), on or "-"])
    return rows
