"""An instance's attributes and edits survive the wire (cellwire.wire): a key
name kept as a name, as "" (booted without a key pair) or not at all (None:
an instance booted before instances kept it) arrives as it was sent."""

from __future__ import annotations

import pytest

from cellrouter.v1 import cells_pb2 as pb
from cellwire.wire.attributes import (
    attributes_from_pb,
    attributes_to_pb,
    edit_from_pb,
    edit_to_pb,
)
from model.compute import NO_ATTRIBUTES, Attributes
from model.edits import Edit

KEY_NAMES = pytest.mark.parametrize("key_name", [None, "", "mine"], ids=["none", "empty", "name"])


@KEY_NAMES
def test_attributes_keep_the_key_name_through_the_wire(key_name: str | None) -> None:
    sent = Attributes(metadata=(("k", "v"),), reservation_id="r-1", key_name=key_name)
    again = attributes_from_pb(pb.Attributes.FromString(
        attributes_to_pb(sent).SerializeToString()))
    assert again == sent


def test_attributes_without_a_key_name_are_still_none_and_an_empty_one_is_not() -> None:
    assert attributes_from_pb(attributes_to_pb(Attributes())) is NO_ATTRIBUTES
    assert attributes_from_pb(attributes_to_pb(Attributes(key_name=""))) == Attributes(
        key_name="")


@KEY_NAMES
def test_an_edit_keeps_its_key_name_through_the_wire(key_name: str | None) -> None:
    sent = Edit(name="n", key_name=key_name)
    again = edit_from_pb(pb.UpdateRequest.FromString(
        edit_to_pb("u1", sent).SerializeToString()))
    assert again == sent
