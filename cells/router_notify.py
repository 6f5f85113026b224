"""What a router tells the outside (notify/): a child found down (cell.down)
or back up (cell.up), as `routing.children` finds it (`Children.look`, every
report interval; a report from a child found down tells it is back at once).

The events go to the router's own outbox (the `notify_outbox` table of its
database), drained by its own sender: a router's liveness view is its own,
held by no leaf, and a leaf that is down cannot tell of itself. A child's
liveness is not stored, so the event is the only write: there is no change
to share its transaction with. Without an outbox (notifications off, the
default) nothing is built, and `routing.children` has no listener.

A router that runs as several replicas tells a change once per replica (each
has its own view of the reports it hears), each time with a message_id of
its own: deduping by message_id does not merge them.
"""

from __future__ import annotations

from collections.abc import Callable

from notify import events
from notify.outbox import Outbox
from routing.children import Child


class RouterNotices:
    """A `routing.children.LivenessListener` writing cell.down and cell.up."""

    def __init__(self, outbox: Outbox, path: Callable[[], str]) -> None:
        self._outbox = outbox
        self._path = path  # the router's, as it is now

    def liveness_changed(self, child: Child, up: bool) -> None:
        self._outbox.add(events.cell_event(events.CELL_UP if up else events.CELL_DOWN,
                                           child.path, self._path()))
