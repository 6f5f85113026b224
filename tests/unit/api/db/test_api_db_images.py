"""The API database's images: records with properties and tags, the upload's
status moves (each conditional on the status it leaves), and the schema step
that adds them to a database an earlier release wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from api.db.images import ImageExists, ImageStore, StoredImage, Uploaded
from api.db.schema import API, open_api_database
from celldb.schema import upgrade_to

ID = "0b6f3c8e-9d0a-4c55-a1b7-3e2f6d1c9a01"
DATA = Uploaded(1024, "0" * 32, "f" * 128)
IMAGES_STEP = 5  # the schema step (api.db.schema._v5) that adds the images


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageStore]:
    url = (f"sqlite:///{tmp_path / 'api.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))
    engine = open_api_database(url)
    yield ImageStore(engine)
    engine.dispose()


def image(image_id: str = ID, owner: str = "shop", visibility: str = "private",
          **kw: object) -> StoredImage:
    return StoredImage(id=image_id, name="img", owner=owner, visibility=visibility,
                       disk_format="raw", container_format="bare", **kw)  # type: ignore[arg-type]


def test_an_image_is_stored_with_its_properties_and_tags_and_its_id_once(
        store: ImageStore) -> None:
    made = store.add(image(properties={"os_distro": "debian"}, tags=("b", "a")))
    assert (made.status, made.properties, made.tags) == ("queued", {"os_distro": "debian"},
                                                         ("a", "b"))
    assert made.created_at == made.updated_at > 0
    with pytest.raises(ImageExists):
        store.add(image())
    assert store.get(ID) == made


def test_candidates_are_the_projects_own_and_the_public_and_community_ones(
        store: ImageStore) -> None:
    for n, (owner, visibility) in enumerate([("shop", "private"), ("lab", "private"),
                                             ("lab", "public"), ("lab", "community"),
                                             ("lab", "shared")]):
        store.add(image(f"{ID[:-2]}{n:02d}", owner, visibility))
    seen = {(i.owner, i.visibility) for i in store.candidates("shop")}
    assert seen == {("shop", "private"), ("lab", "public"), ("lab", "community")}
    assert len(store.candidates(None)) == 5


def test_update_sets_removes_and_purges_properties_in_one_go(store: ImageStore) -> None:
    store.add(image(properties={"a": "1", "b": "2"}))
    after = store.update(ID, {"name": "renamed"}, set_properties={"c": "3"},
                         remove_properties=["a"])
    assert after is not None and (after.name, after.properties) == ("renamed",
                                                                    {"b": "2", "c": "3"})
    purged = store.update(ID, set_properties={"d": "4"}, purge_properties=True,
                          tags=["x"])
    assert purged is not None and (purged.properties, purged.tags) == ({"d": "4"}, ("x",))
    assert store.update("nothing", {"name": "x"}) is None
    with pytest.raises(ValueError):
        store.update(ID, {"status": "active"})


def test_an_upload_begins_once_and_finishes_active_with_its_digests(
        store: ImageStore) -> None:
    store.add(image())
    assert store.begin_upload(ID)
    assert not store.begin_upload(ID)  # a second upload of the same image
    assert store.finish_upload(ID, DATA)
    done = store.get(ID)
    assert done is not None and (done.status, done.size, done.checksum,
                                 done.os_hash_value) == ("active", 1024, "0" * 32, "f" * 128)
    assert not store.begin_upload(ID)


def test_a_failed_upload_queues_the_image_again_and_a_deleted_one_does_not_finish(
        store: ImageStore) -> None:
    store.add(image())
    store.begin_upload(ID)
    store.abort_upload(ID)
    assert store.begin_upload(ID)
    assert store.remove(ID)
    assert not store.finish_upload(ID, DATA)
    assert not store.remove(ID)


def test_the_images_step_upgrades_a_database_of_the_release_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = create_engine(url)
    upgrade_to(engine, IMAGES_STEP - 1, API)  # later steps may follow it
    assert "images" not in inspect(engine).get_table_names()
    engine.dispose()
    engine = open_api_database(url)
    assert {"images", "image_properties", "image_tags"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()
