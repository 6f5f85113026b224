"""Sending a call about one instance to the child that holds it.

The call goes to the child the index names, with the caller's remaining
deadline and the next hop's metadata, and with retries (`routing.retry`). A
child that answers NOT_FOUND for a uuid the index sent it makes the row
stale: it is evicted and the uuid is located again, once. A pending row is
never stale (its boot is under way there).

With `direct` (a router usually at the top), a call whose leaf address is
known goes straight to that leaf, and falls back to hop by hop when that
fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from model.cells import SEPARATOR
from model.errors import NotFound, Unavailable
from routing.call import Call
from routing.children import Child, Children
from routing.index import Location
from routing.link import ChildLink, Connect
from routing.locate import Locator
from routing.retry import with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")

# What to send, once the link and the time left for it are known.
Send = Callable[[ChildLink, float], Awaitable[T]]


class Forwarder:
    def __init__(self, children: Children, locator: Locator, child_timeout: float,
                 connect: Connect | None = None, direct: bool = False) -> None:
        self._children = children
        self._locator = locator
        self._child_timeout = child_timeout
        self._connect = connect
        self._direct = direct and connect is not None
        self._leaf_links: dict[str, ChildLink] = {}

    async def send(self, uuid: str, call: Call, send: Send[T], *, idempotent: bool,
                   direct: bool = False, loc: Location | None = None) -> T:
        """Send a call about `uuid` to the child that has it (at `loc`, when the
        caller has looked it up already), healing the index."""
        loc = loc or await self._locator.find(uuid, call)
        if direct and self._direct:
            answer = await self._try_direct(loc, call, send)
            if answer is not None:
                return answer[0]

        async def attempt(child: Child) -> T:
            return await with_retries(
                lambda: send(child.link(), call.remaining(self._child_timeout)),
                call, idempotent=idempotent,
            )

        try:
            return await attempt(self._children.require_up(loc.child))
        except NotFound:
            if loc.pending:
                raise  # a boot is under way there: the row is not stale
            # Stale: the child no longer has it. Evict, look once more.
            self._locator.evict(uuid)
            moved = await self._locator.relocate(uuid, call)
            return await attempt(self._children.require_up(moved.child))

    async def _try_direct(self, loc: Location, call: Call, send: Send[T]) -> tuple[T] | None:
        """Send straight to the leaf when its address is known; None to go hop by hop."""
        leaf = self._children.leaf(loc.cell_path) if loc.cell_path else None
        if leaf is None or self._connect is None:
            return None
        link = self._leaf_links.get(leaf.address)
        if link is None:
            name = loc.cell_path.rpartition(SEPARATOR)[2]
            link = self._leaf_links[leaf.address] = self._connect(
                leaf.address, name, f"cell {loc.cell_path} ({leaf.address})")
        try:
            return (await send(link, call.remaining(self._child_timeout)),)
        except (Unavailable, NotFound) as exc:
            log.info("direct call to %s failed (%s); routing hop by hop", loc.cell_path, exc)
            return None

    async def close(self) -> None:
        for link in self._leaf_links.values():
            await link.close()
