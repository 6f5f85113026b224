"""The AMQP sender of one cell: drains its outbox (notify.outbox), oldest
first, to a topic exchange, with publisher confirms; a row is deleted only
once the broker confirmed its message.

A batch of rows (BATCH) is published in the outbox's order on one channel,
without waiting for each confirm before the next, and the confirmed prefix
is deleted; RabbitMQ keeps a channel's order into each queue, so the order
of the outbox is the order on the bus. (After a broker's nack, a rare
failure of the broker itself, the unconfirmed rest is sent again, and a
consumer may then see a later message once before an earlier one.) When the broker cannot
be reached or a publish fails, the sender waits (from RECONNECT_FIRST up to
RECONNECT_MOST seconds, doubling) and starts again from the oldest row; the
cell goes on serving, writing its events into the outbox.

For tests: while the file named by the environment variable
CELLROUTER_NOTIFY_HOLD exists, the sender publishes nothing (a process killed
then holds events committed and not sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractExchange

from celldb.errors import DatabaseUnavailable
from notify.config import NotifyConfig
from notify.envelope import wrap
from notify.outbox import Outbox, Pending

log = logging.getLogger(__name__)

BATCH = 200  # rows read from the outbox at a time
POLL = 1.0  # seconds between looks at the outbox when nothing woke the sender
RECONNECT_FIRST, RECONNECT_MOST = 0.2, 5.0
HOLD_ENV = "CELLROUTER_NOTIFY_HOLD"
# What a bus that went away (or a database that failed) looks like from below:
# aio-pika's and aiormq's errors, a closed channel, a connect cut short.
_BUS_DOWN = (aio_pika.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError,
             OSError, TimeoutError, StopAsyncIteration, DatabaseUnavailable)


@dataclass(frozen=True, slots=True)
class SenderStats:
    connected: bool
    sent: int  # confirmed by the broker, by this process
    failures: int  # connections lost or refused, publishes not confirmed


class AmqpSender:
    """Runs as one task on the cell's event loop (`run`), until cancelled."""

    def __init__(self, outbox: Outbox, config: NotifyConfig) -> None:
        self._outbox = outbox
        self._config = config
        self._wake = asyncio.Event()
        outbox.on_added = self._wake.set
        self._connected = False
        self._was_connected = False  # since the last failure
        self._sent = 0
        self._failures = 0

    def stats(self) -> SenderStats:
        return SenderStats(self._connected, self._sent, self._failures)

    async def run(self) -> None:
        delay = RECONNECT_FIRST
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the cell stops
                # aiormq cancels what waits on a connection that broke.
                self._failed("the connection broke", delay)
            except _BUS_DOWN as exc:
                self._failed(str(exc) or type(exc).__name__, delay)
            except Exception as exc:  # the sender outlives whatever else happens
                log.exception("the notification sender failed")
                self._failed(str(exc) or type(exc).__name__, delay)
            if self._was_connected:  # an outage begins: try again soon
                self._was_connected, delay = False, RECONNECT_FIRST
            with contextlib.suppress(DatabaseUnavailable):
                self._outbox.count()  # the bound counts what is really there
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MOST)

    def _failed(self, why: str, delay: float) -> None:
        self._failures += 1
        if self._was_connected or delay == RECONNECT_FIRST:  # once per outage
            log.warning("notifications to %s not sent: %s (the outbox keeps them; trying"
                        " again)", self._config.shown_url, why)

    async def _session(self) -> None:
        """One connection: publish until it breaks."""
        connection: AbstractConnection = await aio_pika.connect(
            self._config.url, timeout=5)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                self._config.exchange, aio_pika.ExchangeType.TOPIC, durable=False)
            self._connected = self._was_connected = True
            log.info("notifications go to exchange %s at %s", self._config.exchange,
                     self._config.shown_url)
            self._outbox.count()
            while True:
                await self._drain(exchange)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL)
        finally:
            self._connected = False
            await asyncio.shield(_close(connection))

    async def _drain(self, exchange: AbstractExchange) -> None:
        """Send the outbox, a batch at a time: the batch's messages published
        in order without waiting for each confirm (the channel keeps their
        order), then the confirmed prefix deleted; a failure ends the session
        (the rest is sent again on the next, at least once)."""
        while True:
            await _hold()
            rows = self._outbox.batch(BATCH)
            if not rows:
                return
            results = await asyncio.gather(*(self._publish(exchange, row) for row in rows),
                                           return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            confirmed = rows[:results.index(failures[0])] if failures else rows
            self._outbox.remove([row.id for row in confirmed])
            self._sent += len(confirmed)
            if failures:
                raise failures[0]

    async def _publish(self, exchange: AbstractExchange, row: Pending) -> None:
        """Publish and wait for the broker's confirm (raises if it refuses).
        Not mandatory: with no queue bound the broker drops it, as oslo's does."""
        body = aio_pika.Message(
            wrap(row.message), content_type="application/json", message_id=row.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, timestamp=time.time())
        await exchange.publish(body, self._config.routing_key, mandatory=False, timeout=10)


async def _hold() -> None:
    held = os.environ.get(HOLD_ENV)
    while held and Path(held).exists():
        await asyncio.sleep(0.05)


async def _close(connection: AbstractConnection) -> None:
    try:
        await connection.close()
    except Exception:  # a broken connection is closed already
        log.debug("closing the AMQP connection failed", exc_info=True)
