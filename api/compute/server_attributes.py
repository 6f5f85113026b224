"""What a user sets on a server beside its guest, read from Nova's bodies:
name, description (2.19), accessIPv4/accessIPv6, metadata and tags (2.26).
Every reader answers 400 with Nova's words for a value Nova refuses, and
turns a good one into the tree's terms (`model.compute.Attributes`,
`model.edits.Edit`): the leaf keeps them (cells.attributes).

    metadata   an object of up to the project's metadata_items (128) string
               keys of 1-255 characters to strings of up to 255; more items
               than the quota is 403, as Nova answers
    tags       up to 50 strings of 1-60 characters, without '/' or ','
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

from api.errors import BadRequest, Forbidden
from api.microversion import Version
from model import edits
from model.compute import Attributes
from model.errors import InvalidArgument

DESCRIPTION = Version(2, 19)  # servers have a description
TAGS = Version(2, 26)         # servers have tags


def name_of(value: Any) -> str:
    """A server name as Nova takes it: 1-255 characters, not only spaces, none at the ends."""
    if (not isinstance(value, str) or not value.strip() or len(value) > edits.MAX_NAME
            or value != value.strip()):
        raise BadRequest("Invalid input for field/attribute name: it must be a string of 1"
                         " to 255 characters without leading or trailing spaces.")
    return value


def description_of(value: Any) -> str:
    """A description: a string of up to 255 characters, or null (none)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > edits.MAX_DESCRIPTION:
        raise BadRequest("Invalid input for field/attribute description: it must be null or"
                         " a string of up to 255 characters.")
    return value


def address_of(key: str, value: Any, version: int) -> str:
    """accessIPv4 (version 4) or accessIPv6 (6): an address of that version, or ""."""
    if value is None or value == "":
        return ""
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise BadRequest(f"Invalid input for field/attribute {key}: {str(value)[:64]!r} is not"
                         f" an IPv{version} address.")
    return str(address)


def metadata_of(value: Any, limit: int) -> tuple[tuple[str, str], ...]:
    """Metadata items from a body's object; 403 past the project's `limit` (-1: none)."""
    if not isinstance(value, dict):
        raise BadRequest("Invalid input for field/attribute metadata: it must be an object.")
    items = []
    for key, item in value.items():
        if not isinstance(item, str):
            raise BadRequest(f"Invalid input for field/attribute metadata: the value of"
                             f" {key[:64]!r} must be a string.")
        try:
            edits.check(edits.Edit(metadata=((key, item),)))
        except InvalidArgument as exc:
            raise BadRequest(f"Invalid input for field/attribute metadata: {exc.message}.")\
                from None
        items.append((key, item))
    check_items(len(items), limit)
    return tuple(sorted(items))


def check_items(count: int, limit: int) -> None:
    """403, as Nova, when `count` metadata items pass the project's quota."""
    if 0 <= limit < count or count > edits.MAX_METADATA_ITEMS:
        raise Forbidden(f"Quota exceeded for metadata_items: {count} items asked, the limit"
                        f" is {min(limit, edits.MAX_METADATA_ITEMS) if limit >= 0 else 128}.")


def tags_of(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > edits.MAX_TAGS:
        raise BadRequest(f"Invalid input for field/attribute tags: it must be a list of at"
                         f" most {edits.MAX_TAGS} tags.")
    return tuple(sorted({tag_of(tag) for tag in value}))


def tag_of(value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise InvalidArgument("a tag must be a string")
        return edits.check_tag(value)
    except InvalidArgument as exc:
        raise BadRequest(f"Invalid tag: {exc.message}.") from None


def at_create(server: Mapping[str, Any], version: Version, limit: int,
              key: str) -> Attributes:
    """What a create body sets besides the guest; `key` is the create's
    idempotency key, from which its reservation id is made (the same on a retry)."""
    if "description" in server and version < DESCRIPTION:
        raise BadRequest("Invalid input: 'description' needs microversion 2.19 or later.")
    tags = server.get("tags", [])
    if tags and version < Version(2, 52):
        raise BadRequest("Invalid input: 'tags' at create need microversion 2.52 or later.")
    return Attributes(
        description=description_of(server.get("description")),
        metadata=metadata_of(server.get("metadata", {}), limit),
        tags=tags_of(tags),
        access_ipv4=address_of("accessIPv4", server.get("accessIPv4"), 4),
        access_ipv6=address_of("accessIPv6", server.get("accessIPv6"), 6),
        reservation_id=reservation_id(key),
    )


def reservation_id(key: str) -> str:
    """Nova's r-XXXXXXXX, made from the create's key."""
    return "r-" + hashlib.sha256(key.encode()).hexdigest()[:8]
