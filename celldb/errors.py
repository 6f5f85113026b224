"""What a cell's database failing looks like to the rest of the code.

    model.errors.Unavailable       UNAVAILABLE (cells.edge.status)
    └── DatabaseUnavailable        the database failed: it cannot be reached or
                                   opened, a statement failed (a lost connection,
                                   a locked or unreadable file, a missing table),
                                   or its schema is newer than this release

SQLAlchemy's errors, and the DB-API driver's on a raw connection (the location
index's hot path), become DatabaseUnavailable here only: every store runs its
statements inside `translated` (or `celldb.store.transaction`, which uses it).
The original error is the new one's `__cause__`, so a store that expects a
particular refusal (routing.index: a duplicate key is a Conflict) can look.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from model.errors import Unavailable


class DatabaseUnavailable(Unavailable):
    """The cell's database failed; the message says which store and why."""

    def __str__(self) -> str:
        # The message alone: the status mapping adds where it happened.
        return self.message


@contextmanager
def translated(what: str, *also: type[BaseException]) -> Iterator[None]:
    """Turn SQLAlchemy's errors (and those of the classes `also`) raised inside
    into DatabaseUnavailable("WHAT unavailable: ERROR"). Usable as a decorator."""
    caught: tuple[type[BaseException], ...] = (SQLAlchemyError, *also)
    try:
        yield
    except DatabaseUnavailable:
        raise  # translated already, by a store this one called
    except caught as exc:
        raise DatabaseUnavailable(f"{what} unavailable: {exc}") from exc
