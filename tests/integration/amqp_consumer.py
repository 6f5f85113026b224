"""A consumer of the tree's notifications written as any system would, with a
plain AMQP client (aiormq) and none of cellrouter's code: an exclusive queue
bound to the exchange, each body opened as oslo.messaging's envelope.

Tests that need RabbitMQ call `require_amqp()`: it skips them, saying why,
when no broker answers, and fails them when CELLROUTER_REQUIRE_AMQP=1 (CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiormq
import jsonschema
import pytest

AMQP_URL = os.environ.get("CELLROUTER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
AMQP_ADDRESS = "127.0.0.1:5672"
KEY = "versioned_notifications.info"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "notify" / "schemas"
                     / "notification.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def amqp_answers() -> bool:
    host, port = AMQP_ADDRESS.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def require_amqp() -> None:
    if amqp_answers():
        return
    reason = f"RabbitMQ does not answer at {AMQP_ADDRESS}"
    if os.environ.get("CELLROUTER_REQUIRE_AMQP") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_AMQP=1)")
    pytest.skip(reason)


@dataclass(frozen=True)
class Received:
    at: float  # time.time() on arrival
    message_id: str  # the AMQP property
    inner: dict[str, Any]  # the parsed "oslo.message"

    @property
    def event_type(self) -> str:
        return str(self.inner["event_type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.inner["payload"]["nova_object.data"])


class Consumer:
    """Everything published to `exchange` with routing key KEY from now on."""

    def __init__(self, exchange: str = "nova", url: str = AMQP_URL) -> None:
        self.exchange = exchange
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._conn: Any = None
        self._run(self._start(url))

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(15)

    async def _start(self, url: str) -> None:
        self._conn = await aiormq.connect(url)
        channel = await self._conn.channel()
        await channel.exchange_declare(self.exchange, exchange_type="topic", durable=False)
        queue = await channel.queue_declare("", exclusive=True, auto_delete=True)
        await channel.queue_bind(queue.queue, self.exchange, routing_key=KEY)
        await channel.basic_consume(queue.queue, self._on_message, no_ack=True)

    async def _on_message(self, message: Any) -> None:
        envelope = json.loads(message.body)
        assert envelope["oslo.version"] == "2.0"
        inner = json.loads(envelope["oslo.message"])
        with self._lock:
            self.received.append(Received(time.time(), message.header.properties.message_id,
                                          inner))

    def of(self, uuid: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.data.get("uuid") == uuid]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def close(self, delete_exchange: bool = False) -> None:
        async def stop() -> None:
            if delete_exchange:
                channel = await self._conn.channel()
                await channel.exchange_delete(self.exchange)
            await self._conn.close()

        try:
            self._run(stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
