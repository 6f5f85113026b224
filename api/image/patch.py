"""Glance's image updates: a JSON patch read and applied to an image's
writable parts (its core attributes, tags and properties), as Glance does.

Two media types say the same operations:
    application/openstack-images-v2.1-json-patch  [{"op": "replace", "path": "/name", "value": V}]
    application/openstack-images-v2.0-json-patch  [{"replace": "/name", "value": V}]
(openstacksdk sends the first, Tempest the second). Paths are one level, as
Glance's: /KEY, with `~1` for a `/` in KEY and `~0` for a `~`.

    add      sets KEY, whether it was there or not
    replace  sets KEY, which must be there (409 for a property that is not)
    remove   removes a property or a tag list's content (409 for a property
             that is not there; 403 for a core attribute)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.db.images import StoredImage
from api.errors import ApiError, BadRequest, Conflict, Forbidden
from api.image.fields import CORE_ATTRIBUTES, check_attribute

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
OPS = ("add", "replace", "remove")
# The core attributes a patch may change (id never; owner by admins: manage).
WRITABLE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram",
        "protected", "os_hidden", "owner")


class UnsupportedMediaType(ApiError):
    status, fault = 415, "badMediaType"


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    key: str
    value: Any = None


@dataclass(slots=True)
class Changes:
    """An image's writable parts as a patch leaves them."""

    columns: dict[str, Any]
    properties: dict[str, str]
    tags: list[str]
    touched: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, image: StoredImage) -> Changes:
        return cls({k: getattr(image, k) for k in WRITABLE}, dict(image.properties),
                   list(image.tags))


def operations(media_type: str, body: Any) -> list[Operation]:
    """The operations of a patch body; UnsupportedMediaType for another type,
    BadRequest for a body that is not a list of operations."""
    if media_type not in (V21, V20):
        raise UnsupportedMediaType(f"Unsupported Content-Type {media_type[:64]!r}: image"
                                   f" updates are JSON patches ({V21}).")
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_operation(entry, media_type == V21) for entry in body]


def _operation(entry: Any, v21: bool) -> Operation:
    if not isinstance(entry, dict):
        raise BadRequest("Operations must be JSON objects.")
    if v21:
        op, path = entry.get("op"), entry.get("path")
    else:
        found = [op for op in OPS if op in entry]
        op, path = (found[0], entry[found[0]]) if len(found) == 1 else (None, None)
    if op not in OPS:
        raise BadRequest(f"Operations must contain exactly one of {', '.join(OPS)}.")
    if not isinstance(path, str) or not path.startswith("/") or "/" in path[1:]:
        raise BadRequest(f"Invalid JSON pointer for this resource: {str(path)[:64]!r}")
    if op != "remove" and "value" not in entry:
        raise BadRequest(f"Operation '{op}' needs a value.")
    key = path[1:].replace("~1", "/").replace("~0", "~")
    return Operation(op, key, entry.get("value"))


def apply(image: StoredImage, ops: list[Operation]) -> Changes:
    """The image's writable parts after `ops`; BadRequest, Forbidden or
    Conflict (above) for an operation Glance refuses."""
    changes = Changes.of(image)
    for operation in ops:
        _apply(changes, operation)
    return changes


def _apply(changes: Changes, operation: Operation) -> None:
    op, key = operation.op, operation.key
    if key == "id":
        raise Forbidden("Attribute 'id' is read-only.")
    if key == "tags":
        changes.tags = [] if op == "remove" else check_attribute(key, operation.value)
        return
    if op == "remove":
        if key in CORE_ATTRIBUTES:
            raise Forbidden(f"Attribute '{key}' cannot be removed.")
        check_attribute(key, "")  # read-only and reserved names stay refused
        if changes.properties.pop(key, None) is None:
            raise Conflict(f"Property {key[:64]} does not exist.")
        return
    value = check_attribute(key, operation.value)
    if key in WRITABLE:
        changes.columns[key] = value
        changes.touched.add(key)
    elif op == "replace" and key not in changes.properties:
        raise Conflict(f"Property {key[:64]} does not exist.")
    else:
        changes.properties[key] = value


def property_changes(before: Mapping[str, str],
                     after: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """What to set and what to remove to make `before` into `after`."""
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    return changed, [k for k in before if k not in after]
