"""The instance usage audit log (admins only), as Nova's os-instance_usage_audit_log.

    GET /v2.1/os-instance_usage_audit_log                    the last audit period
    GET /v2.1/os-instance_usage_audit_log/{before_timestamp} the last period completed
                                                             before it ("2026-12-04
                                                             10:34:01[.ffffff]", UTC)

In Nova each compute service, with instance_usage_audit on, runs a periodic
task that sends an exists notification for every instance of the period just
ended and records one task log row per host; this resource sums those rows.
The tree runs no such task: no cell audits its instances' usage, so no host
has a row. What this answers is what Nova answers when no audit ran: the
period Nova's default `instance_usage_audit_period` (month) gives, every host
of the tree in `hosts_not_run`, no host done or running, no instances, no
errors, an empty log, and "0 of N hosts done. 0 errors.". Usage itself is in
os-simple-tenant-usage (api.compute.usage), from the instances.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.compute.fleet import admin_only, hosts, topology
from api.errors import BadRequest

_RULE = "os_compute_api:os-instance-usage-audit-log:{}"


def audit_period(before: datetime) -> tuple[datetime, datetime]:
    """The month most recently completed before `before` (naive UTC), as Nova's
    `last_completed_audit_period` gives it for the unit "month"."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if end >= before:  # at the very start of a month: that month has not ended
        end = _month_before(end)
    return _month_before(end), end


def _month_before(first: datetime) -> datetime:
    if first.month == 1:
        return first.replace(year=first.year - 1, month=12)
    return first.replace(month=first.month - 1)


def parse_before(text: str) -> datetime:
    """The path's timestamp, in either of Nova's forms; 400 for anything else."""
    form = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(text, form)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text[:64]}") from None


def audit_log(host_names: list[str], before: datetime) -> dict[str, Any]:
    """The log of the period completed before `before`, for a tree of
    `host_names` where no host ran the audit."""
    begin, end = audit_period(before)
    names = sorted(set(host_names))
    done, errors = 0, 0
    status = "ALL" if done == len(names) else f"{done} of {len(names)}"
    return {"period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(names), "num_hosts_done": done, "num_hosts_running": 0,
            "num_hosts_not_run": len(names), "hosts_not_run": names,
            "total_instances": 0, "total_errors": errors,
            "overall_status": f"{status} hosts done. {errors} errors.", "log": {}}


async def index(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("list"))
    now = datetime.now(UTC).replace(tzinfo=None)
    return web.json_response({"instance_usage_audit_logs": await _log(request, now)})


async def show(request: web.Request) -> web.Response:
    admin_only(request, _RULE.format("show"))
    before = parse_before(request.match_info["before"])
    return web.json_response({"instance_usage_audit_log": await _log(request, before)})


async def _log(request: web.Request, before: datetime) -> dict[str, Any]:
    return audit_log([h.name for h in hosts(await topology(request))], before)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-instance_usage_audit_log", index)
    app.router.add_get("/v2.1/os-instance_usage_audit_log/{before}", show)
