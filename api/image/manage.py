"""Creating, changing and deleting images through Glance v2, with Glance's
bodies and codes.

    POST   /image/v2/images               201, queued, owned by the caller's project
    PATCH  /image/v2/images/{id}          200 (api.image.patch)
    DELETE /image/v2/images/{id}          204; 403 when protected
    PUT    /image/v2/images/{id}/tags/{tag}     204
    DELETE /image/v2/images/{id}/tags/{tag}     204; 404 for a tag it has not

An image made here is the API's alone: its data is uploaded to the API
(api.image.upload) and no cell of the tree has a copy, so it cannot boot a
server (api.compute.boot refuses it). The tree's images are read-only here:
every write to one is 403 (api.image.store).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web

from api.body import read_json
from api.db.images import ImageExists, StoredImage
from api.errors import BadRequest, Conflict, Forbidden, ItemNotFound
from api.identity.tokens import TokenInfo
from api.image import patch as patching
from api.image.fields import split
from api.image.images import found, shown
from api.image.store import registry
from api.state import base_url, json_body, who

DEFAULT_VISIBILITY = "shared"  # Glance's since Ocata: the owner's, and its members'


async def create(request: web.Request) -> web.Response:
    caller, images = who(request), registry(request)
    core, properties = split(await json_body(request))
    visibility = core.pop("visibility", DEFAULT_VISIBILITY)
    images.check_visibility(caller, visibility)
    owner = _owner(caller, core.pop("owner", None) or caller.project)
    image_id = core.pop("id", None) or str(uuid.uuid4())
    tags = core.pop("tags", [])
    if images.tree_image(image_id) is not None:
        raise Conflict(f"Image with identifier {image_id} already exists!")
    try:
        made = images.store.add(StoredImage(
            id=image_id, owner=owner, visibility=visibility, properties=properties,
            tags=tuple(tags), **core))
    except ImageExists:
        raise Conflict(f"Image with identifier {image_id} already exists!") from None
    location = f"{base_url(request)}/image/v2/images/{image_id}"
    return web.json_response(shown(request, made), status=201, headers={"Location": location})


def _owner(caller: TokenInfo, owner: str) -> str:
    if owner != caller.project and not caller.admin:
        raise Forbidden(f"You are not permitted to create or move images owned by"
                        f" '{owner[:64]}'.")
    return owner


async def patch(request: web.Request) -> web.Response:
    caller, images = who(request), registry(request)
    try:
        body: Any = await read_json(request)
    except ValueError as exc:
        raise BadRequest(f"Malformed request body: {exc}") from None
    ops = patching.operations(request.content_type, body)
    image = found(request)
    images.check_writable(caller, image)
    changes = patching.apply(image, ops)
    if "visibility" in changes.touched:
        images.check_visibility(caller, changes.columns["visibility"])
    if "owner" in changes.touched:
        changes.columns["owner"] = _owner(caller, changes.columns["owner"] or "")
    set_props, removed = patching.property_changes(image.properties, changes.properties)
    after = images.store.update(
        image.id, {k: changes.columns[k] for k in changes.touched}, set_properties=set_props,
        remove_properties=removed, tags=changes.tags if changes.tags != list(image.tags)
        else None)
    if after is None:
        raise ItemNotFound(f"No image found with ID {image.id}")
    return web.json_response(shown(request, after))


async def delete(request: web.Request) -> web.Response:
    await delete_image(request, found(request))
    return web.Response(status=204)


async def delete_image(request: web.Request, image: StoredImage) -> None:
    """Delete an image the caller sees: its record, then its data. Forbidden
    for a tree's image, another project's, or a protected one."""
    images = registry(request)
    images.check_writable(who(request), image)
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
    if not images.store.remove(image.id):
        raise ItemNotFound(f"No image found with ID {image.id}")
    await asyncio.to_thread(images.files.remove, image.id)


async def add_tag(request: web.Request) -> web.Response:
    return _tags(request, add=True)


async def remove_tag(request: web.Request) -> web.Response:
    return _tags(request, add=False)


def _tags(request: web.Request, add: bool) -> web.Response:
    images, image, tag = registry(request), found(request), request.match_info["tag"]
    images.check_writable(who(request), image)
    if not 1 <= len(tag) <= 255:
        raise BadRequest("A tag is 1 to 255 characters.")
    if not add and tag not in image.tags:
        raise ItemNotFound(f"Tag {tag[:64]} not found for image {image.id}.")
    tags = {*image.tags, tag} if add else set(image.tags) - {tag}
    images.store.update(image.id, tags=sorted(tags))
    return web.Response(status=204)
