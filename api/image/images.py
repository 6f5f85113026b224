"""Images (Glance v2), read-only: what `openstack server create --image NAME` asks.

    GET /image            version discovery
    GET /image/v2/images  filters: name=NAME, id=in:ID,ID..., status; others ignored
    GET /image/v2/images/{id}

The images are the deployment's `[[images]]`; `cellrouter:source` is what a
leaf boots from (a file path or POOL/VOLUME), shown to admins only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.errors import ItemNotFound
from api.state import base_url, state, who
from model.catalog import Image

CREATED = "2026-01-01T00:00:00Z"  # images are configuration: they have no history here


def body(request: web.Request, image: Image) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": image.id, "name": image.name, "status": "active", "visibility": "public",
        "protected": False, "os_hidden": False, "disk_format": image.disk_format,
        "container_format": "bare", "min_disk": image.min_disk, "min_ram": image.min_ram,
        "size": None, "virtual_size": None, "checksum": None, "owner": None, "tags": [],
        "created_at": CREATED, "updated_at": CREATED, "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image",
    }
    if who(request).admin:
        doc["cellrouter:source"] = image.source
    return doc


async def versions(request: web.Request) -> web.Response:
    link = {"rel": "self", "href": f"{base_url(request)}/image/v2/"}
    doc = {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [link]}]}
    return web.json_response(doc, status=300)


async def index(request: web.Request) -> web.Response:
    params = request.query
    images = list(state(request).config.images)
    if "name" in params:
        images = [i for i in images if i.name == params["name"]]
    ids = params.get("id", "")
    if ids.startswith("in:"):
        wanted = set(ids[3:].split(","))
        images = [i for i in images if i.id in wanted]
    elif ids:
        images = [i for i in images if i.id == ids]
    if params.get("status", "active") != "active":
        images = []
    return web.json_response({"images": [body(request, i) for i in images],
                              "first": "/v2/images", "schema": "/v2/schemas/images"})


async def show(request: web.Request) -> web.Response:
    ref = request.match_info["id"]
    for image in state(request).config.images:
        if image.id == ref:
            return web.json_response(body(request, image))
    raise ItemNotFound(f"No image found with ID {ref[:64]}")
