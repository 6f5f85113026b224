"""Tests for api.compute.host_uptime and the uptime of os-hypervisors: how long
the API has seen a host up, as `uptime` writes it, in Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.compute.fleet import TreeHost, hosts
from api.compute.host_uptime import HostSightings, uptime_line
from tests.unit.api.apiapp import ApiClient, check
from tests.unit.api.tree_shapes import host, leaf, router
from tests.unit.api.tree_top import TreeTopClient, tree_api

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(("up", "line"), [
    (timedelta(0), " 10:00:00 up 0 min"),
    (timedelta(minutes=59, seconds=59), " 10:00:00 up 59 min"),
    (timedelta(hours=1, minutes=5), " 10:00:00 up  1:05"),
    (timedelta(hours=13, minutes=7), " 10:00:00 up 13:07"),
    (timedelta(days=1, minutes=4), " 10:00:00 up 1 day, 4 min"),
    (timedelta(days=2, hours=3, minutes=4), " 10:00:00 up 2 days,  3:04"),
], ids=["nothing", "minutes", "hours", "two-digit-hours", "a-day", "days"])
def test_the_line_is_uptimes_up_to_its_users(up: timedelta, line: str) -> None:
    assert uptime_line(T0, up) == line


def _hosts(*alive: bool) -> list[TreeHost]:
    return hosts(router("top", leaf("top!a", *(host(f"h{n}", alive=a)
                                               for n, a in enumerate(alive)))))


def test_a_host_is_up_since_first_seen_up_and_again_after_seen_down() -> None:
    clock = Clock()
    sightings = HostSightings(clock)
    sightings.look(_hosts(True, True))
    clock.now += timedelta(hours=2)
    sightings.look(_hosts(True, False))
    first, second = _hosts(True, False)
    assert sightings.uptime(first) == " 12:00:00 up  2:00"
    assert sightings.uptime(second) is None
    sightings.look(_hosts(True, True))
    clock.now += timedelta(minutes=5)
    assert sightings.uptime(_hosts(True, True)[1]) == " 12:05:00 up 5 min"


def test_a_host_left_out_of_an_answer_starts_again() -> None:
    clock = Clock()
    sightings = HostSightings(clock)
    sightings.look(_hosts(True, True))
    clock.now += timedelta(hours=1)
    sightings.look(_hosts(True))  # h1's leaf answered without it
    sightings.look(_hosts(True, True))
    assert [sightings.uptime(h) for h in _hosts(True, True)] == [
        " 11:00:00 up  1:00", " 11:00:00 up 0 min"]


def test_a_host_never_looked_at_has_no_uptime() -> None:
    assert HostSightings().uptime(_hosts(True)[0]) is None


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiClient, TreeTopClient]]:
    with tree_api(tmp_path) as (client, top):
        yield client, top


def _ids(client: ApiClient, version: str) -> dict[str, Any]:
    found = client.call("root", "GET", "/os-hypervisors", version=version)[1]["hypervisors"]
    return {h["hypervisor_hostname"]: h["id"] for h in found}


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.1", "v2_1.hypervisors"), ("2.28", "v2_28.hypervisors"), ("2.53", "v2_53.hypervisors"),
    ("2.87", "v2_53.hypervisors")], ids=str)
def test_uptime_answers_in_tempests_schema(api: tuple[ApiClient, TreeTopClient], version: str,
                                           schemas: str) -> None:
    client, _ = api
    ident = _ids(client, version)["hv-1"]
    status, body = client.call("root", "GET", f"/os-hypervisors/{ident}/uptime", version=version)
    check(schemas, "get_hypervisor_uptime", status, body)
    assert " up " in body["hypervisor"]["uptime"]


def test_a_host_down_has_no_uptime(api: tuple[ApiClient, TreeTopClient]) -> None:
    client, _ = api
    ident = _ids(client, "2.1")["hv-2"]
    assert client.call("root", "GET", f"/os-hypervisors/{ident}/uptime")[0] == 400
    assert client.call("alice", "GET", f"/os-hypervisors/{ident}/uptime")[0] == 403


def test_from_2_88_uptime_is_in_show_and_detail(api: tuple[ApiClient, TreeTopClient]) -> None:
    client, _ = api
    ids = _ids(client, "2.88")
    assert client.call("root", "GET", f"/os-hypervisors/{ids['hv-1']}/uptime",
                       version="2.88")[0] == 404
    shown = client.call("root", "GET", f"/os-hypervisors/{ids['hv-1']}", version="2.88")[1]
    assert shown["hypervisor"]["uptime"].startswith(" ")
    listed = client.call("root", "GET", "/os-hypervisors/detail", version="2.88")[1]
    assert {h["hypervisor_hostname"]: h["uptime"] is None
            for h in listed["hypervisors"]} == {"hv-1": False, "hv-2": True}
