"""Tests for api.compute.migrations: an empty list in Tempest's schema of each
microversion range, the query checked as Nova checks it, and who may ask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.compute.migrations import allowed_query
from api.microversion import Version
from tests.unit.api.apiapp import ApiClient, check
from tests.unit.api.tree_top import tree_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    with tree_api(tmp_path) as (client, _):
        yield client


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.1", "v2_1.migrations"), ("2.23", "v2_23.migrations"), ("2.59", "v2_59.migrations"),
    ("2.80", "v2_80.migrations"), ("2.100", "v2_80.migrations")], ids=str)
def test_the_tree_has_no_migrations(api: ApiClient, version: str, schemas: str) -> None:
    status, body = api.call("root", "GET", "/os-migrations", version=version)
    check(schemas, "list_migrations", status, body)
    assert body == {"migrations": []}


def test_the_filters_grow_with_the_microversion() -> None:
    assert "limit" not in allowed_query(Version(2, 58))
    assert {"limit", "marker", "changes-since"} <= allowed_query(Version(2, 59))
    assert "changes-before" in allowed_query(Version(2, 66))
    assert "changes-before" not in allowed_query(Version(2, 65))
    assert {"user_id", "project_id"} <= allowed_query(Version(2, 80))


@pytest.mark.parametrize(("version", "query", "expected"), [
    ("2.1", "?anything=1&limit=x&marker=m", 200),
    ("2.59", "?status=done&host=h1&limit=10&changes-since=2026-12-01T00:00:00Z", 200),
    ("2.59", "?anything=1", 400),
    ("2.59", "?limit=-1", 400),
    ("2.59", "?marker=6f3b1c4e-0000-4000-8000-000000000001", 400),
    ("2.59", "?changes-since=yesterday", 400),
    ("2.65", "?changes-before=2026-12-01T00:00:00Z", 400),
    ("2.66", "?changes-since=2026-12-02T00:00:00Z&changes-before=2026-12-01T00:00:00", 400),
    ("2.66", "?changes-since=2026-12-01T00:00:00&changes-before=2026-12-02T00:00:00Z", 200),
    ("2.79", "?project_id=ops", 400),
    ("2.80", "?project_id=ops&user_id=u-root", 200),
], ids=["old-anything-goes", "filters", "unknown", "negative-limit", "marker-of-none",
        "bad-time", "before-too-early", "before-before-since", "window", "project-too-early",
        "by-project"])
def test_the_query_is_checked_as_novas(api: ApiClient, version: str, query: str,
                                       expected: int) -> None:
    status, body = api.call("root", "GET", f"/os-migrations{query}", version=version)
    assert status == expected, body


def test_members_may_not_list_migrations(api: ApiClient) -> None:
    assert api.call("alice", "GET", "/os-migrations")[0] == 403
    assert api.call("alice", "GET", "/os-migrations?project_id=shop", version="2.80")[0] == 403
