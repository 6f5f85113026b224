"""Every image the API knows, and who may see or change which.

Two kinds, one list:
    the tree's     the catalog's `[[images]]` (configuration, in every cell):
                   public, active, read-only here; what servers boot from
    uploaded       created through the image API (api.db.images, the bytes in
                   api.image.files); kept by the API alone, so no cell has a
                   copy and no server boots from one (api.compute.boot)

Who sees what, as Glance's default policy has it: admins everything; others
their project's images and public ones, in lists and shows; community images
are shown to anyone who asks for one, and listed to others only when a list
asks for community images. There are no image members here, so a shared image
is its owner's alone. Only an image's owner (or an admin) changes it, and
only an admin makes one public.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from api.db.images import ACTIVE, ImageStore, StoredImage
from api.errors import Forbidden
from api.identity.tokens import TokenInfo
from api.image.files import ImageFiles
from model.catalog import Image

# The tree's images are configuration: they have no history of their own.
CREATED = 1767225600.0  # 2026-01-01T00:00:00Z
VISIBILITIES = ("public", "community", "shared", "private")


@dataclass(frozen=True, slots=True)
class ImageRegistry:
    """The tree's images and the uploaded ones. Methods reading the database
    may raise DatabaseUnavailable."""

    tree: Sequence[Image]
    store: ImageStore
    files: ImageFiles

    def tree_image(self, image_id: str) -> Image | None:
        """The tree's image with that id, if it is one."""
        return next((i for i in self.tree if i.id == image_id), None)

    def listed(self, who: TokenInfo, community: bool = False) -> list[StoredImage]:
        """What a list shows `who` (community: also others' community images),
        newest first: the uploaded images, then the tree's."""
        project = None if who.admin else who.project
        uploaded = [i for i in self.store.candidates(project)
                    if who.admin or i.owner == who.project or i.visibility == "public"
                    or (community and i.visibility == "community")]
        return uploaded + [as_stored(i) for i in self.tree]

    def find(self, who: TokenInfo, image_id: str) -> StoredImage | None:
        """The image `image_id` if `who` may see it."""
        tree = self.tree_image(image_id)
        if tree is not None:
            return as_stored(tree)
        found = self.store.get(image_id)
        if found is None or not (who.admin or found.owner == who.project
                                 or found.visibility in ("public", "community")):
            return None
        return found

    def is_uploaded(self, image_id: str) -> bool:
        """Whether `image_id` is an image uploaded here (whoever's): what a server
        create asks before refusing it (api.compute.boot)."""
        return self.store.get(image_id) is not None

    def check_writable(self, who: TokenInfo, image: StoredImage) -> None:
        """Forbidden unless `who` may change or delete `image` (one they see)."""
        if self.tree_image(image.id) is not None:
            raise Forbidden(f"Image {image.id} is one of the tree's images ([[images]] of its"
                            " tree file, in every cell): it is read-only through the API.")
        if not who.admin and image.owner != who.project:
            raise Forbidden(f"Image {image.id} is not your project's: only its owner may"
                            " change or delete it.")

    def check_visibility(self, who: TokenInfo, visibility: str) -> None:
        """Forbidden when `who` may not give an image that visibility."""
        if visibility == "public" and not who.admin:
            raise Forbidden("You are not authorized to complete publicize_image action:"
                            " only admins make images public.")


def as_stored(image: Image) -> StoredImage:
    """A tree's image as an uploaded one is kept: public, active, no owner."""
    return StoredImage(
        id=image.id, name=image.name, owner="", visibility="public", status=ACTIVE,
        disk_format=image.disk_format, container_format="bare", min_disk=image.min_disk,
        min_ram=image.min_ram, created_at=CREATED, updated_at=CREATED)


IMAGES = web.AppKey("cellrouter_images", ImageRegistry)


def registry(request: web.Request) -> ImageRegistry:
    return request.app[IMAGES]
