"""The dashboard of a real tree of cell processes, in a real headless Chromium,
and its HTTP endpoints given hostile input."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.compute import Action
from tests.integration.browser import (
    cell_box,
    chromium,
    click,
    health,
    log_in,
    screenshot,
    wait_until,
)
from tests.integration.openstack_tree import Raw, start_api_tree

CELLS = {"top": 36, "top!r1": 20, "top!r2": 16, "top!r1!z1": 12, "top!r1!z2": 8,
         "top!r2!z3": 16}  # each cell's vCPUs


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("dashboard"))
    with CellClient(runner.top_address, timeout=10) as top:
        for n in range(3):
            top.boot(boot_spec(f"web-{n}", 1, 512, project="shop",
                               target_cell="top!r1!z1"))
        paused = top.boot(boot_spec("db-0", 1, 512, project="lab", target_cell="top!r2!z3"))
        top.act(paused.uuid, Action.PAUSE, wait=True)
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def admin(tree: TreeRunner) -> Raw:
    return Raw(tree)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    yield driver
    driver.quit()


def api_url(tree: TreeRunner) -> str:
    assert tree.api is not None
    return tree.api.url


def count(admin: Raw) -> int:
    return len(admin.call("GET", "/v2.1/servers?all_tenants=1").json()["servers"])


# ------------------------------------------------------------ over HTTP


@pytest.mark.parametrize("path", ["/dashboard/api/tree", "/dashboard/api/instances"])
def test_without_a_token_the_data_is_401_and_for_a_member_403(tree: TreeRunner,
                                                              path: str) -> None:
    assert requests.get(f"{api_url(tree)}{path}", timeout=10).status_code == 401
    answer = Raw(tree, "alice").call("GET", path)
    assert answer.status_code == 403
    assert "for admins" in answer.json()["forbidden"]["message"]
    plan = Raw(tree, "alice").call("POST", "/dashboard/api/plan", {"flavor": "small"})
    assert plan.status_code == 403


def test_the_page_itself_is_open_and_holds_no_data(tree: TreeRunner) -> None:
    page = requests.get(f"{api_url(tree)}/dashboard", timeout=10)  # redirected to .../
    assert page.status_code == 200 and page.url.endswith("/dashboard/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "top!r1" not in page.text
    script = requests.get(f"{api_url(tree)}/dashboard/static/dashboard.js", timeout=10)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith(
        "text/javascript")


@pytest.mark.parametrize("path", [
    "/dashboard/static/../../../etc/passwd", "/dashboard/static/%2e%2e%2fapi.toml",
    "/dashboard/static/users.json", "/dashboard/static/", "/dashboard/api/nothing",
    "/dashboard/static/dashboard.js/x",
], ids=["dotdot", "encoded-dotdot", "other-file", "listing", "no-endpoint", "below-a-file"])
def test_a_bad_path_finds_nothing(tree: TreeRunner, admin: Raw, path: str) -> None:
    answer = admin.call("GET", path)
    assert answer.status_code == 404, answer.text
    assert "root:" not in answer.text and "password" not in answer.text


@pytest.mark.parametrize(("query", "needle"), [
    ("limit=0", "limit must be"), ("state=running", "is none of"),
    ("name=" + "x" * 300, "limit is 255"), ("cell=top!!z1", "bad cell"),
    ("page=%3Cscript%3E", "page token"), ("state=ACTIVE&state=PAUSED", "given 2 times"),
    ("sort=name", "Unknown filter"),
], ids=["limit", "state", "long-name", "bad-cell", "page", "twice", "unknown"])
def test_a_bad_filter_is_400_with_the_reason(admin: Raw, query: str, needle: str) -> None:
    answer = admin.call("GET", f"/dashboard/api/instances?{query}")
    assert answer.status_code == 400, answer.text
    assert needle in answer.json()["badRequest"]["message"]


def test_a_huge_query_string_is_refused_whole(tree: TreeRunner, admin: Raw) -> None:
    answer = admin.call("GET", "/dashboard/api/instances?name=" + "x" * 20000)
    assert answer.status_code in (400, 414), answer.status_code
    many = "&".join(f"f{n}=1" for n in range(2000))
    assert admin.call("GET", f"/dashboard/api/instances?{many}").status_code in (400, 414)
    assert admin.call("GET", "/dashboard/api/tree").status_code == 200  # still serving


@pytest.mark.parametrize("body", [
    {"flavor": "huge"}, {"flavor": {"vcpus": -1}}, {"flavor": "small", "hints": "az=1"},
    [1, 2], {"flavor": "small", "project": "x" * 65},
], ids=["unknown-flavor", "negative", "hints-text", "list", "long-project"])
def test_a_bad_dry_run_is_400_and_builds_nothing(admin: Raw, body: Any) -> None:
    before = count(admin)
    answer = admin.call("POST", "/dashboard/api/plan", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["badRequest"]["message"]
    assert count(admin) == before


def test_a_dry_run_ranks_and_explains_and_builds_nothing(admin: Raw) -> None:
    before = count(admin)
    answer = admin.call("POST", "/dashboard/api/plan", {"flavor": "small", "project": "shop"})
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["ranked"][0]["host"] and plan["ranked"][0]["cell_path"].startswith("top!")
    assert plan["explanations"] and plan["refused"] == ""
    huge = admin.call("POST", "/dashboard/api/plan", {"flavor": {"vcpus": 64, "ram_mb": 1}})
    assert huge.status_code == 200 and huge.json()["ranked"] == []
    assert "can take 64 vCPU" in huge.json()["refused"]
    assert count(admin) == before


def test_a_cells_instances_are_paged_by_the_server(admin: Raw) -> None:
    first = admin.call("GET", "/dashboard/api/instances?cell=top!r1&limit=2").json()
    assert [i["name"] for i in first["instances"]] == ["web-0", "web-1"]
    assert all(i["cell_path"] == "top!r1!z1" and i["host"] for i in first["instances"])
    rest = admin.call("GET", f"/dashboard/api/instances?cell=top!r1&limit=2&page={first['next']}")
    assert [i["name"] for i in rest.json()["instances"]] == ["web-2"]
    paused = admin.call("GET", "/dashboard/api/instances?state=PAUSED&project=lab").json()
    assert [i["name"] for i in paused["instances"]] == ["db-0"]


# ------------------------------------------------------------ in a browser


def test_a_member_is_told_the_dashboard_is_for_admins(tree: TreeRunner,
                                                      browser: WebDriver) -> None:
    log_in(browser, api_url(tree), "alice", "alice-password")
    banner = wait_until(browser, lambda d: d.find_element(By.ID, "banner").text)
    assert "for admins" in banner
    assert cell_box(browser, "top") is None  # nothing of the tree was shown
    browser.find_element(By.ID, "logout").click()


def test_the_dashboard_draws_the_live_tree_and_a_down_cell_turns_red(
        tree: TreeRunner, browser: WebDriver, tmp_path: Path) -> None:
    assert tree.api is not None
    log_in(browser, api_url(tree), "admin", tree.api.password)

    # Every cell is drawn, up, with its capacity.
    wait_until(browser, lambda d: all(health(d, path) == "up" for path in CELLS))
    wait_until(browser, lambda d: vcpus_drawn(d) == CELLS)
    wait_until(browser, lambda d: "instances 4 (ACTIVE 3, PAUSED 1)" in d.find_element(
        By.CSS_SELECTOR, '.cell[data-path="top"] > .facts').text)

    # A cell's hosts and instances, filtered.
    click(browser, '.cell[data-path="top!r1!z1"] > .head .name')
    wait_until(browser, lambda d: d.find_element(By.ID, "detail-path").text == "top!r1!z1")
    wait_until(browser, lambda d: first_words(d, "#instances tbody tr") == [
        "web-0", "web-1", "web-2"])
    assert first_words(browser, "#hosts tbody tr") == ["h1", "h2"]
    click(browser, '.cell[data-path="top"] > .head .name')
    wait_until(browser, lambda d: d.find_element(By.ID, "detail-path").text == "top")
    Select(browser.find_element(By.ID, "f-state")).select_by_value("PAUSED")
    click(browser, "#filters button")
    wait_until(browser, lambda d: first_words(d, "#instances tbody tr") == ["db-0"])

    # A placement dry run.
    browser.find_element(By.ID, "p-project").send_keys("shop")
    click(browser, "#plan-button")
    ranked = wait_until(browser, lambda d: first_words(d, "#plan-result .ranked li"))
    assert ranked[0].startswith("top!")
    assert "on host" in browser.find_element(By.CSS_SELECTOR, "#plan-result .ranked li").text
    assert browser.find_elements(By.CSS_SELECTOR, "#plan-result .why li")

    shot = screenshot(browser, tmp_path / "dashboard.png")
    assert shot.stat().st_size > 10_000
    if os.environ.get("CELLROUTER_SCREENSHOT"):  # how the README's picture is taken
        shutil.copy(shot, os.environ["CELLROUTER_SCREENSHOT"])

    # A leaf dies: its box turns red, with no reload of the page.
    browser.execute_script("window.cellrouterNoReload = true;")
    tree.kill_cell("z2")
    wait_until(browser, lambda d: health(d, "top!r1!z2") == "down")
    assert browser.execute_script("return window.cellrouterNoReload === true;")
    assert health(browser, "top!r1!z1") == "up"


def vcpus_drawn(driver: WebDriver) -> dict[str, int]:
    """Each drawn cell's vCPU total, as its first bar says."""
    return {box.get_attribute("data-path") or "": int(box.find_element(
                By.CSS_SELECTOR, ":scope > .figures .bar").get_attribute("data-total") or -1)
            for box in driver.find_elements(By.CSS_SELECTOR, ".cell")}


def first_words(driver: WebDriver, css: str) -> list[str]:
    return [e.text.split(" ")[0] for e in driver.find_elements(By.CSS_SELECTOR, css)]
