"""Tests for api.compute.servers: what a list's name filter sends down the tree."""

from __future__ import annotations

import pytest

from api.compute.servers import literal_prefix


@pytest.mark.parametrize(("pattern", "prefix"), [
    ("^web", "web"), ("web", ""), ("^web.1", "web"), ("^webx?", "web"), ("^web*", "we"),
    ("^ab{2}", "a"), ("^a|b", ""), ("^db-1$", "db-1"), ("", ""),
])
def test_a_name_filter_narrows_the_tree_only_by_what_every_match_starts_with(
        pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix
