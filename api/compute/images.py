"""The compute API's images proxy, read-only: the deployment's [[images]] as
Nova shows Glance's images (deprecated by Nova, and 404 from 2.36 as there).

    GET /v2.1/images[/detail]                  name, status, minRam, minDisk,
                                               limit, marker
    GET /v2.1/images/{id}                      404 for an id not declared
    GET /v2.1/images/{id}/metadata[/{key}]     an image's properties (none here)

The images are configuration (api.image is the Glance side of the same
table), so each is ACTIVE with progress 100 and nothing here changes them:
the writes Nova proxies (delete, metadata set) are 405.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from api.errors import BadRequest, ItemNotFound
from api.image.images import CREATED
from api.microversion import Version
from api.state import base_url, state, version
from model.catalog import Image

NO_PROXIES = Version(2, 36)


def links(base: str, image: Image) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/v2.1/images/{image.id}"},
            {"rel": "bookmark", "href": f"{base}/images/{image.id}"},
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{base}/image/images/{image.id}"}]


def brief(base: str, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": links(base, image)}


def whole(base: str, image: Image) -> dict[str, Any]:
    return brief(base, image) | {
        "status": "ACTIVE", "progress": 100, "minDisk": image.min_disk,
        "minRam": image.min_ram, "metadata": {}, "created": CREATED, "updated": CREATED,
        "OS-EXT-IMG-SIZE:size": None}


async def index(request: web.Request) -> web.Response:
    return _list(request, brief)


async def detail(request: web.Request) -> web.Response:
    return _list(request, whole)


def _list(request: web.Request, render: Any) -> web.Response:
    found = _page(_filtered(_images(request), request.query), request.query)
    base = base_url(request)
    return web.json_response({"images": [render(base, image) for image in found]})


def _filtered(images: list[Image], params: Mapping[str, str]) -> list[Image]:
    if "name" in params:
        images = [i for i in images if i.name == params["name"]]
    if params.get("status", "ACTIVE").upper() != "ACTIVE":
        images = []
    for key, least in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if key in params:
            floor = _number(params, key)
            images = [i for i in images if getattr(i, least) >= floor]
    return images


def _page(images: list[Image], params: Mapping[str, str]) -> list[Image]:
    marker = params.get("marker")
    if marker is not None:
        ids = [i.id for i in images]
        if marker not in ids:
            raise BadRequest(f"marker [{marker[:64]}] not found")
        images = images[ids.index(marker) + 1:]
    if "limit" in params:
        images = images[:_number(params, "limit")]
    return images


def _number(params: Mapping[str, str], key: str) -> int:
    text = params[key]
    if not text.isdigit():
        raise BadRequest(f"{key} must be a non-negative integer, not {text[:32]!r}.")
    return int(text)


async def show(request: web.Request) -> web.Response:
    return web.json_response({"image": whole(base_url(request), _image(request))})


async def metadata(request: web.Request) -> web.Response:
    _image(request)
    return web.json_response({"metadata": {}})


async def metadata_item(request: web.Request) -> web.Response:
    _image(request)  # it has no properties: every key is missing
    raise ItemNotFound("The resource could not be found.")


def _images(request: web.Request) -> list[Image]:
    if version(request) >= NO_PROXIES:
        raise ItemNotFound("The resource could not be found.")
    return list(state(request).config.images)


def _image(request: web.Request) -> Image:
    ref = request.match_info["id"]
    for image in _images(request):
        if image.id == ref:
            return image
    raise ItemNotFound("Image not found.")


def add_routes(app: web.Application) -> None:
    add = app.router.add_get
    add("/v2.1/images", index)
    add("/v2.1/images/detail", detail)
    add("/v2.1/images/{id}", show)
    add("/v2.1/images/{id}/metadata", metadata)
    add("/v2.1/images/{id}/metadata/{key}", metadata_item)
