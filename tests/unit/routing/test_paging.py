"""Tests for routing.paging: sort keys, page tokens, page_of and merge_pages."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import uuid as uuidlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from model.cells import ListQuery
from model.compute import Instance, InstanceState, Resources
from model.errors import InvalidArgument
from routing.paging import (
    DEFAULT_PAGE,
    MAX_PAGE,
    batch_size,
    decode_token,
    encode_token,
    merge_pages,
    page_of,
    sort_key,
)

BASE = datetime(2024, 1, 1, tzinfo=UTC)
STATES = [InstanceState.ACTIVE, InstanceState.PAUSED, InstanceState.STOPPED]


def make(n: int, seed: int = 1) -> list[Instance]:
    """`n` instances; names and creation times in unrelated orders, with time ties."""
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    return [
        Instance(
            str(uuidlib.UUID(int=rng.getrandbits(128))),
            f"vm-{order[i]:04d}" if i % 5 else f"web-{order[i]:04d}",
            STATES[i % 3],
            Resources(1, 512, 1),
            project=f"p{i % 2}",
            created_at=BASE + timedelta(seconds=rng.randint(0, n // 4)),
        )
        for i in range(n)
    ]


def raw_token(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


# ----------------------------------------------------------- sort keys, tokens


def test_sort_key_by_name_and_by_created_at() -> None:
    a = Instance("u1", "alpha", InstanceState.ACTIVE, Resources(), created_at=BASE)
    b = Instance("u2", "alpha", InstanceState.ACTIVE, Resources(), created_at=None)
    assert sort_key("name")(a) == ("alpha", "u1")
    assert sort_key("name")(a) < sort_key("name")(b)  # the uuid breaks the tie
    assert sort_key("created_at")(a) == (BASE.timestamp(), "u1")
    assert sort_key("created_at")(b) == (0.0, "u2")  # no time sorts first


@pytest.mark.parametrize("sort", ["", "uuid", "Name", "state"])
def test_unknown_sort_is_invalid_argument(sort: str) -> None:
    with pytest.raises(InvalidArgument):
        sort_key(sort)
    with pytest.raises(InvalidArgument):
        page_of(make(3), ListQuery(sort=sort))


@pytest.mark.parametrize(
    ("sort", "key"), [("name", ("vm-1", "u-1")), ("created_at", (1704067200.125, "u-2"))]
)
def test_token_round_trip(sort: str, key: tuple[str | float, str]) -> None:
    token = encode_token(sort, key)
    assert "=" not in token and token.isascii()
    assert decode_token(token, sort) == key


def test_token_for_another_sort_is_invalid_argument() -> None:
    token = encode_token("name", ("vm-1", "u-1"))
    with pytest.raises(InvalidArgument, match="name"):
        decode_token(token, "created_at")
    with pytest.raises(InvalidArgument):
        page_of(make(5), ListQuery(sort="created_at", page_token=token))


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("", "name") is None


@pytest.mark.parametrize(
    "token",
    [
        "!!!", "####",
        base64.urlsafe_b64encode(b"not json at all").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        raw_token("name"), raw_token(5), raw_token(["name"]),
        raw_token(["name", ["a", "b"], 3]), raw_token(["name", ["a"]]),
        raw_token(["name", [None, "u"]]), raw_token(["name", ["a", 7]]),
        raw_token(["name", [["a"], "u"]]),
    ],
)
def test_garbage_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(token, "name")


@pytest.mark.parametrize("obj", [["name", "ab"], {"name": 1, "ab": 2}])
def test_wrongly_shaped_token_with_two_char_string_is_rejected(obj: object) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(raw_token(obj), "name")


@pytest.mark.parametrize(("sort", "key"), [("name", (1.5, "u")), ("created_at", ("x", "u"))])
def test_token_key_of_the_wrong_type_is_invalid_argument(
    sort: str, key: tuple[str | float, str]
) -> None:
    with pytest.raises(InvalidArgument):
        page_of(make(5), ListQuery(sort=sort, page_token=encode_token(sort, key)))


# ------------------------------------------------------------------ page_of


@pytest.mark.parametrize("sort", ["name", "created_at"])
def test_page_of_visits_every_instance_once_in_order(sort: str) -> None:
    everything = make(250)
    key = sort_key(sort)
    seen: list[Instance] = []
    token, pages = "", 0
    while True:
        page, token = page_of(everything, ListQuery(limit=37, page_token=token, sort=sort))
        pages += 1
        assert len(page) == (37 if token else 250 - 37 * 6)
        seen.extend(page)
        if not token:
            break
    assert pages == 7
    assert seen == sorted(everything, key=key)
    assert len({i.uuid for i in seen}) == 250


def test_page_of_applies_filters() -> None:
    everything = make(120)
    query = ListQuery(limit=1000, project="p1", state=InstanceState.ACTIVE, name_prefix="vm-")
    page, token = page_of(everything, query)
    expected = [i for i in everything
                if i.project == "p1" and i.state is InstanceState.ACTIVE
                and i.name.startswith("vm-")]
    assert token == "" and expected
    assert page == sorted(expected, key=sort_key("name"))
    assert page_of(everything, ListQuery(name_prefix="nothing-"))[0] == []


def test_page_sizes() -> None:
    everything = make(1500)
    with pytest.raises(InvalidArgument):
        page_of(everything, ListQuery(limit=-1))
    page, token = page_of(everything, ListQuery(limit=0))
    assert len(page) == DEFAULT_PAGE and token
    page, token = page_of(everything, ListQuery(limit=MAX_PAGE * 5))
    assert len(page) == MAX_PAGE and token
    page, token = page_of(everything[:10], ListQuery(limit=10))
    assert len(page) == 10 and token == ""  # exactly a page: no empty page after it


# -------------------------------------------------------------- merge_pages


async def child_stream(
    subset: Sequence[Instance], query: ListQuery
) -> AsyncIterator[Instance]:
    """A child's sorted stream, continuing after the query's token."""
    key = sort_key(query.sort)
    after = decode_token(query.page_token, query.sort)
    for instance in sorted(subset, key=key):
        if after is None or key(instance) > after:
            await asyncio.sleep(0)
            yield instance


def split(everything: list[Instance]) -> list[list[Instance]]:
    """Seven streams of uneven sizes (100, 1, 0, 57, 3, 90, 49), one empty."""
    cuts = [0, 100, 101, 101, 158, 161, 251, len(everything)]
    return [everything[a:b] for a, b in itertools.pairwise(cuts)]


@pytest.mark.parametrize("sort", ["name", "created_at"])
@pytest.mark.parametrize("limit", [1, 10, 300, 1000])
def test_merge_pages_covers_everything_once(sort: str, limit: int) -> None:
    everything = make(300, seed=7)
    parts = split(everything)
    assert len(parts) == 7 and [] in parts and sum(map(len, parts)) == 300

    async def all_pages() -> list[Instance]:
        seen: list[Instance] = []
        token = ""
        for _ in range(400):
            query = ListQuery(limit=limit, page_token=token, sort=sort)
            page, token = await merge_pages([child_stream(p, query) for p in parts], query)
            assert page and len(page) <= limit
            seen.extend(page)
            if not token:
                return seen
        raise AssertionError("paging did not end")

    seen = asyncio.run(all_pages())
    assert seen == sorted(everything, key=sort_key(sort))
    assert len({i.uuid for i in seen}) == 300


class Counting:
    """Wraps an async iterator and counts how many items were taken from it."""

    def __init__(self, inner: AsyncIterator[Instance]) -> None:
        self.inner = inner
        self.taken = 0

    def __aiter__(self) -> Counting:
        return self

    async def __anext__(self) -> Instance:
        item = await self.inner.__anext__()
        self.taken += 1
        return item


def test_merge_pages_reads_lazily() -> None:
    everything = make(300, seed=3)
    parts = [everything[n::10] for n in range(10)]
    query = ListQuery(limit=5)
    streams = [Counting(child_stream(p, query)) for p in parts]
    page, token = asyncio.run(merge_pages(streams, query))
    assert token and page == sorted(everything, key=sort_key("name"))[:5]
    for stream, part in zip(streams, parts, strict=True):
        contributed = sum(1 for i in page if i in part)
        assert stream.taken <= contributed + 1
    assert sum(s.taken for s in streams) <= 5 + 10


def test_merge_pages_of_nothing() -> None:
    page, token = asyncio.run(merge_pages([child_stream([], ListQuery())], ListQuery()))
    assert (page, token) == ([], "")


def test_batch_size_is_ten_percent_over_the_share() -> None:
    assert batch_size(1000, 10) == 110


def test_batch_size() -> None:
    assert batch_size(10, 0) >= 1
    assert batch_size(0, 5) == 1
    assert batch_size(1000, 5) == 220
    assert batch_size(1, 50) == 1
