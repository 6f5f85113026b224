"""A change of an instance's name and attributes (`model.compute.Attributes`),
applied at its leaf in one step: `PUT /servers/{id}`, the server's metadata
and tags, lock and unlock, a rebuild's key name.

An edit says what to change, never the whole result, so two edits sent at
once both land (two metadata keys set by two clients are both kept), and
each is idempotent: sent again, it gives the same result. Removing a key or
a tag that is not there is no change (the API answers 404 for it first).
`check` refuses what no leaf keeps (the limits below); `apply` never fails.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from model.compute import Attributes
from model.errors import InvalidArgument

# What a leaf keeps at most (Nova's own bounds: the metadata_items quota's
# default, its column sizes, its tag rules). The API refuses beyond them
# with Nova's codes first; a leaf refuses whatever reaches it anyway.
MAX_METADATA_ITEMS = 128
MAX_KEY = 255
MAX_VALUE = 255
MAX_TAGS = 50
MAX_TAG = 60
MAX_NAME = 255
MAX_DESCRIPTION = 255
MAX_REASON = 255
MAX_KEY_NAME = 255


@dataclass(frozen=True, slots=True)
class Edit:
    """None (or empty) leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    access_ipv4: str | None = None
    access_ipv6: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()  # keys set to these values
    metadata_removed: tuple[str, ...] = ()
    metadata_replaced: bool = False  # the metadata becomes exactly `metadata`
    tags: tuple[str, ...] = ()  # tags added
    tags_removed: tuple[str, ...] = ()
    tags_replaced: bool = False  # the tags become exactly `tags`
    locked: bool | None = None
    locked_reason: str | None = None  # kept while locked; cleared by an unlock
    reset_to_error: bool | None = None
    key_name: str | None = None  # "": no key pair


def check(edit: Edit) -> Edit:
    """`edit` when every value fits what a leaf keeps; InvalidArgument otherwise."""
    _bounded("name", edit.name, MAX_NAME)
    _bounded("description", edit.description, MAX_DESCRIPTION)
    _bounded("locked_reason", edit.locked_reason, MAX_REASON)
    _bounded("key_name", edit.key_name, MAX_KEY_NAME)
    for key, value in edit.metadata:
        if not key or len(key) > MAX_KEY:
            raise InvalidArgument(f"a metadata key must have 1 to {MAX_KEY} characters")
        _bounded(f"metadata value of {key[:64]}", value, MAX_VALUE)
    for tag in edit.tags:
        check_tag(tag)
    return edit


def check_tag(tag: str) -> str:
    if not tag or len(tag) > MAX_TAG or "/" in tag or "," in tag:
        raise InvalidArgument(f"a tag must have 1 to {MAX_TAG} characters and no '/' or ','"
                              f" (got {tag[:64]!r})")
    return tag


def _bounded(what: str, value: str | None, most: int) -> None:
    if value is not None and len(value) > most:
        raise InvalidArgument(f"{what} is longer than {most} characters")


def apply(name: str, attributes: Attributes, edit: Edit) -> tuple[str, Attributes]:
    """The name and attributes after `edit`. InvalidArgument when the result
    would hold more metadata items or tags than a leaf keeps."""
    metadata = {} if edit.metadata_replaced else dict(attributes.metadata)
    for key in edit.metadata_removed:
        metadata.pop(key, None)
    metadata.update(edit.metadata)
    tags = set() if edit.tags_replaced else set(attributes.tags)
    tags.difference_update(edit.tags_removed)
    tags.update(edit.tags)
    if len(metadata) > MAX_METADATA_ITEMS:
        raise InvalidArgument(f"an instance keeps at most {MAX_METADATA_ITEMS} metadata items")
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(f"an instance keeps at most {MAX_TAGS} tags")
    locked = attributes.locked if edit.locked is None else edit.locked
    reason = attributes.locked_reason if edit.locked_reason is None else edit.locked_reason
    changed = replace(
        attributes,
        description=_or(edit.description, attributes.description),
        access_ipv4=_or(edit.access_ipv4, attributes.access_ipv4),
        access_ipv6=_or(edit.access_ipv6, attributes.access_ipv6),
        metadata=tuple(sorted(metadata.items())),
        tags=tuple(sorted(tags)),
        locked=locked,
        locked_reason=reason if locked else "",
        reset_to_error=(attributes.reset_to_error if edit.reset_to_error is None
                        else edit.reset_to_error),
        key_name=attributes.key_name if edit.key_name is None else edit.key_name,
    )
    return _or(edit.name, name), changed


def _or(new: str | None, old: str) -> str:
    return old if new is None else new
