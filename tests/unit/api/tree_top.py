"""A fake top that answers what the tree-made resources ask of it: Topology (a
tree you give, tree_shapes.a_tree() by default) and Get, besides FakeTopClient's
boot, list and act. An app served against it, as `tree_api`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from model.cells import CellNode
from model.compute import Instance
from model.errors import NotFound
from tests.unit.api.apiapp import ApiClient, FakeTopClient, api_client
from tests.unit.api.tree_shapes import a_tree


class TreeTopClient(FakeTopClient):
    """FakeTopClient that also answers Topology with `top` and Get from its instances."""

    def __init__(self, top: CellNode | None = None) -> None:
        super().__init__()
        self.top = top or a_tree()
        self.topology_calls = 0

    async def topology(self, metadata: Any = ()) -> CellNode:
        del metadata
        self.topology_calls += 1
        return self.top

    async def get(self, uuid: str, metadata: Any = ()) -> Instance:
        del metadata
        if uuid not in self.instances:
            raise NotFound(f"instance {uuid} not found")
        return self.instances[uuid]


@contextmanager
def tree_api(tmp: Path, top: CellNode | None = None) -> Iterator[tuple[ApiClient,
                                                                       TreeTopClient]]:
    """An app against a TreeTopClient (answering `top`), and that client."""
    with api_client(tmp) as (client, fake):
        fake.client = tree_top = TreeTopClient(top)
        yield client, tree_top
