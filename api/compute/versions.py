"""The compute API's version documents, which clients read before anything else.

    GET /        {"versions": [v2.1]}
    GET /v2.1    {"version": v2.1}   (keystoneauth's discovery of the catalog URL)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.microversion import MAX, MIN
from api.state import base_url


def document(request: web.Request) -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": str(MAX), "min_version": str(MIN),
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url(request)}/v2.1/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


async def root(request: web.Request) -> web.Response:
    return web.json_response({"versions": [document(request)]})


async def v21(request: web.Request) -> web.Response:
    return web.json_response({"version": document(request)})
