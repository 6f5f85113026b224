"""An instance's attributes and the edits of them on the wire
(`model.compute.Attributes`, `model.edits.Edit`)."""

from __future__ import annotations

from cellrouter.v1 import cells_pb2 as pb
from model.compute import NO_ATTRIBUTES, Attributes
from model.edits import Edit


def attributes_to_pb(a: Attributes) -> pb.Attributes:
    return pb.Attributes(
        description=a.description, metadata=dict(a.metadata), tags=list(a.tags),
        locked=a.locked, locked_reason=a.locked_reason,
        access_ipv4=a.access_ipv4, access_ipv6=a.access_ipv6, reservation_id=a.reservation_id,
        reset_to_error=a.reset_to_error, key_name=a.key_name,  # None: the field is absent
    )


def attributes_from_pb(m: pb.Attributes) -> Attributes:
    made = Attributes(
        description=m.description, metadata=tuple(sorted(m.metadata.items())),
        tags=tuple(sorted(set(m.tags))), locked=m.locked, locked_reason=m.locked_reason,
        access_ipv4=m.access_ipv4, access_ipv6=m.access_ipv6, reservation_id=m.reservation_id,
        reset_to_error=m.reset_to_error,
        key_name=m.key_name if m.HasField("key_name") else None,
    )
    return NO_ATTRIBUTES if made == NO_ATTRIBUTES else made


def edit_to_pb(uuid: str, e: Edit) -> pb.UpdateRequest:
    m = pb.UpdateRequest(
        uuid=uuid, metadata=dict(e.metadata), metadata_removed=list(e.metadata_removed),
        metadata_replaced=e.metadata_replaced, tags=list(e.tags),
        tags_removed=list(e.tags_removed), tags_replaced=e.tags_replaced,
    )
    for field in ("name", "description", "access_ipv4", "access_ipv6", "locked",
                  "locked_reason", "reset_to_error", "key_name"):
        value = getattr(e, field)
        if value is not None:
            setattr(m, field, value)
    return m


def edit_from_pb(m: pb.UpdateRequest) -> Edit:
    """The edit as sent, unchecked: `model.edits.check` decides if it fits."""
    def optional(field: str) -> str | None:
        return str(getattr(m, field)) if m.HasField(field) else None

    return Edit(
        name=optional("name"), description=optional("description"),
        access_ipv4=optional("access_ipv4"), access_ipv6=optional("access_ipv6"),
        metadata=tuple(sorted(m.metadata.items())),
        metadata_removed=tuple(m.metadata_removed), metadata_replaced=m.metadata_replaced,
        tags=tuple(m.tags), tags_removed=tuple(m.tags_removed),
        tags_replaced=m.tags_replaced,
        locked=m.locked if m.HasField("locked") else None,
        locked_reason=optional("locked_reason"),
        reset_to_error=m.reset_to_error if m.HasField("reset_to_error") else None,
        key_name=optional("key_name"),
    )
