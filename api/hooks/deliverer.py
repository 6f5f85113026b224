"""The deliverer: POSTs leased deliveries to their subscribers, signed.

Each round claims the due head of every subscriber's queue (at most BATCH
subscribers), with up to RUN deliveries after it, and serves the subscribers
side by side, each one's run one POST after the other, in order. A 2xx answer
is delivered (a run's are recorded together when it ends, one transaction
instead of one per event); anything else (another status, a refused
connection, no answer within [hooks] timeout) is a failed try, retried after
an exponential wait and dead after the last try, and the rest of that run is
given back untried. A run also stops while its lease still covers a POST.
Redirects are not followed: a subscription's URL is the only place its
events go. A round runs when the
dispatcher of this process recorded something, and every POLL seconds
otherwise (retries fall due, other processes record).

The request:

    POST <url>
    Content-Type: application/json
    X-Cellrouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>   (api.hooks.signing)
    X-Cellrouter-Event: instance.pause.end
    X-Cellrouter-Delivery: <the delivery's id>

    {"event_type", "message_id", "payload", "publisher_id", "timestamp"}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp

from api.hooks.deliveries import DEAD, Claimed, DeliveryStore
from api.hooks.settings import HookSettings
from api.hooks.signing import HEADER, sign
from celldb.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

BATCH = 50  # subscribers served in one round
RUN = 100  # deliveries of one subscriber POSTed in order in one round
POLL = 0.5  # seconds between rounds when nothing woke the deliverer
PRUNE_EVERY = 3600.0  # seconds between deletions of old delivered and dead rows
USER_AGENT = "cellrouter-hooks/1"


class Deliverer:
    """Runs as one task of the API process (`run`), until cancelled."""

    def __init__(self, deliveries: DeliveryStore, settings: HookSettings) -> None:
        self._deliveries = deliveries
        self._settings = settings
        self._wake = asyncio.Event()
        self._pruned = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
        async with aiohttp.ClientSession(timeout=timeout, headers={
                "User-Agent": USER_AGENT}) as session:
            while True:
                self._wake.clear()
                try:
                    busy = await self._round(session)
                except DatabaseUnavailable as exc:
                    log.warning("web hooks: deliveries wait for the database: %s", exc)
                    busy = False
                except Exception:  # a bug here must not end the deliveries for good
                    log.exception("web hooks: a round of deliveries failed")
                    busy = False
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), POLL)

    async def _round(self, session: aiohttp.ClientSession) -> bool:
        """Deliver what is due; whether there was any."""
        if time.time() - self._pruned > PRUNE_EVERY:
            await asyncio.to_thread(self._deliveries.prune)
            self._pruned = time.time()
        lease = self._settings.timeout * 2 + 30.0
        claimed = await asyncio.to_thread(self._deliveries.claim, BATCH, lease, None, RUN)
        runs: dict[str, list[Claimed]] = {}
        for c in claimed:  # each subscriber's in id order, as claimed
            runs.setdefault(c.subscription_id, []).append(c)
        await asyncio.gather(*(self._deliver(session, run) for run in runs.values()))
        return bool(claimed)

    async def _deliver(self, session: aiohttp.ClientSession, run: list[Claimed]) -> None:
        """POST a subscriber's run in order; stop at the first failure, or when
        the lease could end during the next POST (the rest goes back)."""
        done: list[Claimed] = []
        failed: tuple[Claimed, str] | None = None
        for claimed in run:
            if time.time() + self._settings.timeout + 5.0 > claimed.lease_until:
                break
            error = await post(session, claimed)
            if error:
                failed = (claimed, error)
                break
            done.append(claimed)
        await asyncio.to_thread(self._deliveries.delivered_all, done)
        if failed is not None:
            claimed, error = failed
            state = await asyncio.to_thread(self._deliveries.failed, claimed, error)
            if state == DEAD:
                log.warning("web hooks: delivery %d to %s is dead after %d tries: %s",
                            claimed.id, claimed.url, claimed.attempts + 1, error)
        untried = run[len(done) + (failed is not None):]
        await asyncio.to_thread(self._deliveries.release, untried)


async def post(session: aiohttp.ClientSession, claimed: Claimed) -> str:
    """POST one delivery; "" when the receiver took it, else why not."""
    headers = {"Content-Type": "application/json",
               HEADER: sign(claimed.secret, int(time.time()), claimed.body),
               "X-Cellrouter-Event": claimed.event_type,
               "X-Cellrouter-Delivery": str(claimed.id)}
    try:
        async with session.post(claimed.url, data=claimed.body, headers=headers,
                                allow_redirects=False) as answer:
            if 200 <= answer.status < 300:
                return ""
            return f"HTTP {answer.status} {answer.reason or ''}".strip()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

