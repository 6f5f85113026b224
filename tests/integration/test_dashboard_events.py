"""The dashboard follows the tree's events, in a real headless Chromium: an
event put on the bus shows on the page as the API hears it; when the API
stops following the bus, or the stream itself breaks, the page polls (and
still shows what changes), and it goes live again once it can."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from tests.integration.amqp_consumer import require_amqp
from tests.integration.browser import chromium, log_in, wait_until
from tests.integration.hook_receiver import drop, notification, publish
from tests.integration.openstack_tree import Raw, start_api_tree
from tests.integration.proxy import CuttableProxy


class Followed:
    """A tree whose API follows a bus of its own, through a proxy that can cut it."""

    def __init__(self, tree: TreeRunner, proxy: CuttableProxy, exchange: str,
                 queue: str) -> None:
        self.tree, self.proxy, self.exchange, self.queue = tree, proxy, exchange, queue

    @property
    def url(self) -> str:
        assert self.tree.api is not None
        return self.tree.api.url

    def tell(self, event_type: str) -> str:
        """Put an event of a new instance on the bus; its uuid."""
        uuid = str(uuidlib.uuid4())
        publish(self.exchange, [notification(event_type, uuid, state="paused")])
        return uuid


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Followed]:
    require_amqp()
    tree = start_api_tree(tmp_path_factory.mktemp("dashboard-events"))
    proxy = CuttableProxy("127.0.0.1:5672")
    names = (f"nova-dash-{uuidlib.uuid4().hex[:10]}", f"dash-{uuidlib.uuid4().hex[:10]}")
    api = tree.api
    assert api is not None
    config = api.directory / "api.toml"
    config.write_text(config.read_text() + f"""
[notifications]
enabled = true
url = "amqp://guest:guest@127.0.0.1:{proxy.port}/"
exchange = "{names[0]}"

[hooks]
queue = "{names[1]}"
""")
    api.stop()
    api.start(tree.log_level)  # the same port, keys and users: now following the bus
    yield Followed(tree, proxy, *names)
    tree.stop()
    proxy.close()
    drop(*names)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    yield driver
    driver.quit()


def mode(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "live").get_attribute("data-mode") or ""


def shown(driver: WebDriver, uuid: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, f'#events li[data-uuid="{uuid}"]')
    return found[0].text if found else ""


def instances_drawn(driver: WebDriver) -> str:
    return driver.find_element(By.CSS_SELECTOR, '.cell[data-path="top"] > .facts').text


def test_the_stream_is_for_admins_and_says_first_whether_the_bus_is_followed(
        followed: Followed) -> None:
    assert requests.get(f"{followed.url}/dashboard/api/events", timeout=10).status_code == 401
    member = Raw(followed.tree, "alice")
    assert member.call("GET", "/dashboard/api/events").status_code == 403
    admin = Raw(followed.tree)
    with requests.get(f"{followed.url}/dashboard/api/events", stream=True, timeout=10,
                      headers={"X-Auth-Token": admin.token}) as answer:
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        lines = answer.iter_lines(decode_unicode=True)
        assert next(lines) == "event: status"
        assert next(lines).startswith("data: {\"following\":")


def test_the_page_follows_events_and_polls_when_the_stream_breaks(
        followed: Followed, browser: WebDriver) -> None:
    tree = followed.tree
    assert tree.api is not None
    log_in(browser, followed.url, "admin", tree.api.password)
    wait_until(browser, lambda d: mode(d) == "live")
    browser.execute_script("window.cellrouterNoReload = true;")

    # An event on the bus shows as the API hears it.
    first = followed.tell("instance.pause.end")
    wait_until(browser, lambda d: "instance.pause.end" in shown(d, first))

    # The bus goes away: the stream says so, the page polls, and still sees changes.
    followed.proxy.cut()
    wait_until(browser, lambda d: mode(d) == "polling")
    with CellClient(tree.top_address, timeout=10) as top:
        top.boot(boot_spec("polled", 1, 512, project="shop"))
    wait_until(browser, lambda d: "instances 1" in instances_drawn(d))

    # Back: live again, and events show.
    followed.proxy.restore()
    wait_until(browser, lambda d: mode(d) == "live", timeout=60)
    second = followed.tell("instance.unpause.end")
    wait_until(browser, lambda d: "instance.unpause.end" in shown(d, second))

    # The stream itself breaks (the API restarts): polling meanwhile, live after.
    tree.api.stop()
    wait_until(browser, lambda d: mode(d) == "polling")
    tree.api.start(tree.log_level)
    wait_until(browser, lambda d: mode(d) == "live", timeout=60)
    third = followed.tell("instance.delete.end")
    wait_until(browser, lambda d: "instance.delete.end" in shown(d, third))
    assert browser.execute_script("return window.cellrouterNoReload === true;")
