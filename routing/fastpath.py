"""The fast path: a routed call forwarded as the very bytes the caller sent.

For an action or a Get whose uuid the index knows, a router needs
nothing from the request but the uuid: it forwards the caller's serialised
request to the child (or straight to the leaf, with direct to leaf) with the
remaining deadline and the next hop's metadata, and returns the child's
serialised answer unchanged, building no message and no dataclass, and
wrapping no retry around the happy path. (Locate also goes this way when the
edge sends it; a router's edge answers it from its own index instead.)

Everything that needs more takes the full path (`routing.forward`, with its
retries and healing), by `forward` answering None:

    the index does not know the uuid, or its boot is still pending
    the instance's child is unknown or down (the full path says so)
    the leaf cannot do the action (a refusal, or pause-as-suspend)
    a delete (the row leaves the index as soon as the leaf confirms it)
    the child answered NOT_FOUND (the row is stale: it is evicted first)
    the call never reached the child (the full path sends it again)
    the child could not finish the call (UNAVAILABLE, DEADLINE_EXCEEDED): the
        full path sends it again, an action with the same request id, which
        the leaf applies once (cells.outcomes)

Any other answer of the child, success or error, is the answer. Member tokens, whose
calls are scoped, are the gRPC edge's business: it sends only calls that
act for everyone or for an admin here.
"""

from __future__ import annotations

from model.call import Call
from model.compute import Action
from model.errors import DeadlineExceeded, NotFound, Unavailable
from routing.children import Children
from routing.forward import LeafLinks
from routing.index import LocationIndex


class FastPath:
    def __init__(self, children: Children, index: LocationIndex, child_timeout: float,
                 leaves: LeafLinks | None = None) -> None:
        """With `leaves`, calls go straight to the leaf when its address is known."""
        self._children = children
        self._index = index
        self._child_timeout = child_timeout
        self._leaves = leaves

    async def forward(self, method: str, action: Action | None, uuid: str, payload: bytes,
                      call: Call) -> bytes | None:
        """The child's serialised answer to `payload`, the request of the Cells
        method `method` about `uuid` (`action` for an action, None for a
        read); None when the call must take the full path. Raises the child's
        error when that is the answer."""
        loc = self._index.lookup(uuid)
        if loc is None or loc.pending or action is Action.DELETE:
            return None
        if action is not None and self._children.refusing(loc.cell_path, action) is not None:
            return None
        child = self._children.get(loc.child)
        if child is None or not self._children.is_up(child):
            return None
        metadata = call.downstream()
        if self._leaves is not None:
            direct = await self._leaves.send(
                loc.cell_path, call,
                lambda link, timeout: link.forward(method, payload, timeout, metadata),
                idempotent=True)
            if direct is not None:
                return direct[0]
        try:
            return await child.link().forward(
                method, payload, call.remaining(self._child_timeout), metadata)
        except NotFound:
            self._index.forget(uuid)  # stale: the full path locates it again
            return None
        except (Unavailable, DeadlineExceeded):
            # Never delivered, or its answer was lost: the full path sends it
            # again (an action under the same request id, applied once).
            return None
