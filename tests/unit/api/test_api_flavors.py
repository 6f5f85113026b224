"""Flavor lists: Nova's filters (minRam, minDisk, is_public), order and paging,
bodies checked against Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api.apiapp import ApiClient, FakeTop, api_client, check

# Besides the configured small (1 vCPU, 512 MiB, 1 GiB) and large (4, 8192, 40).
MADE = [{"name": "pub", "id": "100", "ram": 1024, "vcpus": 2, "disk": 10},
        {"name": "priv", "id": "200", "ram": 2048, "vcpus": 2, "disk": 20,
         "os-flavor-access:is_public": False}]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ApiClient]:
    made: tuple[ApiClient, FakeTop]
    with api_client(tmp_path) as made:
        for flavor in MADE:
            assert made[0].call("root", "POST", "/flavors", {"flavor": flavor})[0] == 200
        yield made[0]


def _ids(client: ApiClient, user: str, query: str, detail: bool = False) -> list[str]:
    path = f"/flavors{'/detail' if detail else ''}?{query}"
    status, body = client.call(user, "GET", path)
    check("v2_1.flavors", "list_flavors_details" if detail else "list_flavors", status, body)
    return [flavor["id"] for flavor in body["flavors"]]


@pytest.mark.parametrize(("user", "query", "ids"), [
    ("alice", "", ["100", "large", "small"]),
    ("alice", "is_public=false", ["100", "large", "small"]),
    ("root", "", ["100", "large", "small"]),
    ("root", "is_public=no", ["200"]),
    ("root", "is_public=None", ["100", "200", "large", "small"]),
    ("root", "is_public=t", ["100", "large", "small"]),
    ("alice", "minRam=1024", ["100", "large"]),
    ("alice", "minDisk=11", ["large"]),
    ("alice", "minRam=1024&minDisk=1", ["100", "large"]),
    ("alice", "sort_key=memory_mb&sort_dir=desc", ["large", "100", "small"]),
    ("alice", "sort_key=name", ["large", "100", "small"]),
    ("alice", "limit=2", ["100", "large"]),
    ("alice", "limit=0", []),
    ("alice", "marker=100", ["large", "small"]),
    ("alice", "marker=large&limit=5", ["small"]),
    ("alice", "marker=100&minRam=4096", ["large"]),
], ids=lambda value: value if isinstance(value, str) else None)
def test_lists_filter_sort_and_page_as_nova(client: ApiClient, user: str, query: str,
                                           ids: list[str]) -> None:
    assert _ids(client, user, query) == ids
    assert _ids(client, user, query, detail=True) == ids


@pytest.mark.parametrize("query", [
    "minRam=x", "minDisk=1.5", "limit=-1", "limit=a", "marker=nope", "marker=200",
    "is_public=maybe", "sort_key=colour", "sort_dir=up",
])
def test_bad_list_parameters_are_400(client: ApiClient, query: str) -> None:
    user = "root" if "is_public" in query else "alice"
    status, body = client.call(user, "GET", f"/flavors?{query}")
    assert status == 400, body


def test_a_full_page_links_to_the_next(client: ApiClient) -> None:
    status, body = client.call("alice", "GET", "/flavors/detail?limit=2&minRam=1")
    check("v2_1.flavors", "list_flavors_details", status, body)
    assert body["flavors_links"] == [{"rel": "next", "href": body["flavors_links"][0]["href"]}]
    assert body["flavors_links"][0]["href"].endswith(
        "/v2.1/flavors/detail?limit=2&minRam=1&marker=large")
    assert "flavors_links" not in client.call("alice", "GET", "/flavors?limit=5")[1]
