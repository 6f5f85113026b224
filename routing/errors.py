"""Errors raised while routing a request through the tree.

    RoutingError
    ├── BadPath             a cell path or name that is not well formed
    ├── NotInSubtree        a target cell outside this cell's subtree
    ├── UnknownChild        a target naming a child this cell does not have
    ├── UnknownInstance     no cell below knows the instance
    ├── HopLimitExceeded    the request crossed too many cells (a loop)
    └── Conflict            a row another request is writing at the same time

A failure of the cell's database (the location index's, the children's, the
object locations') is celldb's DatabaseUnavailable (UNAVAILABLE), translated
in celldb; `IndexUnavailable` is the name routing gave it before celldb owned
the database, kept for code that catches it.
"""

from __future__ import annotations

from celldb.errors import DatabaseUnavailable


class RoutingError(Exception):
    """Base of every routing error."""


class BadPath(RoutingError):
    pass


class NotInSubtree(RoutingError):
    pass


class UnknownChild(RoutingError):
    pass


class UnknownInstance(RoutingError):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"instance {uuid} not found")
        self.uuid = uuid


class HopLimitExceeded(RoutingError):
    pass


class Conflict(RoutingError):
    pass


IndexUnavailable = DatabaseUnavailable
