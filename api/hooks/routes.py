"""The hooks API: web hook subscriptions and their deliveries (docs/hooks.md).

    GET    /hooks/v1/subscriptions                  list (admins: every one, or
                                                    ?project=P; members: their project's)
    POST   /hooks/v1/subscriptions                  {"subscription": {"url", "secret",
                                                    "events": [globs], "project"}} -> 201
    GET    /hooks/v1/subscriptions/{id}             one
    DELETE /hooks/v1/subscriptions/{id}             204; its deliveries go with it
    GET    /hooks/v1/subscriptions/{id}/deliveries  its latest deliveries (?state=, ?limit=)
    GET    /hooks/v1/deliveries                     the latest deliveries the caller may see

A member subscribes for its own project only (`project` defaults to it; any
other is 403) and sees only its project's subscriptions: another's is 404,
as if there were none. An admin's subscription may name any project, or ""
(the default) for every project's events and the tree's own. Readers may
look. A secret is never shown back.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.errors import ApiError, BadRequest, Forbidden, ItemNotFound
from api.hooks import views
from api.hooks.deliveries import DEAD, DELIVERED, PENDING
from api.hooks.errors import BadSubscription, HookError, UnknownSubscription
from api.hooks.service import HOOKS, Hooks
from api.hooks.subscriptions import Subscription, checked
from api.state import json_body, who

PREFIX = "/hooks/v1"
MAX_LIMIT = 1000


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get(f"{PREFIX}/subscriptions", _index)
    add.add_post(f"{PREFIX}/subscriptions", _create)
    add.add_get(f"{PREFIX}/subscriptions/{{id}}", _show)
    add.add_delete(f"{PREFIX}/subscriptions/{{id}}", _delete)
    add.add_get(f"{PREFIX}/subscriptions/{{id}}/deliveries", _deliveries_of)
    add.add_get(f"{PREFIX}/deliveries", _deliveries)


def _hooks(request: web.Request) -> Hooks:
    return request.app[HOOKS]


def api_error(exc: HookError) -> ApiError:
    """The one translation of the hooks' errors."""
    if isinstance(exc, UnknownSubscription):
        return ItemNotFound(exc.message)
    return BadRequest(exc.message)


async def _index(request: web.Request) -> web.StreamResponse:
    caller = who(request)
    project = request.query.get("project") if caller.admin else caller.project
    found = _hooks(request).subscriptions.all(project)
    return web.json_response({"subscriptions": [views.subscription(s) for s in found]})


async def _create(request: web.Request) -> web.StreamResponse:
    caller = who(request)
    body = (await json_body(request)).get("subscription")
    if not isinstance(body, dict):
        raise BadRequest('The body must be {"subscription": {"url", "secret", "events",'
                         ' "project"}}.')
    unknown = sorted(set(body) - {"url", "secret", "events", "project"})
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0][:40]!r}; a subscription has url,"
                         " secret, events and project.")
    project = body.get("project", "" if caller.admin else caller.project)
    if not caller.admin and project != caller.project:
        raise Forbidden(f"A member subscribes for its own project ({caller.project}) only.")
    hooks = _hooks(request)
    try:
        url, secret, events, project = checked(body.get("url"), body.get("secret"),
                                               body.get("events"), project,
                                               hooks.config.hooks.allow_http)
    except BadSubscription as exc:
        raise api_error(exc) from None
    made = hooks.subscriptions.add(url, secret, events, project, caller.user_id)
    return web.json_response({"subscription": views.subscription(made)}, status=201)


def _visible(request: web.Request) -> Subscription:
    """The subscription of the path, if the caller may see it; 404 otherwise."""
    ident = request.match_info["id"]
    found = _hooks(request).subscriptions.get(ident)
    caller = who(request)
    if found is None or not (caller.admin or found.project == caller.project):
        raise api_error(UnknownSubscription(f"Subscription {ident[:64]} could not be found."))
    return found


async def _show(request: web.Request) -> web.StreamResponse:
    return web.json_response({"subscription": views.subscription(_visible(request))})


async def _delete(request: web.Request) -> web.StreamResponse:
    _hooks(request).subscriptions.remove(_visible(request).id)
    return web.Response(status=204)


async def _deliveries_of(request: web.Request) -> web.StreamResponse:
    return _deliveries_page(request, [_visible(request).id])


async def _deliveries(request: web.Request) -> web.StreamResponse:
    caller = who(request)
    ids = None if caller.admin else [
        s.id for s in _hooks(request).subscriptions.all(caller.project)]
    return _deliveries_page(request, ids)


def _deliveries_page(request: web.Request, ids: list[str] | None) -> web.Response:
    state, limit = _filters(request.query)
    found = _hooks(request).deliveries.page(ids, state, limit)
    return web.json_response({"deliveries": [views.delivery(d) for d in found]})


def _filters(query: Any) -> tuple[str, int]:
    state = query.get("state", "")
    if state not in ("", PENDING, DELIVERED, DEAD):
        raise BadRequest(f"state must be {PENDING}, {DELIVERED} or {DEAD}.")
    text = query.get("limit", "100")
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return state, int(text)
