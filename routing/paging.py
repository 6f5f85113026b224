"""Sorted, paged lists across cells.

Every list is in one total order: by (name, uuid) or by (created_at, uuid).
A page token is the sort order and the key of the last entry returned,
base64-encoded; a cell continues after that key. Keys are unique (the uuid
breaks ties), so consecutive pages have no gaps and no duplicates, however
the entries are spread over cells.

A router merges its children's sorted streams with a heap, fetching from each
child about limit/N entries at a time and more only from the children whose
entries are being used.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime

from model.cells import ListQuery
from model.compute import Instance
from model.errors import InvalidArgument

DEFAULT_PAGE = 100
MAX_PAGE = 1000
SORTS = ("name", "created_at")

Key = tuple[str | float, str]


def sort_key(sort: str) -> Callable[[Instance], Key]:
    if sort == "name":
        return lambda i: (i.name, i.uuid)
    if sort == "created_at":
        return lambda i: (_stamp(i.created_at), i.uuid)
    raise InvalidArgument(f"cannot sort by {sort[:40]!r}: use one of {', '.join(SORTS)}")


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when else 0.0


def page_size(query: ListQuery) -> int:
    if query.limit < 0:
        raise InvalidArgument(f"limit must not be negative, got {query.limit}")
    return min(query.limit or DEFAULT_PAGE, MAX_PAGE)


def batch_size(limit: int, streams: int) -> int:
    """How many entries to ask each of `streams` children for at a time."""
    # limit / streams * 1.1, rounded up, in whole numbers (no float error).
    return max(1, -(-limit * 11 // (10 * max(1, streams))))


def encode_token(sort: str, key: Key) -> str:
    raw = json.dumps([sort, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, sort: str) -> Key | None:
    """The key to continue after; None for the first page."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, RecursionError):  # deep nesting: "[[[[..."
        raise InvalidArgument("malformed page token") from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], list)
            and len(decoded[1]) == 2):
        raise InvalidArgument("malformed page token")
    made_for, (first, uuid) = decoded
    if made_for != sort:
        raise InvalidArgument(f"the page token was made for sort {made_for!r}, not {sort!r}")
    # The key must compare with the sort's keys: a name is text, a time a number.
    wanted: type | tuple[type, ...] = str if sort == "name" else (int, float)
    if not isinstance(uuid, str) or isinstance(first, bool) or not isinstance(first, wanted):
        raise InvalidArgument("malformed page token")
    return (first, uuid)  # type: ignore[return-value]  # checked just above


def ordered_after(instances: Iterable[Instance], query: ListQuery) -> list[Instance]:
    """The `instances` that match `query`, in its order, after its page token."""
    key = sort_key(query.sort)
    after = decode_token(query.page_token, query.sort)
    chosen = sorted((i for i in instances if query.matches(i)), key=key)
    if after is not None:
        chosen = [i for i in chosen if key(i) > after]
    return chosen


def page_of(instances: Iterable[Instance], query: ListQuery) -> tuple[list[Instance], str]:
    """One page of `instances` (any order) for `query`, and the next token."""
    key = sort_key(query.sort)
    limit = page_size(query)
    chosen = ordered_after(instances, query)
    page = chosen[:limit]
    token = encode_token(query.sort, key(page[-1])) if len(chosen) > limit else ""
    return page, token


async def merge_pages(
    streams: Sequence[AsyncIterator[Instance]], query: ListQuery
) -> tuple[list[Instance], str]:
    """Take the first page of the merged sorted `streams`, and the next token."""
    key = sort_key(query.sort)
    limit = page_size(query)
    # The first batch of every stream is fetched at once, concurrently: one
    # slow child must not eat the others' time.
    firsts = await asyncio.gather(*(anext(s, None) for s in streams))
    heap = [(key(first), n, first) for n, first in enumerate(firsts) if first is not None]
    heapq.heapify(heap)
    page: list[Instance] = []
    while heap and len(page) < limit:
        _, n, instance = heapq.heappop(heap)
        page.append(instance)
        following = await anext(streams[n], None)
        if following is not None:
            heapq.heappush(heap, (key(following), n, following))
    token = encode_token(query.sort, key(page[-1])) if heap else ""
    return page, token
