"""Flavors: the ones the deployment declares (the tree file's [flavors]); id = name.

    GET /v2.1/flavors, /v2.1/flavors/detail, /v2.1/flavors/{id}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.errors import ItemNotFound
from api.state import base_url, state
from model.compute import Resources


def body(request: web.Request, name: str, flavor: Resources, detail: bool) -> dict[str, Any]:
    links = [{"rel": "self", "href": f"{base_url(request)}/v2.1/flavors/{name}"},
             {"rel": "bookmark", "href": f"{base_url(request)}/flavors/{name}"}]
    brief: dict[str, Any] = {"id": name, "name": name, "links": links}
    if not detail:
        return brief
    return brief | {"ram": flavor.memory_mb, "vcpus": flavor.vcpus, "disk": flavor.disk_gb,
                    "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0, "rxtx_factor": 1.0,
                    "OS-FLV-DISABLED:disabled": False, "os-flavor-access:is_public": True,
                    "description": None, "extra_specs": {}}


async def index(request: web.Request) -> web.Response:
    return _list(request, detail=False)


async def detail(request: web.Request) -> web.Response:
    return _list(request, detail=True)


def _list(request: web.Request, detail: bool) -> web.Response:
    flavors = state(request).config.flavors
    return web.json_response({"flavors": [body(request, name, f, detail)
                                          for name, f in sorted(flavors.items())]})


async def show(request: web.Request) -> web.Response:
    name = request.match_info["id"]
    flavor = state(request).config.flavors.get(name)
    if flavor is None:
        raise ItemNotFound(f"Flavor {name[:64]} could not be found.")
    return web.json_response({"flavor": body(request, name, flavor, detail=True)})
