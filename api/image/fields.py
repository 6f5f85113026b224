"""What a client may write of an image, checked as Glance's image schema does:
the core attributes it may set, their types and words, and the extra
properties (any other key, a string value). A create's body and a patch's
operations are both checked here, so the two say the same things.

    BadRequest   a value of the wrong type or outside its words
    Forbidden    a read-only attribute (status, size, checksum, ...) or a
                 reserved one, as Glance answers
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from api.errors import BadRequest, Forbidden
from api.image.store import VISIBILITIES

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
READ_ONLY = frozenset({"status", "size", "virtual_size", "checksum", "os_hash_algo",
                       "os_hash_value", "created_at", "updated_at", "self", "file", "schema",
                       "direct_url", "locations", "stores", "os_glance_import_task"})
RESERVED = frozenset({"location", "deleted", "deleted_at", "owner_id"})
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_PROPERTY = 65535
Checker = Callable[[str, Any], Any]  # (key, value) -> the value kept; raises as above


def check_attribute(key: str, value: Any) -> Any:
    """`value` as an image's attribute or property `key` keeps it; BadRequest
    or Forbidden (above) when it may not be written."""
    if key in READ_ONLY:
        raise Forbidden(f"Attribute '{key}' is read-only.")
    if key in RESERVED or key.startswith("os_glance"):
        raise Forbidden(f"Attribute '{key}' is reserved.")
    checker = _CORE.get(key)
    if checker is not None:
        return checker(key, value)
    if not 1 <= len(key) <= 255:
        raise BadRequest("Property names must be 1 to 255 characters.")
    if not isinstance(value, str) or len(value) > MAX_PROPERTY:
        raise BadRequest(f"Invalid value for property '{key}': it must be a string of at most"
                         f" {MAX_PROPERTY} characters.")
    return value


def split(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Checked attributes, apart: the core ones, and the extra properties."""
    core, extra = {}, {}
    for key, value in attributes.items():
        checked = check_attribute(key, value)
        if key in _CORE:
            core[key] = checked
        else:
            extra[key] = checked
    return core, extra


def _text(key: str, value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or len(value) > 255):
        raise BadRequest(f"Invalid value for '{key}': a string of at most 255 characters.")
    return value


def _words(*words: str, null: bool = False) -> Checker:
    def check(key: str, value: Any) -> Any:
        if (value is None and null) or value in words:
            return value
        raise BadRequest(f"Invalid value {str(value)[:64]!r} for '{key}': one of"
                         f" {', '.join(words)}.")
    return check


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise BadRequest(f"Invalid value for '{key}': a non-negative integer.")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid value for '{key}': true or false.")
    return value


def _tags(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
            isinstance(tag, str) and 1 <= len(tag) <= 255 for tag in value):
        raise BadRequest(f"Invalid value for '{key}': a list of strings of 1 to 255"
                         " characters.")
    return value


def _id(key: str, value: Any) -> str:
    if not isinstance(value, str) or not UUID.fullmatch(value):
        raise BadRequest(f"Invalid value for '{key}': a UUID.")
    return value.lower()


_CORE: dict[str, Checker] = {
    "id": _id, "name": _text, "visibility": _words(*VISIBILITIES),
    "disk_format": _words(*DISK_FORMATS, null=True),
    "container_format": _words(*CONTAINER_FORMATS, null=True),
    "min_disk": _count, "min_ram": _count, "protected": _flag, "os_hidden": _flag,
    "tags": _tags, "owner": _text,
}
CORE_ATTRIBUTES = frozenset(_CORE)
