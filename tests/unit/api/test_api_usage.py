"""Tests for api.compute.usage: hours within a window, in Tempest's schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import tenant_usages as schema

from api.compute.usage import counted, server_usage, tenant_usages, window
from api.errors import BadRequest
from model.compute import Instance, InstanceState, Resources
from tests.unit.api.tree_shapes import validate

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
START, STOP = NOW - timedelta(days=1), NOW + timedelta(days=1)


def instance(project: str, hours_ago: float, state: InstanceState = InstanceState.ACTIVE,
             ended_hours_ago: float | None = None) -> Instance:
    ended = NOW - timedelta(hours=ended_hours_ago) if ended_hours_ago is not None else None
    return Instance(str(uuid.uuid4()), "web", state, Resources(2, 1024, 10), project=project,
                    created_at=NOW - timedelta(hours=hours_ago), updated_at=ended)


def usages(*instances: Instance) -> list[dict[str, object]]:
    return [server_usage(i, "small", START, STOP, NOW) for i in instances
            if counted(i, START, STOP)]


def test_a_running_server_counts_from_its_start_to_the_windows_end() -> None:
    (usage,) = usages(instance("shop", 2))
    assert usage["hours"] == pytest.approx(26.0)
    assert (usage["state"], usage["ended_at"], usage["uptime"]) == ("active", None, 7200)


def test_a_deleted_server_counts_until_it_ended_and_one_before_the_window_not_at_all() -> None:
    (usage,) = usages(instance("shop", 30, InstanceState.DELETED, ended_hours_ago=3),
                      instance("shop", 80, InstanceState.DELETED, ended_hours_ago=50))
    assert usage["hours"] == pytest.approx(21.0) and usage["state"] == "terminated"


def test_index_and_show_bodies_match_tempests_schema() -> None:
    found = usages(instance("shop", 2), instance("shop", 1), instance("lab", 5))
    listed = tenant_usages(found, START, STOP, detailed=True)
    validate(schema.list_tenant_usage, {"tenant_usages": list(listed.values())})
    validate(schema.get_tenant_usage, {"tenant_usage": listed["shop"]})
    assert len(listed["shop"]) == 8  # as Tempest counts them, detailed
    assert listed["shop"]["total_vcpus_usage"] == pytest.approx(2 * (26 + 25))
    assert len(tenant_usages(found, START, STOP, detailed=False)["lab"]) == 7


@pytest.mark.parametrize("params", [
    {"start": "2026-12-03T00:00:00", "end": "2026-12-01T00:00:00"},
    {"start": "yesterday"},
], ids=["start after end", "not a time"])
def test_a_bad_window_is_400(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        window(params, NOW)


def test_the_window_takes_nova_forms_and_defaults_to_now() -> None:
    start, stop = window({"start": "2026-12-01T10:00:00.123456"}, NOW)
    assert start == datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC) and stop == NOW
