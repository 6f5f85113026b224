"""Flavors: the ones the deployment declares (the tree file's [flavors]; id =
name), and the ones admins made (api.compute.flavor_manage, in the API's database).

    GET /v2.1/flavors, /v2.1/flavors/detail, /v2.1/flavors/{id}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.compute.flavor_manage import stored_fact, stored_facts
from api.compute.flavor_views import FlavorFacts, flavor_body
from api.errors import ItemNotFound
from api.state import base_url, state, version
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
    flavors = state(request).config.flavors
    every = [FlavorFacts.configured(name, f) for name, f in sorted(flavors.items())]
    every += sorted(stored_facts(request), key=lambda facts: facts.id)
    return web.json_response({"flavors": [
        flavor_body(facts, base_url(request), version(request), detail) for facts in every]})


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
