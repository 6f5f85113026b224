"""A web hook receiver as a subscriber would write one: aiohttp on loopback,
in a thread of its own, checking every request with the verification
function of docs/hooks.md (read from the page, so the page's code is what is
tested), and a publisher of notifications with a plain AMQP client (aiormq),
as a leaf's sender would put them on the bus."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiormq
from aiohttp import web

from tests.integration.amqp_consumer import AMQP_URL, KEY

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def _doc_verify() -> Callable[..., int]:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None, "docs/hooks.md has no python block"
    space: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), space)
    verify: Callable[..., int] = space["verify"]
    return verify


verify = _doc_verify()


@dataclass(frozen=True)
class Request:
    header: str
    body: bytes
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """Answers 500 to its first `fail_first` verified requests, 2xx after;
    a request whose signature does not verify is 401 and counted."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.requests: list[Request] = []
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._runner: web.AppRunner | None = None
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_post("/in", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/in"

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get("X-Cellrouter-Signature", "")
        try:
            verify(self.secret, header, body)
        except ValueError:
            with self._lock:
                self.bad_signatures += 1
            return web.Response(status=401)
        with self._lock:
            status = 500 if len(self.requests) < self.fail_first else 204
            self.requests.append(Request(header, body, status))
        return web.Response(status=status)

    def accepted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.requests if r.status < 300]

    def all(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def close(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def notification(event_type: str, uuid: str, project: str = "shop",
                 state: str = "active", message_id: str = "") -> dict[str, Any]:
    """The inner message of a leaf's notification (oslo.messaging's "oslo.message")."""
    return {"message_id": message_id or str(uuidlib.uuid4()),
            "publisher_id": "cellrouter-leaf:top!r1!z1", "event_type": event_type,
            "priority": "INFO",
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime()),
            "payload": {"nova_object.name": "InstanceActionPayload",
                        "nova_object.namespace": "cellrouter", "nova_object.version": "1.0",
                        "nova_object.data": {"uuid": uuid, "state": state,
                                             "tenant_id": project, "host": "h1",
                                             "display_name": "vm", "cell_path": "top!r1!z1"}}}


def publish(exchange: str, messages: list[dict[str, Any]], url: str = AMQP_URL) -> None:
    """Publish each inner message in oslo.messaging's envelope, in order."""
    async def send() -> None:
        conn = await aiormq.connect(url)
        try:
            channel = await conn.channel()
            await channel.exchange_declare(exchange, exchange_type="topic", durable=False)
            for inner in messages:
                body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)})
                await channel.basic_publish(body.encode(), exchange=exchange, routing_key=KEY,
                                            properties=aiormq.spec.Basic.Properties(
                                                content_type="application/json",
                                                message_id=inner["message_id"]))
        finally:
            await conn.close()
    asyncio.run(send())


def drop(exchange: str, queue: str, url: str = AMQP_URL) -> None:
    """Delete a test's exchange and durable queue."""
    async def delete() -> None:
        conn = await aiormq.connect(url)
        try:
            channel = await conn.channel()
            await channel.queue_delete(queue)
            await channel.exchange_delete(exchange)
        finally:
            await conn.close()
    asyncio.run(delete())
