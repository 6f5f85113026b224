"""Server group membership: the ledger, and a leaf that keeps it across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bestmatch.filters import default_filters
from bestmatch.filters.affinity import AntiAffinityFilter
from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cells.ledger import HostLedger
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind, ListQuery
from model.compute import Action, Resources
from model.errors import ResourceExhausted
from routing.index import LocationIndex
from virt.fake import FakeDriver, FakeHost


def test_ledger_counts_places_moves_and_removals() -> None:
    ledger = HostLedger.load([("u1", "h1", "web"), ("u2", "h1", "web"), ("u3", "h2", "db")])
    assert ledger.on("h1") == {"web": 2}
    ledger.place("u2", "h2", "web")  # moved to an alternate host
    assert ledger.on("h1") == {"web": 1} and ledger.on("h2") == {"db": 1, "web": 1}
    ledger.remove("u1")
    ledger.remove("u1")  # twice is harmless
    assert ledger.on("h1") == {}
    ledger.place("u4", "h1", "")  # no group: counted as an instance only
    assert ledger.on("h1") == {} and ledger.group_of("u4") == ""
    assert ledger.uuids_on("h1") == {"u4"} and ledger.uuids_on("h2") == {"u2", "u3"}
    assert ledger.group_of("u3") == "db"


def _leaf(tmp_path: Path) -> LeafCell:
    driver = FakeDriver([FakeHost(f"h{n}", Resources(8, 8192, 100)) for n in range(2)],
                        state_file=tmp_path / "hv.db")
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'cell.db'}")
    selector = RandomSelector([*default_filters(), AntiAffinityFilter()], seed=1)
    return LeafCell(Identity("z", "127.0.0.1:0", "top!z", CellKind.LEAF), driver, index, selector)


HINTS = {"group": "web", "group_policy": "anti-affinity"}


def test_anti_affinity_holds_across_a_leaf_restart(tmp_path: Path) -> None:
    async def first_life() -> set[str]:
        leaf = _leaf(tmp_path)
        a = await leaf.boot(boot_spec("a", 1, 256, hints=HINTS), Call())
        b = await leaf.boot(boot_spec("b", 1, 256, hints=HINTS), Call())
        await leaf.close()
        return {a.host, b.host}

    assert asyncio.run(first_life()) == {"h0", "h1"}

    async def second_life() -> tuple[str, str]:
        leaf = _leaf(tmp_path)  # a new process would start just so
        with pytest.raises(ResourceExhausted, match="anti_affinity: 2 of 2 hosts"):
            await leaf.boot(boot_spec("c", 1, 256, hints=HINTS), Call())
        listed = (await leaf.list(ListQuery(), Call())).instances
        gone = next(i for i in listed if i.name == "a")
        await leaf.act(gone.uuid, Action.DELETE, True, Call())
        c = await leaf.boot(boot_spec("c", 1, 256, hints=HINTS), Call())
        await leaf.close()
        return c.host, gone.host

    new_host, freed_host = asyncio.run(second_life())
    assert new_host == freed_host  # the only host without a member of the group
