"""This process's view of the bus, for the dashboard's event streams.

The dispatcher hands every event it sees on its own (exclusive) queue to the
hub, which gives a copy to each listener. A listener that falls behind loses
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
        self.following = False
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def set_following(self, following: bool) -> None:
        if following != self.following:
            self.following = following
            self.publish({"type": "status", "following": following})

    def close(self) -> None:
        """Tell every listener to end (the process is stopping)."""
        self.publish({"type": "close"})

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(DEPTH)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
