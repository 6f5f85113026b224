"""A web hook receiver for the benchmarks, in a process of its own so that its
work never holds the benchmark client's GIL.

    python -m tests.bench.hook_sink LOG      (the secret: one line on stdin)

It prints its URL (http://127.0.0.1:PORT/in) and serves until it is ended.
Every POST is checked with the verification function of docs/hooks.md (as
tests.integration.hook_receiver reads it from the page): a request that
verifies is answered 204 and appended to LOG as one JSON line (`at`, the
receipt's time.time(); the event's `message_id`, `event_type` and
`timestamp`); one that does not is answered 401 and logged as {"bad": true}.

`HookSink` runs it from the benchmark: its URL, what it received, its pid.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from tests.integration.hook_receiver import verify


@dataclass(frozen=True, slots=True)
class Receipt:
    at: float  # time.time() when the request reached the receiver
    message_id: str
    event_type: str
    timestamp: str  # the event's, as the leaf wrote it: its commit


class HookSink:
    """The receiver's process; `receipts()` reads what it took so far."""

    def __init__(self, secret: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cellrouter-bench-hooks-")
        self.log = Path(self._dir.name) / "receipts.jsonl"
        self.log.touch()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.bench.hook_sink",
                                      str(self.log)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(secret + "\n")
        self.proc.stdin.close()
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.close()
            raise RuntimeError(f"the hook receiver did not start (exit {self.proc.poll()})")

    def receipts(self) -> tuple[list[Receipt], int]:
        """Every verified request so far, in order of receipt; and how many did not verify."""
        taken, bad = [], 0
        for line in self.log.read_text().splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # being written
            entry = json.loads(line)
            if entry.get("bad"):
                bad += 1
            else:
                taken.append(Receipt(entry["at"], entry["message_id"], entry["event_type"],
                                     entry["timestamp"]))
        return taken, bad

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._dir.cleanup()


async def serve(secret: str, log: IO[str]) -> None:
    async def take(request: web.Request) -> web.Response:
        at = time.time()
        body = await request.read()
        try:
            verify(secret, request.headers.get("X-Cellrouter-Signature", ""), body)
        except ValueError:
            log.write('{"bad": true}\n')
            return web.Response(status=401)
        event = json.loads(body)
        log.write(json.dumps({"at": at, "message_id": event["message_id"],
                              "event_type": event["event_type"],
                              "timestamp": event["timestamp"]}) + "\n")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/in", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port}/in", flush=True)
    await asyncio.Event().wait()  # until the benchmark ends the process


def main() -> None:
    secret = sys.stdin.readline().strip()
    with open(sys.argv[1], "a", buffering=1) as log:  # line-buffered: a line is whole
        asyncio.run(serve(secret, log))


if __name__ == "__main__":
    main()
