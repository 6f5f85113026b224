"""Lists across the subtree: every child at once, merged in order, page by page.

Each child is asked for about `limit / N x 1.1` entries at a time, and more
only from the children whose entries are being used (`routing.paging` merges
the sorted streams). A child that is down, or does not answer within its
share of the time, is still listed: the instances the index knows for it
appear with state UNKNOWN, and its path goes to `unreachable_cells`. One
down cell never fails the whole list.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, MutableSequence, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from model.call import Call
from model.cells import InstancePage, ListQuery
from model.compute import Instance, InstanceState, Resources
from model.errors import CellError, DeadlineExceeded, InvalidArgument, Unavailable
from routing.children import Child, Children
from routing.index import LocationIndex
from routing.paging import batch_size, merge_pages, ordered_after, page_size, sort_key
from routing.validate import check_path

# Each level of a list gives its children this share of its own time, so that
# it can still answer its own caller (with UNKNOWN entries) before its deadline.
LIST_BUDGET_SHARE = 0.8


class Lister:
    def __init__(self, children: Children, index: LocationIndex, child_timeout: float,
                 list_timeout: float) -> None:
        self._children = children
        self._index = index
        self._child_timeout = child_timeout
        self._list_timeout = list_timeout

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        sort_key(query.sort)  # refuse an unknown sort before asking anyone
        if query.cell:
            check_path("cell", query.cell)
        limit = page_size(query)
        children = self._children.toward(query.cell) if query.cell else list(self._children)
        batch = batch_size(limit, len(children))
        budget = min(call.remaining(self._child_timeout), self._list_timeout)
        deadline = time.monotonic() + budget * LIST_BUDGET_SHARE
        unreachable: list[str] = []
        streams = [self._child_stream(c, query, batch, deadline, call, unreachable)
                   for c in children]
        page, token = await merge_pages(streams, query)
        return InstancePage(tuple(page), token, tuple(sorted(set(unreachable))))

    async def _child_stream(
        self, child: Child, query: ListQuery, batch: int, deadline: float, call: Call,
        unreachable: MutableSequence[str],
    ) -> AsyncIterator[Instance]:
        """One child's entries in order, fetched `batch` at a time.

        A child that is down or does not answer by `deadline` is replaced by
        the entries the index knows for it, with state UNKNOWN.
        """
        token = query.page_token
        while True:
            asked = replace(query, limit=batch, page_token=token)
            try:
                if not self._children.is_up(child):
                    raise Unavailable(f"cell {child.path} is down")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(f"cell {child.path} did not answer in time")
                page = await child.link().list(asked, timeout=left,
                                               metadata=call.downstream())
            except CellError as exc:
                if isinstance(exc, InvalidArgument):
                    raise
                unreachable.append(child.path)
                for stub in self._stubs(child, asked):
                    yield stub
                return
            unreachable.extend(page.unreachable_cells)
            for instance in page.instances:
                yield instance
            if not page.next_page_token:
                return
            token = page.next_page_token

    def _stubs(self, child: Child, query: ListQuery) -> Sequence[Instance]:
        """What the index knows of `child`'s instances, as UNKNOWN entries."""
        if query.state not in (None, InstanceState.UNKNOWN):
            return []
        known = (
            Instance(uuid=loc.uuid, name=loc.name, state=InstanceState.UNKNOWN,
                     flavor=Resources(), host=loc.host, cell_path=loc.cell_path or child.path,
                     project=loc.project, request_id=loc.request_id or "",
                     created_at=datetime.fromtimestamp(loc.created_at, UTC)
                     if loc.created_at else None)
            for loc in self._index.in_child(child.name)
        )
        return ordered_after(known, replace(query, state=None))
