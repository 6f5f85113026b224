"""What was done to a server, as Nova's os-instance-actions shows it.

    GET /v2.1/servers/{id}/os-instance-actions               {"instanceActions": [...]}
    GET /v2.1/servers/{id}/os-instance-actions/{request_id}  {"instanceAction": {...}}

The log is the leaf's (cells.instance_actions), read through the tree with
one routed call; a deleted server's log is found by asking every cell
(routing.history).

    since  what changes
    2.21   a deleted server's actions are shown (before: 404, as for any
           server that is gone)
    2.51   a show has its events for everyone (before: for admins only)
    2.58   actions have updated_at; the list pages (limit, marker: a request
           id) and takes changes-since; any other query parameter is 400
    2.62   events have hostId (everyone) and host (admins)
    2.66   the list takes changes-before
    2.84   events have details (why one failed)

Request ids: an action's is the request's X-OpenStack-Request-ID (or the one
this API made), which the API sends to the tree with a suffix of its own
(`api.state.action_metadata`, `api.compute.boot.boot_key`); the suffix is
cut off here (`shown_request_id`). The leaf is never told who acted (cells
see projects, not users), so user_id is the project's id. Admins alone see
events' traceback (always null: the tree keeps none) and host, as Nova's
policy has it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from api.compute.migrations import CHANGES_BEFORE, check_paging, query_time
from api.compute.servers import server_uuid
from api.errors import BadRequest, ItemNotFound
from api.microversion import Version
from api.state import base_url, metadata, not_found, state, version, who
from model.errors import NotFound
from model.instance_actions import ActionLog, ActionRecord

DELETED_SHOWN = Version(2, 21)
EVENTS_FOR_ALL = Version(2, 51)
PAGES = Version(2, 58)
HOSTS = Version(2, 62)
DETAILS = Version(2, 84)
MAX_LIMIT = 1000  # Nova's [api] max_limit
_API_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shown_request_id(key: str) -> str:
    """The request id a client knows, of the key an action was taken under."""
    found = _API_ID.match(key)
    return found.group(0) if found else key


async def index(request: web.Request) -> web.Response:
    at = version(request)
    params = _query(request, at)
    log = await _log(request)
    actions = [a for a in _by_request(log.actions) if _changed_within(a, params)]
    if at < PAGES:
        return web.json_response({"instanceActions": [_action(log, a, at) for a in actions]})
    limit = min(int(params.get("limit", MAX_LIMIT)), MAX_LIMIT)
    page = _after(actions, params.get("marker"))[:limit]
    body: dict[str, Any] = {"instanceActions": [_action(log, a, at) for a in page]}
    if page and len(page) == limit:
        query = urlencode({"limit": limit, "marker": shown_request_id(page[-1].request_id)})
        body["links"] = [{"rel": "next", "href": f"{base_url(request)}/v2.1/servers/"
                          f"{log.uuid}/os-instance-actions?{query}"}]
    return web.json_response(body)


async def show(request: web.Request) -> web.Response:
    at = version(request)
    log = await _log(request)
    asked = request.match_info["request_id"]
    found = next((a for a in _by_request(log.actions)
                  if shown_request_id(a.request_id) == asked), None)
    if found is None:
        raise ItemNotFound(f"Action {asked[:64]} not found")
    action = _action(log, found, at)
    admin = who(request).admin
    if admin or at >= EVENTS_FOR_ALL:  # one event at most: the leaf's step that acted
        action["events"] = [_event(log, found, at, admin)] if found.event else []
    return web.json_response({"instanceAction": action})


async def _log(request: web.Request) -> ActionLog:
    """The server's log; 404 when there is none the caller may see (a
    deleted server's before 2.21)."""
    uuid = server_uuid(request)
    try:
        log = await state(request).tree.client.actions(uuid, metadata=metadata(request))
    except NotFound:
        raise not_found("Instance", uuid) from None
    if log.deleted and version(request) < DELETED_SHOWN:
        raise not_found("Instance", uuid)
    return log


def _by_request(actions: tuple[ActionRecord, ...]) -> list[ActionRecord]:
    """Newest first, as the leaf keeps them; one per request id a client knows
    (a request that acted twice under two keys shows its latest)."""
    seen: set[str] = set()
    kept = []
    for a in actions:
        shown = shown_request_id(a.request_id)
        if shown not in seen:
            seen.add(shown)
            kept.append(a)
    return kept


# ------------------------------------------------------------------ query

def _query(request: web.Request, at: Version) -> dict[str, str]:
    """The list's query as Nova's schema takes it at `at` (before 2.58: ignored)."""
    if at < PAGES:
        return {}
    allowed = {"limit", "marker", "changes-since"} | (
        {"changes-before"} if at >= CHANGES_BEFORE else set())
    params = dict(request.query)
    check_paging(params, allowed)
    return params


def _changed_within(a: ActionRecord, params: dict[str, str]) -> bool:
    updated = datetime.fromtimestamp(_updated(a), UTC)
    since, before = query_time(params, "changes-since"), query_time(params, "changes-before")
    return (since is None or updated >= since) and (before is None or updated <= before)


def _after(actions: list[ActionRecord], marker: str | None) -> list[ActionRecord]:
    if marker is None:
        return actions
    for n, a in enumerate(actions):
        if shown_request_id(a.request_id) == marker:
            return actions[n + 1:]
    raise BadRequest(f"Marker {marker[:64]} could not be found.")


# ------------------------------------------------------------------ views

def _action(log: ActionLog, a: ActionRecord, at: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": a.action, "instance_uuid": log.uuid,
        "request_id": shown_request_id(a.request_id), "user_id": a.user or a.project,
        "project_id": a.project, "start_time": _iso(a.start_time),
        "message": "Error" if a.result == "Error" else None,
    }
    if at >= PAGES:
        body["updated_at"] = _iso(_updated(a))
    return body


def _event(log: ActionLog, a: ActionRecord, at: Version, admin: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": a.event, "start_time": _iso(a.start_time),
        "finish_time": _iso(a.finish_time) if a.finish_time else None,
        "result": a.result or None,
    }
    if admin:
        body["traceback"] = None
    if at >= HOSTS:
        if admin:
            body["host"] = a.host
        project = a.project or log.project
        body["hostId"] = (hashlib.sha224(f"{project}{a.host}".encode()).hexdigest()
                          if a.host else "")
    if at >= DETAILS:
        body["details"] = a.message or None
    return body


def _updated(a: ActionRecord) -> float:
    return a.finish_time or a.start_time


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def add_routes(app: web.Application) -> None:
    base = "/v2.1/servers/{id}/os-instance-actions"
    app.router.add_get(base, index)
    app.router.add_get(base + "/{request_id}", show)
