"""The image API's routes (Glance v2, under /image) and its registry of
images, set up on the app in one place (api.app calls `setup`)."""

from __future__ import annotations

from aiohttp import web

from api.db.images import ImageStore
from api.image import images, manage, upload
from api.image.files import ImageFiles
from api.image.store import IMAGES, ImageRegistry
from api.state import STATE


def setup(app: web.Application) -> None:
    """The registry (the config's images, the API database's, the image
    directory) and the routes; after the app's state is set."""
    ours = app[STATE]
    app[IMAGES] = ImageRegistry(ours.config.images, ImageStore(ours.db.engine),
                                ImageFiles(ours.config.image_path, ours.config.max_image_size))
    add = app.router
    add.add_get("/image", images.versions)
    add.add_get("/image/", images.versions)
    add.add_get("/image/v2/images", images.index)
    add.add_post("/image/v2/images", manage.create)
    add.add_get("/image/v2/images/{id}", images.show)
    add.add_patch("/image/v2/images/{id}", manage.patch)
    add.add_delete("/image/v2/images/{id}", manage.delete)
    add.add_put("/image/v2/images/{id}/file", upload.put_file)
    add.add_get("/image/v2/images/{id}/file", upload.get_file)
    add.add_put("/image/v2/images/{id}/tags/{tag}", manage.add_tag)
    add.add_delete("/image/v2/images/{id}/tags/{tag}", manage.remove_tag)
