"""Migrations, as Nova's os-migrations lists them.

    GET /v2.1/os-migrations   filters hidden, host, instance_uuid, source_compute,
                              status, migration_type; 2.59+: limit, marker,
                              changes-since; 2.66+: changes-before; 2.80+:
                              user_id, project_id

    since  what changes
    2.23   an entry has migration_type (and links while a live migration runs)
    2.59   an entry has uuid; the list pages (migrations_links); an unknown
           query parameter is 400
    2.80   an entry has user_id and project_id

The tree moves no instance between hosts: no cell resizes, migrates or
evacuates, so there is no migration to list, and every list is empty. Its
query is still checked as Nova checks it (a marker names no migration: 400).
Who may ask is Nova's rule: admins, and a project's managers for their own
project (`project_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime

from aiohttp import web

from api.errors import BadRequest, Forbidden
from api.microversion import Version
from api.state import version, who

PAGES = Version(2, 59)
CHANGES_BEFORE = Version(2, 66)
BY_USER_AND_PROJECT = Version(2, 80)
_RULE = "os_compute_api:os-migrations:{}"
_FILTERS = frozenset({"hidden", "host", "instance_uuid", "source_compute", "status",
                      "migration_type"})
_SINCE = {PAGES: frozenset({"limit", "marker", "changes-since"}),
          CHANGES_BEFORE: frozenset({"changes-before"}),
          BY_USER_AND_PROJECT: frozenset({"user_id", "project_id"})}


def allowed_query(at: Version) -> frozenset[str]:
    """The query parameters Nova's schema takes at `at` (2.59 on: nothing else)."""
    return _FILTERS.union(*(names for since, names in _SINCE.items() if at >= since))


def check_query(params: Mapping[str, str], at: Version) -> None:
    """400, as Nova's schema and paging, for a query it refuses at `at`."""
    if at < PAGES:
        return  # before 2.59 anything goes; paging and changes-since are ignored
    check_paging(params, allowed_query(at))
    marker = params.get("marker")
    if marker is not None:
        raise BadRequest(f"Marker {marker[:64]} could not be found.")


def check_paging(params: Mapping[str, str], allowed: AbstractSet[str]) -> None:
    """400, as Nova's schemas for a paged list's query (migrations, instance
    actions): a parameter not `allowed`, a limit that is no number, a
    changes-before earlier than changes-since."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(unknown)[:128]}"
                         " were unexpected)")
    limit = params.get("limit")
    if limit is not None and not limit.isdigit():
        raise BadRequest(f"Invalid input for query parameters limit. Value: {limit[:32]}.")
    since, before = query_time(params, "changes-since"), query_time(params, "changes-before")
    if since and before and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to"
                         " changes-before.")


def query_time(params: Mapping[str, str], name: str) -> datetime | None:
    """The time a query parameter names (naive: UTC), or None; 400 for no date-time."""
    text = params.get(name)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text[:64]}."
                         " It is not a valid date-time.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # naive: UTC, as Nova reads it


def check_caller(request: web.Request) -> None:
    """403 unless the caller is an admin, or a manager asking for their own project."""
    caller = who(request)
    if caller.admin:
        return
    if caller.role != "manager":
        raise Forbidden(f"Policy doesn't allow {_RULE.format('index')} to be performed.")
    if request.query.get("project_id") != caller.project:
        raise Forbidden(f"Policy doesn't allow {_RULE.format('index:all_projects')} to be"
                        " performed.")


async def index(request: web.Request) -> web.Response:
    check_caller(request)
    check_query(request.query, version(request))
    return web.json_response({"migrations": []})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2.1/os-migrations", index)
