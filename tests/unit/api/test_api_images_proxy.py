"""api.compute.images: the image API's images through Nova's proxy, in
Tempest's schemas: lists merging the tree's images with uploaded ones, the
filters Tempest uses, metadata writes with Nova's 404s and 403s, deletes;
and a server create refused for an uploaded image."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.compute.boot import boot_specs
from api.config import ApiConfig
from api.errors import BadRequest
from api.identity.tokens import TokenInfo
from tests.unit.api.apiapp import FLAVORS, USERS, check
from tests.unit.api.imageapp import TREE_IMAGE, ImageCaller, image_client

DATA = b"*" * 1024


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ImageCaller]:
    with image_client(tmp_path) as client:
        yield client


def active(api: ImageCaller, **attributes: object) -> str:
    image_id = str(api.create(**attributes)["id"])
    assert api.upload(image_id, DATA) == 204
    return image_id


def test_lists_merge_the_tree_images_with_uploaded_ones_in_tempests_schemas(
        api: ImageCaller) -> None:
    queued, done = api.create()["id"], active(api, os_distro="debian")
    status, brief = api.call("alice", "GET", "/images")
    check("v2_1.images", "list_images", status, brief)
    assert [i["id"] for i in brief["images"]] == [done, queued, TREE_IMAGE.id]
    status, detail = api.call("alice", "GET", "/images/detail")
    check("v2_1.images", "list_images_details", status, detail)
    shown = {i["id"]: i for i in detail["images"]}
    assert (shown[queued]["status"], shown[queued]["progress"]) == ("SAVING", 25)
    assert (shown[done]["status"], shown[done]["metadata"],
            shown[done]["OS-EXT-IMG-SIZE:size"]) == ("ACTIVE", {"os_distro": "debian"}, 1024)
    assert shown[TREE_IMAGE.id]["status"] == "ACTIVE"
    assert api.call("bob", "GET", f"/images/{done}")[0] == 404  # alice's, private


def test_the_filters_tempest_uses(api: ImageCaller) -> None:
    first = active(api, name="first")
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    second = active(api, name="second", instance_uuid="9a0c", image_type="snapshot")

    def ids(query: str) -> list[str]:
        status, body = api.call("alice", "GET", f"/images{query}")
        assert status == 200, body
        return [i["id"] for i in body["images"]]

    assert ids("?name=first") == [first]
    hidden = active(api, name="hidden", os_hidden=True)
    assert hidden not in ids("")
    assert set(ids("?status=ACTIVE")) == {first, second, TREE_IMAGE.id}
    assert ids("?server=https://api.example/v2.1/servers/9a0c") == [second]
    assert ids("?type=snapshot") == [second]
    assert second in ids(f"?changes-since={before}")
    assert TREE_IMAGE.id not in ids(f"?changes-since={before}")
    assert ids("?limit=1") == [second]
    assert ids(f"?marker={second}&limit=1") == [first]
    _, body = api.call("alice", "GET", "/images?limit=1")
    assert body["images_links"][0]["rel"] == "next"
    assert api.call("alice", "GET", "/images?changes-since=yesterday")[0] == 400


def test_metadata_is_set_updated_and_deleted_as_nova_answers(api: ImageCaller) -> None:
    image_id = active(api)
    path = f"/images/{image_id}/metadata"
    status, body = api.call("alice", "PUT", path, {"metadata": {"a": "1", "b": "2"}})
    check("v2_1.images", "image_metadata", status, body)
    assert body == {"metadata": {"a": "1", "b": "2"}}
    status, body = api.call("alice", "POST", path, {"metadata": {"b": "3", "c": "4"}})
    assert body == {"metadata": {"a": "1", "b": "3", "c": "4"}}
    status, body = api.call("alice", "PUT", f"{path}/a", {"meta": {"a": "9"}})
    check("v2_1.images", "image_meta_item", status, body)
    status, body = api.call("alice", "GET", f"{path}/a")
    check("v2_1.images", "image_meta_item", status, body)
    assert body == {"meta": {"a": "9"}}
    status, _ = api.call("alice", "DELETE", f"{path}/b")
    check("v2_1.images", "delete", status, None)
    assert api.call("alice", "GET", path)[1] == {"metadata": {"a": "9", "c": "4"}}
    status, body = api.call("alice", "PUT", path, {"metadata": {"only": "x"}})
    assert body == {"metadata": {"only": "x"}}


@pytest.mark.parametrize(("method", "suffix", "body", "code"), [
    ("GET", "/metadata", None, 404),
    ("PUT", "/metadata", {"metadata": {"a": "1"}}, 404),
    ("POST", "/metadata", {"metadata": {"a": "1"}}, 404),
    ("GET", "/metadata/a", None, 404),
    ("PUT", "/metadata/a", {"meta": {"a": "1"}}, 404),
    ("DELETE", "/metadata/a", None, 404),
    ("DELETE", "", None, 404),
], ids=["list", "set", "update", "show-item", "set-item", "delete-item", "delete"])
def test_a_missing_image_is_404(api: ImageCaller, method: str, suffix: str,
                                body: object, code: int) -> None:
    status, _ = api.call("alice", method, f"/images/5b2d7e6a-0000-4000-8000-000000000000"
                                          f"{suffix}", body)
    assert status == code


@pytest.mark.parametrize(("method", "suffix", "body", "code"), [
    ("GET", "/metadata/missing", None, 404),
    ("DELETE", "/metadata/missing", None, 404),
    ("PUT", "/metadata/a", {"meta": {"b": "1"}}, 400),
    ("PUT", "/metadata/a", {"meta": {"a": "1", "b": "2"}}, 400),
    ("PUT", "/metadata", {"metadata": {"name": "x"}}, 400),
    ("PUT", "/metadata", {"metadata": {"a": 1}}, 400),
    ("PUT", "/metadata", {"metadata": {f"k{n}": "v" for n in range(129)}}, 403),
    ("PUT", "/metadata", {"meta": {}}, 400),
], ids=["show-missing", "delete-missing", "mismatch", "too-many", "attribute", "not-string",
        "quota", "no-metadata"])
def test_metadata_writes_refused_as_nova_refuses_them(
        api: ImageCaller, method: str, suffix: str, body: object, code: int) -> None:
    image_id = active(api)
    status, answer = api.call("alice", method, f"/images/{image_id}{suffix}", body)
    assert status == code, answer


def test_the_tree_images_and_others_are_read_only(api: ImageCaller) -> None:
    status, body = api.call("alice", "PUT", f"/images/{TREE_IMAGE.id}/metadata",
                            {"metadata": {"a": "1"}})
    assert status == 403 and "read-only" in body["forbidden"]["message"]
    assert api.call("alice", "DELETE", f"/images/{TREE_IMAGE.id}")[0] == 403
    assert api.call("alice", "GET", f"/images/{TREE_IMAGE.id}/metadata")[1] == {
        "metadata": {}}
    public = active(api, visibility="community")
    assert api.call("bob", "POST", f"/images/{public}/metadata",
                    {"metadata": {"a": "1"}})[0] == 403


def test_a_delete_through_the_proxy_deletes_the_image(api: ImageCaller) -> None:
    image_id = active(api)
    status, _ = api.call("alice", "DELETE", f"/images/{image_id}")
    check("v2_1.images", "delete", status, None)
    assert api.call("alice", "GET", f"/images/{image_id}")[0] == 404


def test_the_proxy_is_gone_from_2_36(api: ImageCaller) -> None:
    assert api.call("alice", "GET", "/images", version="2.36")[0] == 404
    assert api.call("alice", "GET", f"/images/{TREE_IMAGE.id}", version="2.36")[0] == 404


def test_a_server_create_naming_an_uploaded_image_says_it_has_no_copy_in_the_cells() -> None:
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1", flavors=FLAVORS,
                       images=(TREE_IMAGE,))
    body = {"server": {"name": "s", "flavorRef": "small", "imageRef": "up-1"}}
    with pytest.raises(BadRequest, match="no copy in the tree's cells"):
        boot_specs(body, config, _alice(), "req-1", uploaded=lambda i: i == "up-1")
    with pytest.raises(BadRequest, match="could not be found among the tree's images"):
        boot_specs(body, config, _alice(), "req-1")
    tree = {"server": {"name": "s", "flavorRef": "small", "imageRef": TREE_IMAGE.id}}
    assert boot_specs(tree, config, _alice(), "req-1").specs[0].image == TREE_IMAGE.id


def _alice() -> TokenInfo:
    user, now = USERS["alice"], datetime.now(UTC)
    return TokenInfo(user.id, user.name, user.project, user.role, now, now, "audit")
