"""What Keystone's admin endpoints share: who may call them, their bodies' envelope.

Keystone 2024.1's default policies let an admin create, list, show and delete
projects, users and role assignments; a project's own member may show their
project and a user themselves (`admin_or`). Anyone else gets Keystone's 403,
naming the policy rule. A request body is one JSON object holding one object
under the resource's key (`{"project": {...}}`); anything else is Keystone's
400, "Invalid input for field ...".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from api.body import read_json
from api.identity.errors import BadAuthRequest, Forbidden
from api.identity.tokens import TokenInfo

MAX_BODY = 64 * 1024
Who = Callable[[web.Request], Awaitable[TokenInfo]]  # the caller, once their token is verified
BaseUrl = Callable[[web.Request], str]


def admin_only(caller: TokenInfo, rule: str) -> None:
    """Forbidden unless `caller` is an admin; `rule` is Keystone's, e.g.
    "identity:create_project"."""
    if not caller.admin:
        raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")


def admin_or(caller: TokenInfo, rule: str, own: bool) -> None:
    """Forbidden unless `caller` is an admin or `own` (the caller's own thing)."""
    if not own:
        admin_only(caller, rule)


async def read_member(request: web.Request, key: str) -> dict[str, Any]:
    """The object under `key` in the request's JSON body; BadAuthRequest otherwise."""
    if (request.content_length or 0) > MAX_BODY:
        raise BadAuthRequest(f"The request body is larger than {MAX_BODY} bytes")
    try:
        body = await read_json(request)
    except ValueError as exc:
        raise BadAuthRequest(f"The request body is {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadAuthRequest(f"Invalid input for field '{key}': it must be an object.")
    found: dict[str, Any] = body[key]
    return found


def string(obj: Mapping[str, Any], key: str, default: str | None = None) -> str:
    """`obj[key]` as a string: Keystone's 400 when it is not one (or missing
    without a default)."""
    value = obj.get(key, default)
    if not isinstance(value, str):
        said = "is a required property" if key not in obj else "is not of type 'string'"
        raise BadAuthRequest(f"Invalid input for field '{key}': '{key}' {said}.")
    return value


def flag(obj: Mapping[str, Any], key: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise BadAuthRequest(f"Invalid input for field '{key}': {value!r} is not of type"
                             " 'boolean'.")
    return value


def collection(request: web.Request, base: str, path: str, key: str,
               items: list[dict[str, Any]], truncated: bool = False) -> web.Response:
    """Keystone's list body: `{key: items, "links": {...}}` (no paging), with
    `"truncated": true` when the backend stopped at its bound, as Keystone's
    list_limit has it."""
    query = f"?{request.query_string}" if request.query_string else ""
    links = {"self": f"{base}{path}{query}", "previous": None, "next": None}
    body: dict[str, Any] = {key: items, "links": links}
    if truncated:
        body["truncated"] = True
    return web.json_response(body)
