"""Lists as Neutron pages them: equality filters on any field, sorting by
fields then id, and keyset paging after (or, reversed, before) a marker.

Each store names its fields (the contract's names) and their columns; a filter
or sort key it does not name is InvalidInput, not silently ignored, so a
client that asks for what is not served hears so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, Select, and_, false, or_

from network.errors import invalid
from network.resources import ListQuery, SortDir

Columns = Mapping[str, ColumnElement[Any]]
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def filtered(query: Select[Any], columns: Columns, filters: Mapping[str, tuple[str, ...]]
             ) -> Select[Any]:
    """`query` keeping rows whose field equals one of the values asked, each field."""
    for name, values in filters.items():
        column = columns.get(name)
        if column is None:
            raise invalid(f"{name} is invalid attribute for filtering")
        typed = [value for value in (_typed(column, v) for v in values) if value is not None]
        query = query.where(column.in_(typed) if typed else false())
    return query


def paged(query: Select[Any], columns: Columns, sortable: frozenset[str], ask: ListQuery,
          marker: Mapping[str, Any] | None) -> Select[Any]:
    """`query` ordered by `ask.sort` then id, after `marker`'s row (its values
    by field name), at most `ask.limit` rows; reversed (the rows before the
    marker, nearest first) with page_reverse: the caller flips them back."""
    keys = [(name, direction) for name, direction in ask.sort if name != "id"]
    for name, _ in keys:
        if name not in sortable:
            raise invalid(f"{name} is invalid attribute for sort_keys")
    keys.append(("id", SortDir.ASC))
    if ask.page_reverse:
        keys = [(n, SortDir.DESC if d is SortDir.ASC else SortDir.ASC) for n, d in keys]
    if marker is not None:
        query = query.where(_after(columns, keys, marker))
    query = query.order_by(*(columns[n].asc() if d is SortDir.ASC else columns[n].desc()
                             for n, d in keys))
    return query.limit(ask.limit) if ask.limit is not None else query


def _after(columns: Columns, keys: list[tuple[str, SortDir]], marker: Mapping[str, Any]
           ) -> ColumnElement[bool]:
    """Rows past the marker in the order of `keys`: the first differing key decides."""
    either = []
    for i, (name, direction) in enumerate(keys):
        same = [columns[n] == marker[n] for n, _ in keys[:i]]
        column = columns[name]
        past = column > marker[name] if direction is SortDir.ASC else column < marker[name]
        either.append(and_(*same, past))
    return or_(*either)


def _typed(column: ColumnElement[Any], value: str) -> Any:
    """A filter's text as the column's type; None when it cannot be one (no row matches)."""
    if isinstance(column.type, Boolean):
        lowered = value.lower()
        if lowered not in _TRUE | _FALSE:
            raise invalid(f"'{value}' cannot be converted to boolean")
        return lowered in _TRUE
    if isinstance(column.type, Integer):
        try:
            return int(value)
        except ValueError:
            return None
    return value
