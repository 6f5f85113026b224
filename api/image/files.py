"""The bytes of images uploaded through the image API: one file per image in
a directory of the API's (`[api] image_dir`), each at most `max_image_size`.

An upload is written to a file of its own beside the others and renamed to
the image's name only once all of it is in, so a file named after an image is
always whole; a failed upload leaves nothing behind. These files are this API
process's: several API processes sharing one database must share the
directory too. The tree's cells never see them (an uploaded image cannot boot
a server: api.compute.boot).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

from api.db.images import Uploaded
from api.errors import TooLarge


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


class ImageFiles:
    """The image directory. Methods that touch the disk may raise OSError."""

    def __init__(self, directory: Path, max_size: int) -> None:
        self.directory = directory
        self.max_size = max_size

    def path(self, image_id: str) -> Path:
        """Where an image's data is once uploaded (ids are uuids or Glance's
        id pattern: checked by the caller, never a path)."""
        return self.directory / image_id

    async def receive(self, image_id: str, chunks: AsyncIterator[bytes]) -> Uploaded:
        """Write `chunks` as the image's data, with its size and digests; TooLarge
        (nothing kept) past max_size. The file appears whole or not at all."""
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        partial = self.directory / f".{image_id}.{uuid.uuid4().hex}.part"
        md5, sha512, size = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0
        try:
            with partial.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_size:
                        raise TooLarge(f"Image data is larger than this cloud's limit of"
                                       f" {self.max_size} bytes ([api] max_image_size).")
                    await asyncio.to_thread(_write, out, chunk, md5, sha512)
            await asyncio.to_thread(os.replace, partial, self.path(image_id))
        finally:
            partial.unlink(missing_ok=True)
        return Uploaded(size, md5.hexdigest(), sha512.hexdigest())

    def remove(self, image_id: str) -> None:
        """Delete an image's data, if there is any."""
        self.path(image_id).unlink(missing_ok=True)


def _write(out: BinaryIO, chunk: bytes, *digests: _Digest) -> None:
    out.write(chunk)
    for digest in digests:
        digest.update(chunk)
