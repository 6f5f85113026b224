"""What a leaf tells the outside of its service objects (notify/): each
binding change `agents.objects` makes is written to the leaf's outbox on the
connection of the change's transaction (`Outbox.add_on`), so the event
commits with the change or not at all.

    an object placed on an agent            service_object.bound
    moved to another (bind, unbind, failover) service_object.moved
    deleted                                 service_object.delete

An agent's report of an object's state (ACTIVE, ERROR) is no binding change
and tells nothing. Without an outbox (notifications off) the store is given
no notices, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Connection

from agents.objects import BindingChange
from model.agents import ServiceObject
from notify import events
from notify.outbox import Outbox

_EVENT_TYPES: Mapping[BindingChange, str] = {
    BindingChange.BOUND: events.OBJECT_BOUND,
    BindingChange.MOVED: events.OBJECT_MOVED,
    BindingChange.DELETED: events.OBJECT_DELETE,
}


class ObjectNotices:
    """An `agents.objects.BindingNotices` writing the leaf's object events."""

    def __init__(self, outbox: Outbox, path: Callable[[], str]) -> None:
        self._outbox = outbox
        self._path = path  # the leaf's, as it is now

    def binding_changed(self, conn: Connection, change: BindingChange, obj: ServiceObject,
                        previous_agent: str = "") -> None:
        self._outbox.add_on(conn, events.object_event(
            _EVENT_TYPES[change], obj, self._path(), previous_agent))
