"""The demo tree as `make demo` starts it (examples/demo-tree.toml): libvirt
cells beside a legacy oVirt pool (the fake engine, started by the tree runner
as its own process), the policy that keeps the project finance on it, and the
dashboard showing them all."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from cellops.tree import TreeRunner
from cellops.tree_spec import load_tree
from cellwire.agents import AgentsClient
from cellwire.client import CellClient, boot_spec
from model.agents import PlaceSpec, ServiceObject
from model.compute import Action, InstanceState
from model.errors import FailedPrecondition
from tests.integration.browser import chromium, click, health, log_in, screenshot, wait_until
from tests.integration.conftest import eventually

pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-tree.toml"
LEGACY = "top!eu!eu-legacy"
DRIVERS = {"top!eu!eu-a": "libvirt", "top!eu!eu-b": "libvirt", LEGACY: "ovirt",
           "top!us!us-a": "libvirt", "top!us!us-b": "libvirt", "top!us!us-lb": "agents"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = TreeRunner(load_tree(DEMO), tmp_path_factory.mktemp("demo") / "cells")
    runner.start(timeout=90)
    yield runner
    runner.stop()


def test_the_policy_sends_finance_to_the_ovirt_cell_and_others_elsewhere(
        demo: TreeRunner) -> None:
    assert set(demo.engines) == {"eu-legacy"} and demo.engines["eu-legacy"].alive()
    with CellClient(demo.top_address, timeout=30) as top:
        ledgers = [top.boot(boot_spec(f"ledger-{n}", 2, 4096, project="finance"))
                   for n in range(4)]
        assert {i.cell_path for i in ledgers} == {LEGACY}
        others = [top.boot(boot_spec(f"web-{n}", 1, 2048, project="shop")) for n in range(6)]
        assert LEGACY not in {i.cell_path for i in others}  # the ram weigher prefers room
        with pytest.raises(FailedPrecondition, match="oVirt has no pause"):
            top.act(ledgers[0].uuid, Action.PAUSE, wait=True)
        assert top.get(ledgers[0].uuid).state is InstanceState.ACTIVE  # refused: unchanged
        done = top.act(ledgers[0].uuid, Action.SUSPEND, wait=True)
        assert done.state is InstanceState.SUSPENDED


def test_the_topology_names_each_leafs_driver(demo: TreeRunner) -> None:
    def tree(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cellops.cli", "tree", *args,
                               "--cell", demo.top_address], capture_output=True, text=True,
                              timeout=60, check=True)
        return done.stdout

    shown = json.loads(tree("--json"))
    leaves = {}
    for region in shown["children"]:
        assert region["kind"] == "router" and region["driver"] == ""
        leaves |= {leaf["path"]: leaf["driver"] for leaf in region["children"]}
    assert leaves == DRIVERS
    rows = {line.split()[0]: line.split() for line in tree().splitlines()[1:]}
    assert rows["top!eu!eu-legacy"][1:4] == ["up", "leaf", "ovirt"]
    assert rows["top!us!us-lb"][3] == "agents" and rows["top!eu"][3] == "-"


def test_the_dashboard_shows_the_ovirt_cell_beside_the_libvirt_cells(
        demo: TreeRunner, tmp_path: Path) -> None:
    assert demo.api is not None
    browser = chromium()
    try:
        log_in(browser, demo.api.url, "admin", demo.api.password)
        paths = [n.path for n in demo.client().topology().walk()]
        wait_until(browser, lambda d: all(health(d, p) == "up" for p in paths))
        legacy = f'.cell[data-path="{LEGACY}"]'
        assert "cannot pause, unpause" in browser.find_element(
            By.CSS_SELECTOR, f"{legacy} > .facts").text
        # Each leaf's box names its driver; a router's names none.
        assert {path: browser.find_element(
                    By.CSS_SELECTOR, f'.cell[data-path="{path}"] > .head .driver').text
                for path in DRIVERS} == DRIVERS
        assert not browser.find_elements(By.CSS_SELECTOR, '.cell[data-path="top"] > .head .driver')
        with CellClient(demo.top_address, timeout=30) as top:  # the policy sends it there
            top.boot(boot_spec("ledger-dash", 2, 4096, project="finance",
                               request_id="req-ledger-dash"))
        wait_until(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, '.cell[data-path="top!us!us-lb"] > .facts .agents').text
            == "loadbalancer 2")  # the agent leaf's two agents
        click(browser, f"{legacy} > .head .name")
        wait_until(browser, lambda d: "ledger-dash" in d.find_element(By.ID, "instances").text)
        browser.find_element(By.ID, "p-project").send_keys("finance")
        click(browser, "#plan-button")
        ranked = wait_until(browser, lambda d: d.find_elements(
            By.CSS_SELECTOR, "#plan-result .ranked li"))
        assert ranked[0].text.startswith(LEGACY)
        shot = screenshot(browser, tmp_path / "dashboard.png")
        if os.environ.get("CELLROUTER_SCREENSHOT"):  # how the README's picture is taken
            shutil.copy(shot, os.environ["CELLROUTER_SCREENSHOT"])
    finally:
        browser.quit()


def test_a_load_balancer_object_lands_on_an_agent_of_the_agent_leaf(demo: TreeRunner) -> None:
    async def place(spec: PlaceSpec) -> ServiceObject:
        client = AgentsClient(demo.top_address)
        try:
            return await client.place(spec)
        finally:
            await client.close()

    def offered() -> bool:
        return dict(demo.client().topology().capacity.agents).get("loadbalancer/haproxy") == 2

    assert eventually(offered)  # both reference agents reported up the tree
    vip = asyncio.run(place(PlaceSpec("req-vip", "web-vip", "loadbalancer", ("haproxy",))))
    amp = asyncio.run(place(PlaceSpec("req-amp", "amp-vip", "loadbalancer",
                                      ("octavia-amphora",))))
    assert vip.cell_path == amp.cell_path == "top!us!us-lb"
    assert vip.agent in {"lb-1", "lb-2"} and amp.agent == "lb-2"
    held = demo.state_dir / "agents" / amp.agent / "objects" / f"{amp.uuid}.json"
    assert eventually(held.exists)
