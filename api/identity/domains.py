"""The one domain, Default, as Keystone's domain endpoints show it.

    GET /identity/v3/domains        200  the list: admins only (identity:list_domains)
    GET /identity/v3/domains/{id}   200  the domain; 404 for any id but "default"

Keystone's default policies (scope not enforced) let admins list domains, and
show a domain to an admin or to a token whose project is in it: here every
project is in Default, so every valid token may show it. Every other answer
is Keystone's error body (api.identity.routes mounts these behind its guard).

The list takes Keystone's filters: `name`, its inexact forms (`name__contains`,
`name__startswith`, `name__endswith`, and an `i` before the operator for any
case), and `enabled`, false for one of oslo's false strings ("0", "f", "false",
"n", "no", "off", in any case) and true for anything else, "" included, as
Keystone reads it. Other query parameters are ignored, as Keystone ignores them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from api.identity.errors import DomainNotFound, Forbidden
from api.identity.tokens import TokenInfo

DEFAULT_ID = "default"
DEFAULT_NAME = "Default"
PATH = "/identity/v3/domains"

Who = Callable[[web.Request], Awaitable[TokenInfo]]
BaseUrl = Callable[[web.Request], str]
_FALSE = frozenset({"0", "f", "false", "n", "no", "off"})
_NAME_FILTERS: dict[str, Callable[[str, str], bool]] = {
    "name": lambda name, value: name == value,
    "name__contains": lambda name, value: value in name,
    "name__icontains": lambda name, value: value.lower() in name.lower(),
    "name__startswith": lambda name, value: name.startswith(value),
    "name__istartswith": lambda name, value: name.lower().startswith(value.lower()),
    "name__endswith": lambda name, value: name.endswith(value),
    "name__iendswith": lambda name, value: name.lower().endswith(value.lower()),
}


class DomainHandlers:
    """The domain endpoints; `who(request)` is the caller (Unauthorized without a
    valid token), `base_url(request)` where clients reach the API (for links)."""

    def __init__(self, who: Who, base_url: BaseUrl) -> None:
        self._who = who
        self._base_url = base_url

    async def index(self, request: web.Request) -> web.StreamResponse:
        if not (await self._who(request)).admin:
            raise Forbidden("You are not authorized to perform the requested action:"
                            " identity:list_domains.")
        base = self._base_url(request)
        found = [d for d in [domain_body(base)] if matches(d, request.query)]
        query = f"?{request.query_string}" if request.query_string else ""
        links = {"self": f"{base}{PATH}{query}", "previous": None, "next": None}
        return web.json_response({"domains": found, "links": links})

    async def show(self, request: web.Request) -> web.StreamResponse:
        await self._who(request)
        ident = request.match_info["id"]
        if ident != DEFAULT_ID:
            raise DomainNotFound(f"Could not find domain: {ident[:64]}.")
        return web.json_response({"domain": domain_body(self._base_url(request))})


def domain_body(base: str) -> dict[str, Any]:
    """Default, as Keystone writes a domain (`base`: the API's URL)."""
    return {"id": DEFAULT_ID, "name": DEFAULT_NAME, "description": "The default domain",
            "enabled": True, "tags": [], "options": {},
            "links": {"self": f"{base}{PATH}/{DEFAULT_ID}"}}


def matches(domain: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    """Whether `domain` passes every filter of `query` (Keystone's, above)."""
    for key, value in query.items():
        if key == "enabled" and domain["enabled"] != (value.lower() not in _FALSE):
            return False
        test = _NAME_FILTERS.get(key)
        if test is not None and not test(domain["name"], value):
            return False
    return True
