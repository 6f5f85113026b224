"""The dispatcher: takes the tree's events off the bus and records, for each,
a delivery per matching subscription (api.hooks.deliveries).

    the exchange ──┬── the shared durable queue ([hooks] queue): every API
                   │   process consumes it (competing consumers), each event
                   │   reaches one of them; it is acked only after its rows
                   │   committed, so an event is recorded at least once and,
                   │   the rows being unique per (subscription, message_id),
                   │   delivered once per subscriber
                   └── an exclusive queue of this process: every event, for
                       the dashboard's streams (EventHub), while a page
                       listens; lost with the process, fine for a view

Events are handled in the order the queue gives them, so one process records
them in the bus's order: what has arrived is taken together (up to PREFETCH)
and recorded in one transaction, then acked. With several processes two events
published at once may be recorded in either order; [hooks]
single_active_consumer = true makes RabbitMQ feed one process at a time (the
others take over if it goes) when a subscriber needs the strict order.

When the bus cannot be reached, or the connection breaks, the dispatcher
tries again (RECONNECT_FIRST seconds, doubling up to RECONNECT_MOST) and the
API goes on serving; unacked events are redelivered by the broker. When the
database fails, the event is handed back to the queue after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from pamqp.common import FieldTable

from api.hooks.deliveries import DeliveryStore, HookEvent
from api.hooks.hub import EventHub
from api.hooks.settings import HookSettings
from celldb.errors import DatabaseUnavailable
from notify.config import NotifyConfig
from notify.envelope import unwrap

log = logging.getLogger(__name__)

PREFETCH = 64  # events the broker may hand this process before its acks
RECONNECT_FIRST, RECONNECT_MOST = 0.5, 30.0
DATABASE_PAUSE = 1.0  # seconds before an event the database refused goes back


class Dispatcher:
    """Runs as one task of the API process (`run`), until cancelled."""

    def __init__(self, bus: NotifyConfig, settings: HookSettings, deliveries: DeliveryStore,
                 hub: EventHub, recorded: Callable[[], None]) -> None:
        self._bus = bus
        self._settings = settings
        self._deliveries = deliveries
        self._hub = hub
        self._recorded = recorded  # wakes this process's deliverer

    async def run(self) -> None:
        delay, quiet = RECONNECT_FIRST, False
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (aio_pika.exceptions.AMQPException, OSError, TimeoutError) as exc:
                if self._hub.following or not quiet:  # said once per outage
                    log.warning("web hooks: the bus at %s is not followed: %s (trying again;"
                                " the API goes on serving)", self._bus.shown_url,
                                exc or type(exc).__name__)
            except Exception:  # a bug here must not end the following for good
                log.exception("web hooks: the dispatcher failed (trying again)")
            if self._hub.following:  # it had worked: start the waits over
                delay = RECONNECT_FIRST
            self._hub.set_following(False)
            quiet = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MOST)

    async def _session(self) -> None:
        """One connection: consume until it breaks."""
        connection: AbstractConnection = await aio_pika.connect(self._bus.url, timeout=5)
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=PREFETCH)
            # As the leaves declare it (notify.amqp): the same arguments, or the broker refuses.
            exchange = await channel.declare_exchange(
                self._bus.exchange, aio_pika.ExchangeType.TOPIC, durable=False)
            arguments: FieldTable | None = ({"x-single-active-consumer": True}
                                            if self._settings.single_active_consumer else None)
            shared = await channel.declare_queue(self._settings.queue, durable=True,
                                                 arguments=arguments)
            await shared.bind(exchange, self._bus.routing_key)
            self._hub.set_following(True)
            log.info("web hooks: following exchange %s at %s (queue %s)", self._bus.exchange,
                     self._bus.shown_url, self._settings.queue)
            await _first_to_end(self._consume(shared, self._record, closed),
                                self._show_while_listened(channel, exchange, closed))
        finally:
            await asyncio.shield(_close(connection))

    async def _show_while_listened(self, channel: AbstractChannel, exchange: AbstractExchange,
                                   closed: asyncio.Event) -> None:
        """While a page listens, every event on a queue of this process's own
        for the hub; none when nobody does (the queue goes with its consumer)."""
        while True:
            await self._hub.until_listened()
            own = await channel.declare_queue("", exclusive=True, auto_delete=True)
            await own.bind(exchange, self._bus.routing_key)
            self._hub.set_showing(True)
            showing = asyncio.ensure_future(self._consume(own, self._show, closed))
            alone = asyncio.ensure_future(self._hub.until_listened(False))
            try:
                done, _ = await asyncio.wait({showing, alone},
                                             return_when=asyncio.FIRST_COMPLETED)
                if showing in done:
                    showing.result()  # raises what ended it
            finally:
                self._hub.set_showing(False)
                for task in (showing, alone):
                    task.cancel()
                # Its consumer cancelled, the broker deletes the queue (auto_delete).
                await asyncio.gather(showing, alone, return_exceptions=True)

    async def _consume(self, queue: AbstractQueue,
                       handle: Callable[[list[AbstractIncomingMessage]], Awaitable[None]],
                       closed: asyncio.Event) -> None:
        """Hand `handle` the queue's messages in order, what has arrived at once."""
        inbox: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()

        async def take() -> None:
            try:
                async with queue.iterator() as messages:
                    async for message in messages:
                        inbox.put_nowait(message)
            finally:
                inbox.put_nowait(None)  # the consumer ended

        taker = asyncio.ensure_future(take())
        try:
            while True:
                batch = [await inbox.get()]
                while batch[-1] is not None and len(batch) < PREFETCH and not inbox.empty():
                    batch.append(inbox.get_nowait())
                messages = [m for m in batch if m is not None]
                if messages:
                    await handle(messages)
                if batch[-1] is None:
                    await taker  # raises what ended it, if anything did
                    raise aio_pika.exceptions.AMQPConnectionError(
                        "the connection closed" if closed.is_set()
                        else "the broker ended the consumer")
        finally:
            taker.cancel()
            with contextlib.suppress(BaseException):
                await taker

    async def _record(self, messages: list[AbstractIncomingMessage]) -> None:
        events, taken = [], []
        for message in messages:
            try:
                events.append(hook_event(message.body))
                taken.append(message)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("web hooks: a message on %s is not a notification (%s): dropped",
                            self._settings.queue, exc)
                await message.reject(requeue=False)
        if not events:
            return
        try:
            if await asyncio.to_thread(self._deliveries.record_all, events):
                self._recorded()
        except DatabaseUnavailable as exc:
            log.warning("web hooks: %d events not recorded: %s (handed back)", len(events), exc)
            await asyncio.sleep(DATABASE_PAUSE)
            for message in taken:
                await message.nack(requeue=True)
            return
        for message in taken:  # after the commit: a crash before it means a redelivery
            await message.ack()

    async def _show(self, messages: list[AbstractIncomingMessage]) -> None:
        for message in messages:
            await message.ack()
            try:
                self._hub.publish(shown(unwrap(message.body)))
            except (ValueError, KeyError, TypeError):
                continue


def hook_event(body: bytes) -> HookEvent:
    """The event in an AMQP body (oslo.messaging's envelope), as subscribers get it;
    ValueError, KeyError or TypeError for anything else."""
    inner = unwrap(body)
    message_id, event_type = str(inner["message_id"]), str(inner["event_type"])
    if not message_id or not event_type:
        raise ValueError("no message_id or event_type")
    payload = inner.get("payload") or {}
    data = payload.get("nova_object.data") or {} if isinstance(payload, dict) else {}
    sent = {"message_id": message_id, "event_type": event_type,
            "timestamp": inner.get("timestamp"), "publisher_id": inner.get("publisher_id"),
            "payload": payload}
    return HookEvent(message_id, event_type, str(data.get("tenant_id") or ""),
                     json.dumps(sent, separators=(",", ":"), sort_keys=True).encode())


def shown(inner: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard is told of an event: enough to show a line, no more."""
    payload = inner.get("payload") or {}
    data = payload.get("nova_object.data") or {} if isinstance(payload, dict) else {}
    keys = ("uuid", "display_name", "state", "tenant_id", "host", "cell_path")
    return {"type": "event", "event_type": str(inner["event_type"]),
            "message_id": str(inner.get("message_id", "")),
            "timestamp": inner.get("timestamp"),
            **{key: data.get(key) for key in keys if isinstance(data, dict)}}


async def _first_to_end(*consumers: Coroutine[Any, Any, None]) -> None:
    """Run the consumers until one ends; stop the others; raise what it raised."""
    tasks = [asyncio.ensure_future(consumer) for consumer in consumers]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


async def _close(connection: AbstractConnection) -> None:
    try:
        await connection.close()
    except Exception:  # a broken connection is closed already
        log.debug("closing the AMQP connection failed", exc_info=True)
