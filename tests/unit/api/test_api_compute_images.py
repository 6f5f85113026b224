"""Tests for api.compute.images and api.compute.extensions: bodies in Tempest's schemas."""

from __future__ import annotations

from tempest.lib.api_schema.response.compute.v2_1 import extensions as extensions_schema
from tempest.lib.api_schema.response.compute.v2_1 import images as schema

from api.compute.extensions import EXTENSIONS, extension_body
from api.compute.images import brief, whole
from api.image.store import as_stored
from model.catalog import Image
from tests.unit.api.tree_shapes import validate

BASE = "https://api.example:8774"
IMAGE = as_stored(Image("8d3a5c46-1b6e-4c1f-9a55-0f3f1c2b7e10", "debian-12",
                        "debian-12.qcow2", min_disk=5, min_ram=512))


def test_image_bodies_match_tempests_schema_and_say_active() -> None:
    shown = whole(BASE, IMAGE)
    validate(schema.list_images, {"images": [brief(BASE, IMAGE)]})
    validate(schema.list_images_details, {"images": [shown]})
    validate(schema.get_image, {"image": shown})
    assert (shown["status"], shown["progress"], shown["minDisk"],
            shown["minRam"]) == ("ACTIVE", 100, 5, 512)


def test_the_extension_list_matches_tempests_schema_and_names_what_tempest_looks_up() -> None:
    body = {"extensions": [extension_body(*e) for e in EXTENSIONS]}
    validate(extensions_schema.list_extensions, body)
    assert "Hosts" in {e["name"] for e in body["extensions"]}
    assert "os-consoles" in {e["alias"] for e in body["extensions"]}
    assert len({e[0] for e in EXTENSIONS}) == len(EXTENSIONS)
