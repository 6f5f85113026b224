"""The dashboard at 1,011 cells and 100,000 instances, in a real headless Chromium.

A thousand cell processes do not fit on a test machine, so here the API
process (a real one) talks gRPC to a stand-in for the top cell: a gRPC server
of the same `Cells` service answering Topology with a synthetic tree (top, 10
regions, 100 zones, 900 leaves) and List with server-side pages of 100,000
instances, filtered and ordered as a router does (`routing.paging`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import requests
from selenium.webdriver.common.by import By

from cellops.api_process import ApiProcess, ApiSpec
from cellops.tree import free_ports
from cellrouter.v1 import cells_pb2, cells_pb2_grpc
from cellwire import wire
from model.cells import CellCapacity, CellKind, CellNode, HostSummary
from model.compute import Action, Instance, InstanceState, Resources
from routing.paging import page_of
from tests.integration.browser import chromium, click, log_in, wait_until

REGIONS, ZONES, LEAVES, INSTANCES = 10, 10, 9, 100_000
CELLS = 1 + REGIONS + REGIONS * ZONES + REGIONS * ZONES * LEAVES
ALL_ACTIONS = tuple(a.value for a in Action)


def synthetic_tree() -> tuple[CellNode, list[Instance]]:
    def leaf(path: str, n: int) -> CellNode:
        host = CellCapacity(total=Resources(32, 65536, 500), used=Resources(n % 32, 1024, 10),
                            hosts=1, hosts_up=1, instances=n % 7,
                            states=(("ACTIVE", n % 7),), flavor_fits=(("small", 20),))
        return CellNode(path.rpartition("!")[2], path, CellKind.LEAF, "10.9.0.1:1",
                        n % 97 != 0, host, ALL_ACTIONS, hosts=(HostSummary("h1", host),))

    def router(path: str, children: tuple[CellNode, ...]) -> CellNode:
        return CellNode(path.rpartition("!")[2], path, CellKind.ROUTER, "10.9.0.1:1", True,
                        CellCapacity.combine(c.capacity for c in children), ALL_ACTIONS,
                        children=children)

    count = iter(range(10**6))
    regions = tuple(
        router(f"top!r{r}", tuple(
            router(f"top!r{r}!z{z}", tuple(leaf(f"top!r{r}!z{z}!l{n}", next(count))
                                            for n in range(LEAVES)))
            for z in range(ZONES)))
        for r in range(REGIONS))
    top = router("top", regions)
    leaves = [c for c in _walk(top) if c.kind is CellKind.LEAF]
    made = datetime(2026, 1, 1, tzinfo=UTC)
    instances = [Instance(uuid=f"00000000-0000-4000-8000-{n:012d}", name=f"vm-{n:06d}",
                          state=InstanceState.ACTIVE, flavor=Resources(1, 512, 1),
                          host="h1", cell_path=leaves[n % len(leaves)].path,
                          project=f"p{n % 50}", created_at=made)
                 for n in range(INSTANCES)]
    return top, instances


def _walk(node: CellNode) -> Iterator[CellNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


class StandInTop(cells_pb2_grpc.CellsServicer):
    """The `Cells` service of a top over the synthetic tree (Topology and List)."""

    def __init__(self) -> None:
        top, self.instances = synthetic_tree()
        self.topology = wire.node_to_pb(top)
        self.lists: list[int] = []  # the page size of each List asked

    def Topology(self, request: Any, context: Any) -> cells_pb2.CellNode:
        return self.topology

    def List(self, request: Any, context: Any) -> cells_pb2.ListResponse:
        query = wire.query_from_pb(request)
        self.lists.append(query.limit)
        page, token = page_of(self.instances, query)
        return cells_pb2.ListResponse(instances=[wire.instance_to_pb(i) for i in page],
                                      next_page_token=token)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[StandInTop, str]]:
    servicer = StandInTop()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    cells_pb2_grpc.add_CellsServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture(scope="module")
def api(stand_in: tuple[StandInTop, str], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[ApiProcess]:
    process = ApiProcess(ApiSpec(), tmp_path_factory.mktemp("scale-api"), "127.0.0.1")
    (port,) = free_ports("127.0.0.1", 1)
    process.prepare(port, stand_in[1], {"small": {"vcpus": 1, "memory_mb": 512}}, None, "")
    process.start("warning")
    yield process
    process.stop()


def test_a_thousand_cells_draw_collapsed_and_instances_come_a_page_at_a_time(
        stand_in: tuple[StandInTop, str], api: ApiProcess) -> None:
    servicer, _ = stand_in
    token = requests.post(f"{api.url}/identity/v3/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": api.password}}}}})
    tree = requests.get(f"{api.url}/dashboard/api/tree", timeout=30,
                        headers={"X-Auth-Token": token.headers["X-Subject-Token"]})
    assert json.loads(tree.content)["tree"]["cells"] == CELLS - 1
    print(f"\n/dashboard/api/tree for {CELLS} cells: {len(tree.content) / 1e6:.2f} MB")

    browser = chromium()
    try:
        log_in(browser, api.url, "admin", api.password)
        started = time.monotonic()
        wait_until(browser, lambda d: d.find_element(By.ID, "summary").text.startswith(
            f"{CELLS} cells"))
        # Subtrees deeper than two levels start collapsed: the regions' zones are
        # drawn, their 900 leaves are not until opened.
        drawn = len(browser.find_elements(By.CSS_SELECTOR, ".cell"))
        assert drawn == 1 + REGIONS + REGIONS * ZONES
        print(f"first draw: {drawn} of {CELLS} cells in"
              f" {time.monotonic() - started:.2f} s (wall, for information)")
        zone = '.cell[data-path="top!r3!z4"]'
        click(browser, f"{zone} > .head .toggle")
        wait_until(browser, lambda d: len(d.find_elements(
            By.CSS_SELECTOR, f"{zone} > .kids > .cell")) == LEAVES)
        down = browser.find_elements(By.CSS_SELECTOR, '.cell[data-health="down"]')
        assert all(box.get_attribute("data-path") for box in down)

        # 100,000 instances: the page holds one page of them, the server pages.
        wait_until(browser, lambda d: len(d.find_elements(
            By.CSS_SELECTOR, "#instances tbody tr")) == 25)
        first = browser.find_element(By.CSS_SELECTOR, "#instances tbody tr").text
        click(browser, "#next")
        wait_until(browser, lambda d: d.find_element(By.ID, "page-no").text == "page 2")
        wait_until(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, "#instances tbody tr").text.startswith("vm-000025"))
        assert first.startswith("vm-000000")
        assert servicer.lists and max(servicer.lists) == 25  # never more than a page
        # The page still answers at once: a script runs and returns.
        assert browser.execute_script("return document.querySelectorAll('.cell').length;") \
            == 1 + REGIONS + REGIONS * ZONES + LEAVES
    finally:
        browser.quit()
