"""Images created through the image API: their records, properties and tags.

The bytes of an image are not here (api.image.files keeps them); a record
says whether they are in (status active, with their size and digests).
Status moves queued -> saving -> active, and back to queued when an upload
fails; only those moves are made here, each one conditional on the status it
leaves, so two uploads of one image cannot both begin.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from api.db import tables
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction

t, props, tags_t = tables.images, tables.image_properties, tables.image_tags
_COLUMNS = tuple(c.name for c in t.columns)
QUEUED, SAVING, ACTIVE = "queued", "saving", "active"
# The columns a caller may change through `update` (not status, size, digests).
EDITABLE = frozenset({"name", "visibility", "disk_format", "container_format", "min_disk",
                      "min_ram", "protected", "os_hidden", "owner"})


@dataclass(frozen=True, slots=True)
class StoredImage:
    id: str
    owner: str
    visibility: str
    name: str | None = None
    status: str = QUEUED
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    os_hidden: bool = False
    size: int | None = None
    checksum: str | None = None
    os_hash_value: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    properties: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Uploaded:
    """What an upload brought in: its size and digests (md5, sha512 in hex)."""

    size: int
    checksum: str
    os_hash_value: str


class ImageExists(Exception):
    """An image with that id is stored already."""


class ImageStore:
    """The images tables. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, image: StoredImage) -> StoredImage:
        """Store a new image (its created_at and updated_at are now); ImageExists
        for an id taken."""
        now = time.time()
        row = {c: getattr(image, c) for c in _COLUMNS}
        row["created_at"] = row["updated_at"] = now
        try:
            with transaction(self.engine, "images") as conn:
                conn.execute(insert(t).values(row))
                _put_properties(conn, image.id, image.properties)
                _put_tags(conn, image.id, image.tags)
        except DatabaseUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise ImageExists(image.id) from None
            raise
        return self.get(image.id) or image

    def get(self, image_id: str) -> StoredImage | None:
        with transaction(self.engine, "images") as conn:
            row = conn.execute(select(t).where(t.c.id == image_id)).first()
            return _image(conn, row._mapping) if row else None

    def candidates(self, project: str | None) -> list[StoredImage]:
        """Newest first: every image (`project` None), else the project's own and
        the public and community ones (who may see which is the caller's rule)."""
        query = select(t).order_by(t.c.created_at.desc(), t.c.id)
        if project is not None:
            query = query.where(or_(t.c.owner == project,
                                    t.c.visibility.in_(("public", "community"))))
        with transaction(self.engine, "images") as conn:
            rows = [r._mapping for r in conn.execute(query)]
            properties, tags = _extras(conn, [r["id"] for r in rows])
        return [_stored(r, properties.get(r["id"], {}), tags.get(r["id"], ()))
                for r in rows]

    def update(self, image_id: str, columns: Mapping[str, Any] | None = None,
               set_properties: Mapping[str, str] | None = None,
               remove_properties: Iterable[str] = (), purge_properties: bool = False,
               tags: Sequence[str] | None = None) -> StoredImage | None:
        """Change an image in one transaction: `columns` (of EDITABLE; ValueError
        for another), properties set and removed (all of them first when
        `purge_properties`), its tags replaced when given. The image after, or
        None when there is none."""
        values = dict(columns or {})
        if set(values) - EDITABLE:
            raise ValueError(f"not editable: {', '.join(sorted(set(values) - EDITABLE))}")
        values["updated_at"] = time.time()
        with transaction(self.engine, "images") as conn:
            if not conn.execute(update(t).where(t.c.id == image_id).values(values)).rowcount:
                return None
            doomed = props.c.image_id == image_id
            if not purge_properties:
                doomed = doomed & props.c.key.in_([*remove_properties, *(set_properties or {})])
            conn.execute(delete(props).where(doomed))
            _put_properties(conn, image_id, set_properties or {})
            if tags is not None:
                conn.execute(delete(tags_t).where(tags_t.c.image_id == image_id))
                _put_tags(conn, image_id, tags)
            row = conn.execute(select(t).where(t.c.id == image_id)).first()
            return _image(conn, row._mapping) if row else None

    def begin_upload(self, image_id: str) -> bool:
        """queued -> saving; False when the image is not queued (or not there)."""
        return self._move(image_id, QUEUED, {"status": SAVING})

    def finish_upload(self, image_id: str, data: Uploaded) -> bool:
        """saving -> active with the data's size and digests; False when the image
        is no longer saving (deleted meanwhile)."""
        return self._move(image_id, SAVING, {
            "status": ACTIVE, "size": data.size, "checksum": data.checksum,
            "os_hash_value": data.os_hash_value})

    def abort_upload(self, image_id: str) -> None:
        """saving -> queued, after an upload that failed."""
        self._move(image_id, SAVING, {"status": QUEUED})

    def _move(self, image_id: str, leaving: str, values: dict[str, Any]) -> bool:
        values["updated_at"] = time.time()
        with transaction(self.engine, "images") as conn:
            done = conn.execute(update(t).where(t.c.id == image_id, t.c.status == leaving)
                                .values(values))
        return bool(done.rowcount)

    def remove(self, image_id: str) -> bool:
        """Delete an image's record; whether there was one."""
        with transaction(self.engine, "images") as conn:
            conn.execute(delete(props).where(props.c.image_id == image_id))
            conn.execute(delete(tags_t).where(tags_t.c.image_id == image_id))
            done = conn.execute(delete(t).where(t.c.id == image_id))
        return bool(done.rowcount)


def _put_properties(conn: Connection, image_id: str, properties: Mapping[str, str]) -> None:
    if properties:
        conn.execute(insert(props), [{"image_id": image_id, "key": k, "value": v}
                                     for k, v in properties.items()])


def _put_tags(conn: Connection, image_id: str, tags: Iterable[str]) -> None:
    unique = sorted(set(tags))
    if unique:
        conn.execute(insert(tags_t), [{"image_id": image_id, "tag": tag} for tag in unique])


def _image(conn: Connection, row: RowMapping) -> StoredImage:
    properties, tags = _extras(conn, [row["id"]])
    return _stored(row, properties.get(row["id"], {}), tags.get(row["id"], ()))


def _extras(conn: Connection, ids: Sequence[str]) -> tuple[dict[str, dict[str, str]],
                                                           dict[str, tuple[str, ...]]]:
    """The properties and the tags (sorted) of the images `ids`, by id."""
    properties: dict[str, dict[str, str]] = {}
    tags: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):  # bound the IN list
        some = ids[start:start + 500]
        for image_id, key, value in conn.execute(
                select(props.c.image_id, props.c.key, props.c.value)
                .where(props.c.image_id.in_(some))):
            properties.setdefault(image_id, {})[key] = value
        for image_id, tag in conn.execute(select(tags_t.c.image_id, tags_t.c.tag)
                                          .where(tags_t.c.image_id.in_(some))
                                          .order_by(tags_t.c.tag)):
            tags.setdefault(image_id, []).append(tag)
    return properties, {k: tuple(v) for k, v in tags.items()}


def _stored(row: RowMapping, properties: Mapping[str, str],
            tags: tuple[str, ...]) -> StoredImage:
    return StoredImage(**{c: row[c] for c in _COLUMNS}, properties=dict(properties),
                       tags=tags)
