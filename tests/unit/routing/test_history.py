"""An instance's action log through a router (routing.history): by the index
while the instance lives; asked of every child once it is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from cells.security.scope import ScopedCells
from model.call import Call
from model.compute import Action
from model.errors import Unavailable
from model.instance_actions import ActionLog, ActionRecord
from model.principal import Principal
from routing.errors import UnknownInstance
from tests.unit.routing.router_tree import Tree, boot_into, run, uuid


def test_a_live_instances_log_comes_from_its_child_alone(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "b")
        log = await t.router.actions(held, "", Call())
        assert (log.uuid, log.project, log.actions) == (held, "acme", ())
        assert t.kids["a"].calls("actions") == []
        assert [s.args for s in t.kids["b"].calls("actions")] == [(held, "")]

    run(tmp_path, body)


def test_a_deleted_instances_log_is_asked_of_every_child(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "b")
        await t.router.act(held, Action.DELETE, True, Call())
        assert t.index.lookup(held) is None
        kept = ActionLog(held, "acme", True, (ActionRecord("delete", "r2", "acme"),
                                             ActionRecord("create", "r1", "acme")))
        t.kids["b"].logs[held] = kept
        assert await t.router.actions(held, "", Call()) == kept
        assert len(t.kids["a"].calls("actions")) == 1  # asked, said no
        with pytest.raises(UnknownInstance):
            await t.router.actions(uuid(), "", Call())

    run(tmp_path, body)


def test_a_silent_child_makes_a_missing_log_unavailable(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        t.kids["b"].down = True
        with pytest.raises(Unavailable) as refused:
            await t.router.actions(uuid(), "", Call())
        assert "top!b did not answer" in refused.value.message

    run(tmp_path, body)


def test_another_projects_log_looks_missing(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        held = await boot_into(t, "b")
        scoped = ScopedCells(t.router)
        with pytest.raises(UnknownInstance):
            await scoped.actions(held, "", Call(principal=Principal("t1", "other", "member")))
        mine = await scoped.actions(held, "", Call(principal=Principal("t2", "acme", "member")))
        assert mine.project == "acme"

    run(tmp_path, body)
