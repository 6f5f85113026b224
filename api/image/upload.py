"""An image's data through Glance v2.

    PUT /image/v2/images/{id}/file   application/octet-stream: 204, and the image
                                     is active with the data's size, md5
                                     (`checksum`) and sha512 (`os_hash_value`);
                                     413 past `[api] max_image_size`; 409 unless
                                     the image is queued (one upload per image)
    GET /image/v2/images/{id}/file   the data; 204 when there is none here (an
                                     image not uploaded yet, or one of the
                                     tree's, whose data only its leaves have)

The upload is streamed to disk (api.image.files) as it arrives, never held
in memory, so the request body limit (`max_body`) does not apply to it. While
it runs the image is `saving`; a failed upload puts it back to `queued`. An
API process that stops mid-upload leaves the image `saving`: delete it and
create it again.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.db.images import ACTIVE
from api.errors import BadRequest, Conflict, TooLarge
from api.image.images import found
from api.image.store import registry
from api.state import who

CHUNK = 1 << 18


async def put_file(request: web.Request) -> web.Response:
    images, image = registry(request), found(request)
    images.check_writable(who(request), image)
    if not image.disk_format or not image.container_format:
        raise BadRequest("Properties disk_format, container_format must be set prior to"
                         " saving data.")
    length = request.content_length
    if length is not None and length > images.files.max_size:
        raise TooLarge(f"Image data of {length} bytes is larger than this cloud's limit of"
                       f" {images.files.max_size} bytes ([api] max_image_size).")
    if not images.store.begin_upload(image.id):
        raise Conflict(f"Image status transition from {image.status} to saving is not"
                       " allowed: data is uploaded once, to a queued image.")
    try:
        data = await images.files.receive(image.id, request.content.iter_chunked(CHUNK))
    except BaseException:  # cancelled too (the client went away): queued again
        images.store.abort_upload(image.id)
        raise
    if not images.store.finish_upload(image.id, data):  # deleted meanwhile
        await asyncio.to_thread(images.files.remove, image.id)
        raise Conflict(f"Image {image.id} was deleted while its data was being uploaded.")
    return web.Response(status=204)


async def get_file(request: web.Request) -> web.StreamResponse:
    images, image = registry(request), found(request)
    if image.status != ACTIVE or images.tree_image(image.id) is not None:
        return web.Response(status=204)
    headers = {"Content-Type": "application/octet-stream"}
    if image.checksum:
        headers["Content-MD5"] = image.checksum
    return web.FileResponse(images.files.path(image.id), chunk_size=CHUNK,
                            headers=headers)
