"""What users set on a leaf's instances (cells.attributes): kept with the
instance from its boot, changed by edits, shown in gets and lists (sorted by
the name users gave), kept across a restart of the leaf, dropped with the
instance; the guest is never touched."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cells.attributes import decode, encode
from cells.backend import Identity
from cells.leaf import LeafCell
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind, ListQuery
from model.compute import Action, Attributes, InstanceState, Resources
from model.edits import Edit
from model.errors import FailedPrecondition, IllegalTransition, InvalidArgument
from routing.errors import UnknownInstance
from routing.index import LocationIndex
from virt.fake import FakeDriver, FakeHost

HOSTS = [FakeHost("h1", Resources(8, 16384, 100))]


def _leaf(tmp_path: Path, driver: FakeDriver) -> tuple[LeafCell, LocationIndex]:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    identity = Identity("leaf1", "127.0.0.1:0", "top!leaf1", CellKind.LEAF)
    return LeafCell(identity, driver, index, RandomSelector(seed=1)), index


def test_attributes_from_boot_edits_lists_restart_and_delete(tmp_path: Path) -> None:
    driver = FakeDriver(HOSTS)

    async def first_life() -> tuple[str, str]:
        leaf, index = _leaf(tmp_path, driver)
        try:
            tagged = replace(boot_spec("b-web", 1, 256, 1),
                             attributes=Attributes(metadata=(("tier", "web"),), tags=("x",)))
            web = await leaf.boot(tagged, Call())
            assert web.attributes.metadata == (("tier", "web"),)
            other = await leaf.boot(boot_spec("a-db", 1, 256, 1), Call())
            renamed = await leaf.update(web.uuid, Edit(
                name="0-first", description="front", metadata=(("owner", "ops"),),
                tags_removed=("x",), tags=("y",), locked=True, locked_reason="why"), Call())
            assert renamed.name == "0-first"
            assert renamed.attributes == Attributes(
                description="front", metadata=(("owner", "ops"), ("tier", "web")),
                tags=("y",), locked=True, locked_reason="why")
            page = await leaf.list(ListQuery(), Call())
            assert [i.name for i in page.instances] == ["0-first", "a-db"]
            assert driver.get(web.uuid).name == "b-web"  # the guest is untouched
            return web.uuid, other.uuid
        finally:
            await leaf.close()
            index.close()

    web, other = asyncio.run(first_life())

    async def second_life() -> None:
        leaf, index = _leaf(tmp_path, driver)
        try:
            await leaf.recover()
            again = await leaf.get(web, Call())
            assert again.name == "0-first" and again.attributes.locked
            unlocked = await leaf.update(web, Edit(locked=False), Call())
            assert not unlocked.attributes.locked and unlocked.attributes.locked_reason == ""
            await leaf.act(web, Action.DELETE, True, Call())
            with pytest.raises(UnknownInstance):
                await leaf.update(web, Edit(name="gone"), Call())
            assert (await leaf.get(other, Call())).attributes == Attributes()
        finally:
            await leaf.close()
            index.close()

    asyncio.run(second_life())


def test_an_edit_past_what_a_leaf_keeps_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async def body() -> None:
        leaf, index = _leaf(tmp_path, FakeDriver(HOSTS))
        try:
            made = await leaf.boot(boot_spec("vm", 1, 256, 1), Call())
            too_many = tuple((f"k{n}", "v") for n in range(129))
            with pytest.raises(InvalidArgument):
                await leaf.update(made.uuid, Edit(metadata=too_many), Call())
            with pytest.raises(InvalidArgument):
                await leaf.update(made.uuid, Edit(tags=("a/b",)), Call())
            assert (await leaf.get(made.uuid, Call())).attributes == Attributes()
        finally:
            await leaf.close()
            index.close()

    asyncio.run(body())


class NoRebuildDriver(FakeDriver):
    rebuild = None  # a driver without the ability (virt.driver.Rebuilder)


def test_rebuild_keeps_what_users_set_or_is_refused_by_a_driver_that_cannot(
        tmp_path: Path) -> None:
    async def body() -> None:
        leaf, index = _leaf(tmp_path, FakeDriver(HOSTS))
        plain, plain_index = _leaf(tmp_path / "plain", NoRebuildDriver(HOSTS))
        try:
            made = await leaf.boot(replace(boot_spec("vm", 1, 256, 1), image="one"), Call())
            await leaf.update(made.uuid, Edit(metadata=(("k", "v"),)), Call())
            rebuilt = await leaf.rebuild(made.uuid, "two", Call())
            assert (rebuilt.image, rebuilt.host, rebuilt.attributes.metadata) == (
                "two", made.host, (("k", "v"),))
            other = await plain.boot(boot_spec("vm", 1, 256, 1), Call())
            with pytest.raises(FailedPrecondition, match="cannot rebuild"):
                await plain.rebuild(other.uuid, "two", Call())
        finally:
            await leaf.close()
            await plain.close()
            index.close()
            plain_index.close()

    (tmp_path / "plain").mkdir()
    asyncio.run(body())


def test_an_instance_reset_to_error_shows_error_and_takes_only_a_delete(tmp_path: Path) -> None:
    async def body() -> None:
        leaf, index = _leaf(tmp_path, FakeDriver(HOSTS))
        try:
            made = await leaf.boot(boot_spec("vm", 1, 256, 1), Call())
            shown = await leaf.update(made.uuid, Edit(reset_to_error=True), Call())
            assert shown.state is InstanceState.ERROR
            assert [i.state for i in (await leaf.list(ListQuery(), Call())).instances] == [
                InstanceState.ERROR]
            for wait in (True, False):
                with pytest.raises(IllegalTransition):
                    await leaf.act(made.uuid, Action.PAUSE, wait, Call())
            back = await leaf.update(made.uuid, Edit(reset_to_error=False), Call())
            assert back.state is InstanceState.ACTIVE  # the hypervisor's, never touched
            await leaf.update(made.uuid, Edit(reset_to_error=True), Call())
            gone = await leaf.act(made.uuid, Action.DELETE, True, Call())
            assert gone.state is InstanceState.DELETED
        finally:
            await leaf.close()
            index.close()

    asyncio.run(body())


def test_a_locked_instance_refuses_the_calls_that_obey_the_lock_and_nothing_changes(
    tmp_path: Path,
) -> None:
    """A member's call obeys the lock (model.call.Call.obey_lock, set where the
    caller is known); an admin's, or an operator's plain call, does not."""
    driver = FakeDriver(HOSTS)

    async def body() -> None:
        leaf, index = _leaf(tmp_path, driver)
        try:
            uuid = (await leaf.boot(boot_spec("locked", 1, 256, 1), Call())).uuid
            await leaf.update(uuid, Edit(locked=True, locked_reason="maintenance"), Call())
            member = Call(obey_lock=True)
            for action in (Action.STOP, Action.PAUSE, Action.DELETE):
                with pytest.raises(FailedPrecondition, match=f"Instance {uuid} is locked"):
                    await leaf.act(uuid, action, True, member)
                assert driver.get(uuid).state is InstanceState.ACTIVE
            assert (await leaf.get(uuid, Call())).state is InstanceState.ACTIVE
            assert (await leaf.act(uuid, Action.STOP, True, Call())).state is (
                InstanceState.STOPPED)
            await leaf.update(uuid, Edit(locked=False), Call())
            assert (await leaf.act(uuid, Action.START, True, member)).state is (
                InstanceState.ACTIVE)
        finally:
            await leaf.close()
            index.close()

    asyncio.run(body())


def test_a_row_written_before_key_names_were_kept_reads_as_none() -> None:
    before = ('{"access_ipv4":"","access_ipv6":"","description":"","locked":false,'
              '"locked_reason":"","metadata":{},"reservation_id":"r-1",'
              '"reset_to_error":false,"tags":[]}')
    assert decode(before) == Attributes(reservation_id="r-1")  # key_name None
    for key_name in (None, "", "mine"):
        kept = Attributes(key_name=key_name)
        assert decode(encode(kept)) == kept


def test_the_key_name_is_kept_from_boot_across_a_restart_and_changed_by_an_edit(
        tmp_path: Path) -> None:
    driver = FakeDriver(HOSTS)  # the hypervisor outlives the leaf's process

    async def life(edit: Edit | None, uuid: str = "") -> tuple[str, str | None]:
        leaf, index = _leaf(tmp_path, driver)
        try:
            await leaf.recover()
            if not uuid:
                spec = replace(boot_spec("vm", 1, 256, 1), attributes=Attributes(key_name=""))
                uuid = (await leaf.boot(spec, Call())).uuid
            if edit is not None:
                await leaf.update(uuid, edit, Call())
            return uuid, (await leaf.get(uuid, Call())).attributes.key_name
        finally:
            await leaf.close()
            index.close()

    uuid, booted = asyncio.run(life(None))
    assert booted == ""
    assert asyncio.run(life(Edit(key_name="mine"), uuid)) == (uuid, "mine")
    assert asyncio.run(life(None, uuid)) == (uuid, "mine")
    assert asyncio.run(life(Edit(name="renamed"), uuid)) == (uuid, "mine")  # None: unchanged
