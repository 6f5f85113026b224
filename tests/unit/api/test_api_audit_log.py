"""Tests for api.compute.audit_log: the period Nova gives, and a log where no
host ran the audit, through the app and in Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from api.compute.audit_log import audit_log, audit_period, parse_before
from api.errors import BadRequest
from tests.unit.api.apiapp import ApiClient, check
from tests.unit.api.tree_top import tree_api

SCHEMAS = "v2_1.instance_usage_audit_logs"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    with tree_api(tmp_path) as (client, _):
        yield client


@pytest.mark.parametrize(("before", "begin", "end"), [
    (datetime(2026, 12, 4, 10, 34), datetime(2026, 11, 1), datetime(2026, 12, 1)),
    (datetime(2026, 12, 1), datetime(2026, 10, 1), datetime(2026, 11, 1)),
    (datetime(2026, 12, 1, 0, 0, 1), datetime(2026, 11, 1), datetime(2026, 12, 1)),
    (datetime(2027, 1, 15), datetime(2026, 12, 1), datetime(2027, 1, 1)),
    (datetime(2027, 2, 1), datetime(2026, 12, 1), datetime(2027, 1, 1)),
], ids=["mid-month", "month-start", "just-after-start", "january", "february-start"])
def test_the_period_is_the_last_month_completed_before(before: datetime, begin: datetime,
                                                       end: datetime) -> None:
    assert audit_period(before) == (begin, end)


def test_no_host_has_run_the_audit() -> None:
    body = audit_log(["h2", "h1", "h1"], datetime(2026, 12, 4))
    assert body["period_beginning"] == "2026-11-01 00:00:00"
    assert body["period_ending"] == "2026-12-01 00:00:00"
    assert (body["num_hosts"], body["num_hosts_done"], body["num_hosts_not_run"]) == (2, 0, 2)
    assert body["hosts_not_run"] == ["h1", "h2"] and body["log"] == {}
    assert (body["total_instances"], body["total_errors"]) == (0, 0)
    assert body["overall_status"] == "0 of 2 hosts done. 0 errors."
    assert audit_log([], datetime(2026, 12, 4))["overall_status"] == "ALL hosts done. 0 errors."


@pytest.mark.parametrize("text", ["2026-12-04 10:34:01", "2026-12-04 10:34:01.123456"])
def test_a_timestamp_takes_novas_two_forms(text: str) -> None:
    assert parse_before(text).replace(microsecond=0) == datetime(2026, 12, 4, 10, 34, 1)


@pytest.mark.parametrize("text", ["invalid_time", "2026-12-04T10:34:01", "2026-13-01 00:00:00"])
def test_any_other_timestamp_is_400(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_before(text)


def test_the_list_names_every_host_of_the_tree(api: ApiClient) -> None:
    status, body = api.call("root", "GET", "/os-instance_usage_audit_log")
    check(SCHEMAS, "list_instance_usage_audit_log", status, body)
    log = body["instance_usage_audit_logs"]
    assert log["hosts_not_run"] == ["hv-1", "hv-2"]
    assert log["overall_status"] == "0 of 2 hosts done. 0 errors."


def test_show_reads_a_quoted_timestamp_as_tempest_sends_it(api: ApiClient) -> None:
    status, body = api.call("root", "GET", "/os-instance_usage_audit_log/2026-12-04%2010%3A34%3A01")
    check(SCHEMAS, "get_instance_usage_audit_log", status, body)
    log = body["instance_usage_audit_log"]
    assert (log["period_beginning"], log["num_hosts"]) == ("2026-11-01 00:00:00", 2)


@pytest.mark.parametrize(("user", "path", "expected"), [
    ("root", "/os-instance_usage_audit_log/invalid_time", 400),
    ("alice", "/os-instance_usage_audit_log", 403),
    ("alice", "/os-instance_usage_audit_log/2026-12-04%2010%3A34%3A01", 403),
    ("alice", "/os-instance_usage_audit_log/invalid_time", 403),
], ids=["invalid-time", "member-list", "member-show", "member-before-parse"])
def test_errors_are_novas(api: ApiClient, user: str, path: str, expected: int) -> None:
    status, body = api.call(user, "GET", path)
    assert status == expected, body
