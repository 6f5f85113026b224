"""An image as Glance v2 shows it: the core attributes, then its extra
properties beside them. Admins also see a tree's image's `cellrouter:source`
(what a leaf boots from: a file path or POOL/VOLUME)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.db.images import StoredImage


def iso_time(moment: float) -> str:
    """A time as Glance and Nova write it: `2026-01-01T00:00:00Z`."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_body(image: StoredImage, source: str | None = None) -> dict[str, Any]:
    """The image's Glance body; `source`, when given, as `cellrouter:source`."""
    doc: dict[str, Any] = dict(image.properties)
    doc.update({
        "id": image.id, "name": image.name, "status": image.status,
        "visibility": image.visibility, "protected": image.protected,
        "os_hidden": image.os_hidden, "disk_format": image.disk_format,
        "container_format": image.container_format, "min_disk": image.min_disk,
        "min_ram": image.min_ram, "size": image.size, "virtual_size": None,
        "checksum": image.checksum,
        "os_hash_algo": "sha512" if image.os_hash_value else None,
        "os_hash_value": image.os_hash_value, "owner": image.owner or None,
        "tags": list(image.tags), "created_at": iso_time(image.created_at),
        "updated_at": iso_time(image.updated_at), "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image"})
    if source is not None:
        doc["cellrouter:source"] = source
    return doc
