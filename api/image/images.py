"""Images (Glance v2): the tree's `[[images]]` and those uploaded here.

    GET    /image                          version discovery
    GET    /image/v2/images                filters below; limit, marker; `next`
    POST   /image/v2/images                create (queued)       api.image.manage
    GET    /image/v2/images/{id}
    PATCH  /image/v2/images/{id}           JSON patch            api.image.manage
    DELETE /image/v2/images/{id}                                 api.image.manage
    PUT    /image/v2/images/{id}/file      upload: queued -> active  api.image.upload
    GET    /image/v2/images/{id}/file      download                  api.image.upload
    PUT|DELETE /image/v2/images/{id}/tags/{tag}                  api.image.manage

Reads are here, the rest in the modules named; api.image.routes adds them all.

List filters: name, id (ID or in:ID,ID...), status, visibility (public,
private, shared, community, all), owner, tag, disk_format, container_format,
protected, os_hidden (hidden images are left out unless asked for); sorting
is Glance's default, newest first. Who sees which image is api.image.store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from yarl import URL

from api.db.images import StoredImage
from api.errors import BadRequest, ItemNotFound
from api.image.store import VISIBILITIES, registry
from api.image.views import image_body
from api.state import base_url, who

_EXACT = ("name", "status", "owner", "disk_format", "container_format")
_FLAGS = ("protected", "os_hidden")


async def versions(request: web.Request) -> web.Response:
    link = {"rel": "self", "href": f"{base_url(request)}/image/v2/"}
    doc = {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [link]}]}
    return web.json_response(doc, status=300)


def shown(request: web.Request, image: StoredImage) -> dict[str, Any]:
    """The image's body for this caller (admins see a tree image's source)."""
    tree = registry(request).tree_image(image.id) if who(request).admin else None
    return image_body(image, tree.source if tree is not None else None)


async def index(request: web.Request) -> web.Response:
    params = request.query
    visibility = params.get("visibility", "")
    if visibility and visibility not in (*VISIBILITIES, "all"):
        raise BadRequest(f"Invalid visibility value: {visibility[:32]}")
    images = registry(request).listed(who(request), community=visibility in ("community",
                                                                              "all"))
    images = _filtered(images, params)
    page = _page(images, params)
    doc: dict[str, Any] = {"images": [shown(request, i) for i in page],
                           "first": "/v2/images", "schema": "/v2/schemas/images"}
    if "limit" in params and page and len(page) == int(params["limit"]) and page[-1] != images[-1]:
        query = {k: v for k, v in params.items() if k != "marker"} | {"marker": page[-1].id}
        doc["next"] = str(URL("/v2/images").with_query(query))
    return web.json_response(doc)


def _filtered(images: list[StoredImage], params: MultiMapping[str]) -> list[StoredImage]:
    for key in _EXACT:
        if key in params:
            images = [i for i in images if getattr(i, key) == params[key]]
    ids = params.get("id", "")
    if ids:
        wanted = set(ids[3:].split(",")) if ids.startswith("in:") else {ids}
        images = [i for i in images if i.id in wanted]
    visibility = params.get("visibility", "all")
    if visibility != "all":
        images = [i for i in images if i.visibility == visibility]
    for key in _FLAGS:
        if key in params:
            wanted_flag = _flag(params, key)
            images = [i for i in images if getattr(i, key) == wanted_flag]
    if "os_hidden" not in params:
        images = [i for i in images if not i.os_hidden]
    for tag in params.getall("tag", []):
        images = [i for i in images if tag in i.tags]
    return images


def _flag(params: Mapping[str, str], key: str) -> bool:
    text = params[key].lower()
    if text not in ("true", "false"):
        raise BadRequest(f"Invalid value for {key}: true or false.")
    return text == "true"


def _page(images: list[StoredImage], params: Mapping[str, str]) -> list[StoredImage]:
    marker = params.get("marker")
    if marker is not None:
        ids = [i.id for i in images]
        if marker not in ids:
            raise BadRequest(f"Invalid marker. Image {marker[:64]} could not be found.")
        images = images[ids.index(marker) + 1:]
    if "limit" in params:
        text = params["limit"]
        if not text.isdigit():
            raise BadRequest(f"limit param must be an integer, not {text[:32]!r}.")
        images = images[:int(text)]
    return images


def found(request: web.Request) -> StoredImage:
    """The image of the request's path, if the caller may see it; else 404."""
    ref = request.match_info["id"]
    image = registry(request).find(who(request), ref)
    if image is None:
        raise ItemNotFound(f"No image found with ID {ref[:64]}")
    return image


async def show(request: web.Request) -> web.Response:
    return web.json_response(shown(request, found(request)))

