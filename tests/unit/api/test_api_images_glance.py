"""api.image: images created, uploaded, changed and deleted through Glance v2,
with Glance's bodies and codes, beside the tree's read-only images."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api.imageapp import (
    MAX_BODY,
    MAX_IMAGE,
    PATCH,
    TREE_IMAGE,
    ImageCaller,
    image_client,
)

DATA = b"*" * 1024


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ImageCaller]:
    with image_client(tmp_path) as client:
        yield client


def test_a_created_image_is_queued_and_the_callers_projects(api: ImageCaller) -> None:
    status, headers, made = api.image("alice", "POST", "/images",
                                      {"name": "mine", "os_distro": "debian"})
    assert status == 201
    assert (made["status"], made["owner"], made["visibility"], made["os_distro"],
            made["size"], made["checksum"]) == ("queued", "shop", "shared", "debian", None,
                                                None)
    assert headers["Location"].endswith(f"/image/v2/images/{made['id']}")


@pytest.mark.parametrize(("body", "code"), [
    ({"status": "active"}, 403),
    ({"checksum": "0"}, 403),
    ({"deleted": True}, 403),
    ({"disk_format": "floppy"}, 400),
    ({"min_ram": -1}, 400),
    ({"protected": "yes"}, 400),
    ({"id": "not-a-uuid"}, 400),
    ({"os_distro": 7}, 400),
    ({"visibility": "public"}, 403),
    ({"owner": "lab"}, 403),
    ({"id": TREE_IMAGE.id}, 409),
], ids=["status", "checksum", "reserved", "disk-format", "min-ram", "protected", "id",
        "property-type", "public-by-member", "other-owner", "tree-id"])
def test_a_create_is_refused_as_glance_refuses_it(api: ImageCaller, body: dict[str, object],
                                                   code: int) -> None:
    status, _, answer = api.image("alice", "POST", "/images", body)
    assert status == code, answer


def test_an_id_is_taken_once_and_admins_make_public_images(api: ImageCaller) -> None:
    made = api.create("root", visibility="public", id="0b6f3c8e-9d0a-4c55-a1b7-3e2f6d1c9a01")
    assert made["visibility"] == "public"
    status, _, _ = api.image("alice", "POST", "/images", {"id": made["id"]})
    assert status == 409


def test_an_upload_makes_the_image_active_with_its_size_and_digests(
        api: ImageCaller) -> None:
    made = api.create()
    assert api.upload(made["id"], DATA) == 204
    _, _, shown = api.image("alice", "GET", f"/images/{made['id']}")
    assert (shown["status"], shown["size"], shown["checksum"], shown["os_hash_algo"],
            shown["os_hash_value"]) == ("active", 1024, hashlib.md5(DATA).hexdigest(),
                                        "sha512", hashlib.sha512(DATA).hexdigest())
    status, headers, data = api.image("alice", "GET", f"/images/{made['id']}/file")
    assert (status, data, headers["Content-MD5"]) == (200, DATA, shown["checksum"])
    assert api.upload(made["id"], DATA) == 409  # once


def test_an_upload_may_be_larger_than_a_request_body(api: ImageCaller) -> None:
    made = api.create()
    assert api.upload(made["id"], b"x" * (MAX_BODY + 1)) == 204
    assert api.image("alice", "GET", f"/images/{made['id']}")[2]["size"] == MAX_BODY + 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_past_the_limit_is_413_and_leaves_the_image_queued(
        api: ImageCaller, tmp_path: Path, chunked: bool) -> None:
    made = api.create()
    assert api.upload(made["id"], b"x" * (MAX_IMAGE + 1), chunked=chunked) == 413
    _, _, shown = api.image("alice", "GET", f"/images/{made['id']}")
    assert shown["status"] == "queued"
    assert not list(tmp_path.glob("images/*")) and not list(tmp_path.glob("images/.*"))
    assert api.upload(made["id"], DATA) == 204


def test_an_upload_needs_formats_an_owner_and_an_uploaded_image(api: ImageCaller) -> None:
    bare = api.create(disk_format=None)
    assert api.upload(bare["id"], DATA) == 400
    assert api.upload(api.create()["id"], DATA, user="bob") == 404  # not bob's to see
    assert api.upload(TREE_IMAGE.id, DATA) == 403
    status, _, _ = api.image("alice", "GET", f"/images/{TREE_IMAGE.id}/file")
    assert status == 204  # the tree's data is at its leaves


def test_who_sees_which_image(api: ImageCaller) -> None:
    private = api.create()["id"]
    community = api.create(visibility="community")["id"]
    public = api.create("root", visibility="public")["id"]

    def listed(user: str, query: str = "") -> set[str]:
        _, _, body = api.image(user, "GET", f"/images{query}")
        return {i["id"] for i in body["images"]}

    assert listed("alice") == {private, community, public, TREE_IMAGE.id}
    assert listed("bob") == {public, TREE_IMAGE.id}
    assert listed("bob", "?visibility=community") == {community}
    assert listed("root") >= {private, community, public}
    assert api.image("bob", "GET", f"/images/{private}")[0] == 404
    assert api.image("bob", "GET", f"/images/{community}")[0] == 200


def test_list_filters_and_pages_with_a_next_link(api: ImageCaller) -> None:
    ids = [api.create(name=f"img-{n}")["id"] for n in range(3)]
    _, _, named = api.image("alice", "GET", "/images?name=img-1")
    assert [i["id"] for i in named["images"]] == [ids[1]]
    _, _, queued = api.image("alice", "GET", "/images?status=queued")
    assert {i["id"] for i in queued["images"]} == set(ids)
    _, _, first = api.image("alice", "GET", "/images?limit=2")
    assert [i["id"] for i in first["images"]] == [ids[2], ids[1]]  # newest first
    assert first["next"] == f"/v2/images?limit=2&marker={ids[1]}"
    _, _, rest = api.image("alice", "GET", first["next"].removeprefix("/v2"))
    assert [i["id"] for i in rest["images"]] == [ids[0], TREE_IMAGE.id]
    assert "next" not in rest
    assert api.image("alice", "GET", "/images?marker=nothing")[0] == 400


@pytest.mark.parametrize("style", ["v2.1", "v2.0"])
def test_a_patch_changes_attributes_and_properties(api: ImageCaller, style: str) -> None:
    made = api.create(os_distro="debian", gone="soon")
    ops: list[dict[str, object]] = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/os_version", "value": "12"},
        {"op": "remove", "path": "/gone"},
        {"op": "add", "path": "/tags", "value": ["t1"]}]
    content_type = PATCH
    if style == "v2.0":
        ops = [{str(o["op"]): o["path"], **({"value": o["value"]} if "value" in o else {})}
               for o in ops]
        content_type = "application/openstack-images-v2.0-json-patch"
    status, _, after = api.image("alice", "PATCH", f"/images/{made['id']}", ops,
                                 content_type=content_type)
    assert status == 200, after
    assert (after["name"], after["os_version"], after["os_distro"], after["tags"]) == (
        "renamed", "12", "debian", ["t1"])
    assert "gone" not in after


@pytest.mark.parametrize(("ops", "content_type", "code"), [
    ([{"op": "remove", "path": "/missing"}], PATCH, 409),
    ([{"op": "replace", "path": "/missing", "value": "x"}], PATCH, 409),
    ([{"op": "remove", "path": "/name"}], PATCH, 403),
    ([{"op": "replace", "path": "/status", "value": "active"}], PATCH, 403),
    ([{"op": "replace", "path": "/id", "value": "x"}], PATCH, 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], PATCH, 403),
    ([{"op": "move", "path": "/name"}], PATCH, 400),
    ([{"op": "replace", "path": "/a/b", "value": "x"}], PATCH, 400),
    ({"name": "x"}, PATCH, 400),
    ([{"op": "replace", "path": "/name", "value": "x"}], "application/json", 415),
], ids=["remove-missing", "replace-missing", "remove-core", "read-only", "id", "publicize",
        "unknown-op", "deep-path", "not-a-list", "media-type"])
def test_a_patch_is_refused_as_glance_refuses_it(api: ImageCaller, ops: object,
                                                 content_type: str, code: int) -> None:
    made = api.create()
    status, _, answer = api.image("alice", "PATCH", f"/images/{made['id']}", ops,
                                  content_type=content_type)
    assert status == code, answer


def test_tags_are_added_and_removed(api: ImageCaller) -> None:
    image_id = api.create()["id"]
    assert api.image("alice", "PUT", f"/images/{image_id}/tags/web")[0] == 204
    assert api.image("alice", "GET", f"/images/{image_id}")[2]["tags"] == ["web"]
    _, _, tagged = api.image("alice", "GET", "/images?tag=web")
    assert [i["id"] for i in tagged["images"]] == [image_id]
    assert api.image("alice", "DELETE", f"/images/{image_id}/tags/web")[0] == 204
    assert api.image("alice", "DELETE", f"/images/{image_id}/tags/web")[0] == 404


def test_a_delete_removes_the_record_and_the_data(api: ImageCaller, tmp_path: Path) -> None:
    image_id = api.create()["id"]
    api.upload(image_id, DATA)
    assert (tmp_path / "images" / image_id).is_file()
    assert api.image("alice", "DELETE", f"/images/{image_id}")[0] == 204
    assert not (tmp_path / "images" / image_id).exists()
    assert api.image("alice", "GET", f"/images/{image_id}")[0] == 404
    assert api.image("alice", "DELETE", f"/images/{image_id}")[0] == 404


def test_the_tree_images_others_and_protected_ones_are_not_deleted(api: ImageCaller) -> None:
    status, _, answer = api.image("alice", "DELETE", f"/images/{TREE_IMAGE.id}")
    assert status == 403 and "tree's images" in answer["forbidden"]["message"]
    public = api.create("root", visibility="public")["id"]
    assert api.image("alice", "DELETE", f"/images/{public}")[0] == 403
    protected = api.create(protected=True)["id"]
    assert api.image("alice", "DELETE", f"/images/{protected}")[0] == 403
    assert api.image("root", "DELETE", f"/images/{public}")[0] == 204
