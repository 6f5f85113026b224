"""The compute API's images proxy: the images of the image API (api.image: the
tree's [[images]] and those uploaded there) as Nova shows Glance's, with
Nova's bodies and codes (deprecated by Nova, and 404 from 2.36 as there).

    GET    /v2.1/images[/detail]              name, status, server, type,
                                              changes-since, minRam, minDisk,
                                              property-KEY, limit, marker
    GET    /v2.1/images/{id}
    DELETE /v2.1/images/{id}                  204 (Glance's delete)
    GET    /v2.1/images/{id}/metadata         the image's properties
    PUT    /v2.1/images/{id}/metadata         replace them all
    POST   /v2.1/images/{id}/metadata         set some, keep the others
    GET|PUT|DELETE /v2.1/images/{id}/metadata/{key}

Nova's 404s for an image the caller cannot see or a key it has not; the
tree's images are read-only (403, api.image.store), as are other projects'.
An image's metadata holds at most the project's metadata_items (403 past it,
as Nova's quota check).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from yarl import URL

from api.db.images import StoredImage
from api.errors import BadRequest, Forbidden, ItemNotFound
from api.image.fields import CORE_ATTRIBUTES
from api.image.manage import delete_image
from api.image.store import registry
from api.image.views import iso_time
from api.microversion import Version
from api.state import base_url, database, json_body, version, who

NO_PROXIES = Version(2, 36)
# Glance's status -> Nova's, with its progress.
STATUSES = {"active": ("ACTIVE", 100), "saving": ("SAVING", 50), "queued": ("SAVING", 25),
            "killed": ("ERROR", 0), "deleted": ("DELETED", 0), "pending_delete": ("DELETED", 0)}
# Nova's filters that are an image's properties.
PROPERTY_FILTERS = {"server": "instance_uuid", "type": "image_type"}
_KEY = re.compile(r"[a-zA-Z0-9-_:. ]{1,255}")


def links(base: str, image: StoredImage) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/v2.1/images/{image.id}"},
            {"rel": "bookmark", "href": f"{base}/images/{image.id}"},
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{base}/image/images/{image.id}"}]


def brief(base: str, image: StoredImage) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": links(base, image)}


def whole(base: str, image: StoredImage) -> dict[str, Any]:
    status, progress = STATUSES.get(image.status, ("UNKNOWN", 0))
    doc = brief(base, image) | {
        "status": status, "progress": progress, "minDisk": image.min_disk,
        "minRam": image.min_ram, "metadata": dict(image.properties),
        "created": iso_time(image.created_at), "updated": iso_time(image.updated_at),
        "OS-EXT-IMG-SIZE:size": image.size}
    server = image.properties.get("instance_uuid")
    if server:
        doc["server"] = {"id": server, "links": [
            {"rel": "self", "href": f"{base}/v2.1/servers/{server}"},
            {"rel": "bookmark", "href": f"{base}/servers/{server}"}]}
    return doc


async def index(request: web.Request) -> web.Response:
    return _list(request, brief)


async def detail(request: web.Request) -> web.Response:
    return _list(request, whole)


def _list(request: web.Request, render: Callable[[str, StoredImage], Any]) -> web.Response:
    _check_version(request)
    params, base = request.query, base_url(request)
    found = _page(_filtered(registry(request).listed(who(request)), params), params)
    body: dict[str, Any] = {"images": [render(base, image) for image in found]}
    if "limit" in params and found and len(found) == int(params["limit"]):
        query = {k: v for k, v in params.items() if k != "marker"} | {"marker": found[-1].id}
        path = request.path
        body["images_links"] = [{"rel": "next",
                                 "href": f"{base}{URL(path).with_query(query)}"}]
    return web.json_response(body)


def _filtered(images: list[StoredImage], params: MultiMapping[str]) -> list[StoredImage]:
    images = [i for i in images if not i.os_hidden]  # Glance's default list hides them
    if "name" in params:
        images = [i for i in images if i.name == params["name"]]
    if "status" in params:
        images = [i for i in images if i.status == params["status"].lower()]
    for key, least in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if key in params:
            floor = _number(params, key)
            images = [i for i in images if getattr(i, least) >= floor]
    if "changes-since" in params:
        since = _time(params["changes-since"])
        images = [i for i in images if i.updated_at >= since]
    for key, value in params.items():
        name = PROPERTY_FILTERS.get(key) or key.removeprefix("property-")
        if key in PROPERTY_FILTERS or key.startswith("property-"):
            if key == "server":
                value = value.rstrip("/").rpartition("/")[2]  # an id, or a link to one
            images = [i for i in images if i.properties.get(name) == value]
    return images


def _time(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid changes-since value {text[:64]!r}: an ISO 8601"
                         " time.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _page(images: list[StoredImage], params: Mapping[str, str]) -> list[StoredImage]:
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


async def delete(request: web.Request) -> web.Response:
    await delete_image(request, _image(request))
    return web.Response(status=204)


async def metadata(request: web.Request) -> web.Response:
    return web.json_response({"metadata": dict(_image(request).properties)})


async def metadata_item(request: web.Request) -> web.Response:
    key, properties = request.match_info["key"], _image(request).properties
    if key not in properties:
        raise ItemNotFound("The resource could not be found.")
    return web.json_response({"meta": {key: properties[key]}})


async def replace_metadata(request: web.Request) -> web.Response:
    return await _write(request, "metadata", purge=True)


async def update_metadata(request: web.Request) -> web.Response:
    return await _write(request, "metadata", purge=False)


async def set_metadata_item(request: web.Request) -> web.Response:
    return await _write(request, "meta", purge=False)


async def _write(request: web.Request, wrapper: str, purge: bool) -> web.Response:
    """Set properties from a `metadata` body (all of them when `purge`) or a
    `meta` body (one, the path's key), with Nova's checks and answers."""
    image = _image(request)
    given = _metadata(await json_body(request), wrapper)
    if wrapper == "meta":
        key = request.match_info["key"]
        if key not in given:
            raise BadRequest("Request body and URI mismatch")
        if len(given) > 1:
            raise BadRequest("Request body contains too many items")
    images = registry(request)
    images.check_writable(who(request), image)
    after = given if purge else {**image.properties, **given}
    _check_quota(request, len(after))
    changed = images.store.update(image.id, set_properties=given, purge_properties=purge)
    if changed is None:
        raise ItemNotFound("Image not found.")
    shown = given if wrapper == "meta" else dict(changed.properties)
    return web.json_response({wrapper: shown})


async def delete_metadata_item(request: web.Request) -> web.Response:
    image, key = _image(request), request.match_info["key"]
    images = registry(request)
    images.check_writable(who(request), image)
    if key not in image.properties:
        raise ItemNotFound("Invalid metadata key")
    images.store.update(image.id, remove_properties=[key])
    return web.Response(status=204)


def _metadata(body: Mapping[str, Any], wrapper: str) -> dict[str, str]:
    given = body.get(wrapper)
    if not isinstance(given, dict):
        raise BadRequest(f"Invalid input: the body needs a '{wrapper}' object.")
    for key, value in given.items():
        if not _KEY.fullmatch(key) or key in CORE_ATTRIBUTES:
            raise BadRequest(f"Invalid metadata key {key[:64]!r}: 1 to 255 letters, digits"
                             " and -_:. (an image's attribute is not metadata).")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(f"Invalid value for metadata key {key[:64]!r}: a string of at"
                             " most 255 characters.")
    return given


def _check_quota(request: web.Request, count: int) -> None:
    limit = database(request).quotas.limits(who(request).project)["metadata_items"]
    if 0 <= limit < count:
        raise Forbidden(f"Quota exceeded for metadata_items: {count} items asked, the limit"
                        f" is {limit}.")


def _check_version(request: web.Request) -> None:
    if version(request) >= NO_PROXIES:
        raise ItemNotFound("The resource could not be found.")


def _image(request: web.Request) -> StoredImage:
    _check_version(request)
    found = registry(request).find(who(request), request.match_info["id"])
    if found is None:
        raise ItemNotFound("Image not found.")
    return found


def add_routes(app: web.Application) -> None:
    add = app.router
    add.add_get("/v2.1/images", index)
    add.add_get("/v2.1/images/detail", detail)
    add.add_get("/v2.1/images/{id}", show)
    add.add_delete("/v2.1/images/{id}", delete)
    add.add_get("/v2.1/images/{id}/metadata", metadata)
    add.add_put("/v2.1/images/{id}/metadata", replace_metadata)
    add.add_post("/v2.1/images/{id}/metadata", update_metadata)
    add.add_get("/v2.1/images/{id}/metadata/{key}", metadata_item)
    add.add_put("/v2.1/images/{id}/metadata/{key}", set_metadata_item)
    add.add_delete("/v2.1/images/{id}/metadata/{key}", delete_metadata_item)
