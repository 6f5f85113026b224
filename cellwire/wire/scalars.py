"""Conversions every domain shares: resources, and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from cellrouter.v1 import cells_pb2 as pb
from model.compute import Resources


def resources_to_pb(r: Resources) -> pb.Flavor:
    return pb.Flavor(vcpus=r.vcpus, memory_mb=r.memory_mb, disk_gb=r.disk_gb)


def resources_from_pb(f: pb.Flavor) -> Resources:
    return Resources(f.vcpus, f.memory_mb, f.disk_gb)


# Lists carry thousands of instances through every level, so the timestamp
# conversions below (and the enum ones of `compute`) avoid the slower generic
# helpers.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_to_pb(when: datetime | None) -> Timestamp | None:
    if when is None:
        return None
    delta = when - EPOCH if when.tzinfo else when.replace(tzinfo=UTC) - EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return Timestamp(seconds=seconds, nanos=delta.microseconds * 1000)


def time_from_pb(msg: pb.Instance | pb.CellNode | pb.AgentInfo, name: str) -> datetime | None:
    """The time in field `name` of `msg`; None when the field is not set."""
    if not msg.HasField(name):
        return None
    stamp: Timestamp = getattr(msg, name)
    return EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
