"""This process's view of the bus, for the dashboard's event streams.

The dispatcher hands every event it sees on its own (exclusive) queue to the
hub, which gives a copy to each listener; that queue exists only while some
page listens (`until_listened`), so a process nobody watches takes each
event off the bus once, not twice. A listener that falls behind loses
its oldest events, never holds up the others: the page refreshes from the
API anyway. `following` says whether the bus is being followed now; each
change is told to the listeners too, so a page knows when to poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

DEPTH = 256  # events a listener may be behind


class EventHub:
    def __init__(self) -> None:
        self.following = False  # the bus is followed (the dispatcher's shared queue)
        self._showing = asyncio.Event()  # the events reach the hub (its own queue is bound)
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._listened = asyncio.Event()  # set while there is a listener
        self._alone = asyncio.Event()  # set while there is none
        self._alone.set()

    async def until_listened(self, listened: bool = True) -> None:
        """Return once some listener is there (`listened`), or none is."""
        await (self._listened if listened else self._alone).wait()

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @property
    def live(self) -> bool:
        """Whether a listener gets the bus's events now."""
        return self.following and self._showing.is_set()

    def set_following(self, following: bool) -> None:
        if following != self.following:
            before, self.following = self.live, following
            self._told(before)

    def set_showing(self, showing: bool) -> None:
        """The dispatcher's queue for the hub is bound (or gone)."""
        before = self.live
        if showing:
            self._showing.set()
        else:
            self._showing.clear()
        self._told(before)

    async def until_live(self, within: float) -> bool:
        """Wait up to `within` seconds for the events to reach the hub (a
        first listener has the dispatcher bind its queue); whether they do."""
        if self.following:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._showing.wait(), within)
        return self.live

    def _told(self, before: bool) -> None:
        if self.live != before:
            self.publish({"type": "status", "following": self.live})

    def close(self) -> None:
        """Tell every listener to end (the process is stopping)."""
        self.publish({"type": "close"})

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(DEPTH)
        self._listeners.add(queue)
        self._listened.set()
        self._alone.clear()
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
            if not self._listeners:
                self._listened.clear()
                self._alone.set()
