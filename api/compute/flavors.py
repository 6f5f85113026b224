"""Flavors: the ones the deployment declares (the tree file's [flavors]; id =
name), and the ones admins made (api.compute.flavor_manage, in the API's database).

    GET /v2.1/flavors, /v2.1/flavors/detail, /v2.1/flavors/{id}

A list's filters, order and paging are api.compute.flavor_query's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from api.compute.flavor_manage import stored_fact, stored_facts
from api.compute.flavor_query import FlavorQuery
from api.compute.flavor_views import FlavorFacts, flavor_body
from api.errors import ItemNotFound
from api.state import base_url, state, version, who
from model.compute import Resources


def body(request: web.Request, name: str, flavor: Resources, detail: bool) -> dict[str, Any]:
    """A configured flavor's body for this request (its keys: api.compute.shapes)."""
    return flavor_body(FlavorFacts.configured(name, flavor), base_url(request),
                       version(request), detail)


async def index(request: web.Request) -> web.Response:
    return _list(request, detail=False)


async def detail(request: web.Request) -> web.Response:
    return _list(request, detail=True)


def _list(request: web.Request, detail: bool) -> web.Response:
    query = FlavorQuery.read(request.query, who(request).admin)
    configured = [FlavorFacts.configured(name, f)
                  for name, f in state(request).config.flavors.items()]
    every = (configured if query.is_public is not False else []) + stored_facts(
        request, query.is_public)
    page = query.apply(every)
    body: dict[str, Any] = {"flavors": [
        flavor_body(facts, base_url(request), version(request), detail) for facts in page]}
    if page and len(page) == query.limit:
        body["flavors_links"] = [{"rel": "next", "href": _next(request, page[-1].id)}]
    return web.json_response(body)


def _next(request: web.Request, marker: str) -> str:
    """The link to the page after `marker`, with the list's other parameters."""
    params = {**request.query, "marker": marker}
    return f"{base_url(request)}{request.path}?{urlencode(params)}"


async def show(request: web.Request) -> web.Response:
    name = request.match_info["id"]
    flavor = state(request).config.flavors.get(name)
    if flavor is not None:
        return web.json_response({"flavor": body(request, name, flavor, detail=True)})
    stored = stored_fact(request, name)
    if stored is None:
        raise ItemNotFound(f"Flavor {name[:64]} could not be found.")
    return web.json_response({"flavor": flavor_body(stored, base_url(request), version(request),
                                                    detail=True)})
