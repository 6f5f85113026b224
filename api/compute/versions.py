"""The compute API's version documents, which clients read before anything else.

    GET /        {"versions": [v2.0, v2.1]}   in that order, as Nova lists them
    GET /v2.1    {"version": v2.1}   (keystoneauth's discovery of the catalog URL)
    GET /v2      {"version": v2.0}   Nova's legacy v2 (the same API, no microversions)

Each self link leads to its own document (Tempest follows them). The keys
are Tempest's `versions` schema's; a listed version has no media-types.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.microversion import MAX, MIN
from api.state import base_url


def document(request: web.Request, path: str = "v2.1") -> dict[str, Any]:
    """The listed document of v2.1 (`path` "v2.1") or of the legacy v2.0 ("v2")."""
    if path == "v2":
        doc = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
               "updated": "2011-01-21T11:33:21Z"}
    else:
        doc = {"id": "v2.1", "status": "CURRENT", "version": str(MAX),
               "min_version": str(MIN), "updated": "2013-07-23T11:33:21Z"}
    return doc | {"links": [{"rel": "self", "href": f"{base_url(request)}/{path}/"}]}


def _one(request: web.Request, path: str) -> dict[str, Any]:
    doc = document(request, path)
    media = [{"base": "application/json",
              "type": f"application/vnd.openstack.compute+json;version={doc['id'][1:]}"}]
    return {"version": doc | {"media-types": media}}


async def root(request: web.Request) -> web.Response:
    return web.json_response({"versions": [document(request, "v2"), document(request)]})


async def v21(request: web.Request) -> web.Response:
    return web.json_response(_one(request, "v2.1"))


async def v20(request: web.Request) -> web.Response:
    return web.json_response(_one(request, "v2"))
