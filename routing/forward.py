"""Sending a call about one instance to the child that holds it.

The call goes to the child the index names, with the caller's remaining
deadline and the next hop's metadata, and with retries (`routing.retry`). A
child that answers NOT_FOUND for a uuid the index sent it makes the row
stale: it is evicted and the uuid is located again, once. A pending row is
never stale (its boot is under way there).

With `LeafLinks` (direct to leaf, on a router usually at the top), a call
whose leaf address is known goes straight to that leaf, and falls back to hop
by hop when that fails. `routing.fastpath` takes the same decisions for calls
forwarded as bytes; what it cannot do simply, it leaves to this module.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from model.call import Call
from model.cells import SEPARATOR
from model.errors import DeadlineExceeded, NotFound, Unavailable, Unreachable
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
                 leaves: LeafLinks | None = None) -> None:
        """With `leaves`, calls that may go straight to the leaf do (direct to leaf)."""
        self._children = children
        self._locator = locator
        self._child_timeout = child_timeout
        self._leaves = leaves

    async def send(self, uuid: str, call: Call, send: Send[T], *, idempotent: bool,
                   direct: bool = False, loc: Location | None = None) -> T:
        """Send a call about `uuid` to the child that has it (at `loc`, when the
        caller has looked it up already), healing the index."""
        loc = loc or await self._locator.find(uuid, call)
        if direct and self._leaves is not None:
            answer = await self._leaves.send(loc.cell_path, call, send, idempotent=idempotent)
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



class LeafLinks:
    """Links straight to the leaves below, for direct-to-leaf routing: made on
    first use from the addresses the children report, and kept."""

    def __init__(self, children: Children, connect: Connect, child_timeout: float) -> None:
        self._children = children
        self._connect = connect
        self._child_timeout = child_timeout
        self._links: dict[str, ChildLink] = {}

    async def send(self, path: str, call: Call, send: Send[T], *,
                   idempotent: bool) -> tuple[T] | None:
        """The answer of the leaf at full `path`, sent straight to it; None to go
        hop by hop instead: no report named the leaf, the call never reached it,
        the leaf no longer has the instance, or it could not finish a call that
        is safe to repeat. A call that may have been done is never sent twice:
        its failure is raised."""
        link = self.link(path)
        if link is None:
            return None
        try:
            return (await send(link, call.remaining(self._child_timeout)),)
        except (Unreachable, NotFound) as exc:
            log.info("direct call to %s failed (%s); routing hop by hop", path, exc)
        except (Unavailable, DeadlineExceeded) as exc:
            if not idempotent:
                raise  # it may have been done: never twice
            log.info("direct call to %s failed (%s); routing hop by hop", path, exc)
        return None

    def link(self, path: str) -> ChildLink | None:
        """The link to the leaf at full `path`; None when no report named it."""
        leaf = self._children.leaf(path) if path else None
        if leaf is None:
            return None
        link = self._links.get(leaf.address)
        if link is None:
            name = path.rpartition(SEPARATOR)[2]
            link = self._links[leaf.address] = self._connect(
                leaf.address, name, f"cell {path} ({leaf.address})")
        return link

    async def close(self) -> None:
        for link in self._links.values():
            await link.close()
