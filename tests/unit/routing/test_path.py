"""Tests for routing.path: cell names and cell paths."""

from __future__ import annotations

import pytest

from model.cells import SEPARATOR
from routing.errors import BadPath, NotInSubtree
from routing.path import MAX_DEPTH, CellPath, check_name


@pytest.mark.parametrize(
    "name",
    ["a", "top", "eu-a", "eu_a", "z9", "9", "a" * 63, "a-b_c-1"],
    ids=["one-letter", "word", "dash", "underscore", "letter-digit", "one-digit",
         "63-chars", "mixed"],
)
def test_check_name_accepts_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "Top", "EU", "eu a", " eu", "eu ", "-eu", "eu-", "_eu", "eu_", "a" * 64,
     "eu!a", "eu.a", "eu/a", "ü"],
    ids=["empty", "capitalised", "uppercase", "inner-space", "leading-space",
         "trailing-space", "leading-dash", "trailing-dash", "leading-underscore",
         "trailing-underscore", "64-chars", "separator", "dot", "slash", "non-ascii"],
)
def test_check_name_rejects_bad_names(name: str) -> None:
    with pytest.raises(BadPath, match="bad cell name"):
        check_name(name)


def test_check_name_rejects_trailing_newline() -> None:
    with pytest.raises(BadPath):
        check_name("eu\n")


@pytest.mark.parametrize(
    ("text", "parts"),
    [("top", ("top",)), ("top!eu", ("top", "eu")), ("top!eu!eu-a", ("top", "eu", "eu-a"))],
    ids=["root", "region", "zone"],
)
def test_parse_round_trips(text: str, parts: tuple[str, ...]) -> None:
    path = CellPath.parse(text)
    assert path.parts == parts
    assert str(path) == text
    assert path.depth == len(parts)
    assert path.name == parts[-1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty cell path"),
        ("top!!eu", "bad cell name ''"),
        ("!top", "bad cell name ''"),
        ("top!", "bad cell name ''"),
        ("Top!eu", "bad cell name 'Top'"),
        ("top!EU", "bad cell name 'EU'"),
        ("top!eu a", "bad cell name 'eu a'"),
        ("top eu", "bad cell name 'top eu'"),
        ("top.eu", "bad cell name"),
    ],
    ids=["empty", "doubled-separator", "leading-separator", "trailing-separator",
         "uppercase-root", "uppercase-child", "space-in-child", "space-in-root",
         "dot-separator"],
)
def test_parse_rejects_bad_paths(text: str, message: str) -> None:
    with pytest.raises(BadPath, match=message):
        CellPath.parse(text)


def test_parse_accepts_max_depth() -> None:
    text = SEPARATOR.join(f"c{i}" for i in range(MAX_DEPTH))
    assert CellPath.parse(text).depth == MAX_DEPTH


def test_parse_rejects_deeper_than_max_depth() -> None:
    text = SEPARATOR.join(f"c{i}" for i in range(MAX_DEPTH + 1))
    with pytest.raises(BadPath, match=f"deeper than {MAX_DEPTH}"):
        CellPath.parse(text)


def test_root_checks_its_name() -> None:
    assert CellPath.root("top") == CellPath.parse("top")
    with pytest.raises(BadPath):
        CellPath.root("Top")


def test_child_appends_a_checked_name() -> None:
    path = CellPath.parse("top!eu")
    child = path.child("eu-a")
    assert child == CellPath.parse("top!eu!eu-a")
    assert path.parts == ("top", "eu")  # the parent is unchanged
    with pytest.raises(BadPath):
        path.child("Eu A")


def test_child_refuses_to_exceed_max_depth() -> None:
    deepest = CellPath(tuple(f"c{i}" for i in range(MAX_DEPTH)))
    with pytest.raises(BadPath):
        deepest.child("one-more")


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("top", "top", True),
        ("top", "top!eu", True),
        ("top", "top!eu!eu-a", True),
        ("top!eu", "top!eu!eu-a", True),
        ("top!eu", "top", False),
        ("top!eu", "top!us", False),
        ("top!eu", "top!eu2", False),
        ("top!eu", "top!eu2!x", False),
        ("top", "other!top", False),
    ],
    ids=["self", "child", "grandchild", "mid-level", "parent", "sibling",
         "string-prefix-sibling", "string-prefix-cousin", "other-root"],
)
def test_contains(outer: str, inner: str, expected: bool) -> None:
    assert CellPath.parse(outer).contains(CellPath.parse(inner)) is expected


@pytest.mark.parametrize(
    ("here", "target", "hop"),
    [
        ("top", "top!eu", "eu"),
        ("top", "top!eu!eu-a", "eu"),
        ("top!eu", "top!eu!eu-a", "eu-a"),
        ("top!eu", "top!eu!eu-a!rack-1", "eu-a"),
    ],
    ids=["child", "grandchild-via-child", "from-region", "deep"],
)
def test_next_hop(here: str, target: str, hop: str) -> None:
    assert CellPath.parse(here).next_hop(CellPath.parse(target)) == hop


@pytest.mark.parametrize("here", ["top", "top!eu!eu-a"], ids=["root", "leaf"])
def test_next_hop_is_none_for_the_cell_itself(here: str) -> None:
    assert CellPath.parse(here).next_hop(CellPath.parse(here)) is None


@pytest.mark.parametrize(
    ("here", "target"),
    [("top!eu", "top"), ("top!eu", "top!us!us-a"), ("top", "other"),
     ("top!eu", "top!eu2")],
    ids=["parent", "sibling-subtree", "other-root", "string-prefix-sibling"],
)
def test_next_hop_outside_subtree(here: str, target: str) -> None:
    with pytest.raises(NotInSubtree, match=f"{target} is not inside {here}"):
        CellPath.parse(here).next_hop(CellPath.parse(target))


def test_paths_are_hashable_and_ordered() -> None:
    paths = [CellPath.parse(t) for t in ("top!us", "top!eu", "top")]
    assert sorted(paths) == [CellPath.parse(t) for t in ("top", "top!eu", "top!us")]
    assert len({CellPath.parse("top!eu"), CellPath.parse("top!eu")}) == 1
