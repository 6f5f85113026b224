"""A real headless Chromium for the dashboard's tests, driven through its
WebDriver (Debian's `chromium` and `chromium-driver`, which the bootstrap
installs when it runs as root).

Without them the tests are skipped with the reason, unless
CELLROUTER_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PATIENCE = 30.0  # seconds a page may take to show what a test waits for


def chromium() -> WebDriver:
    """A headless Chromium; skipped (or failed, when required) when not installed."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        reason = (f"the dashboard's browser tests need {' and '.join(missing)}"
                  " (apt-get install chromium chromium-driver; `make test` does it as root)")
        if os.environ.get("CELLROUTER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (CELLROUTER_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1500,1100", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_until(driver: WebDriver, check: Callable[[WebDriver], Any],
               timeout: float = PATIENCE) -> Any:
    """What `check` returns once it is truthy (it is asked again and again)."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException,
                                             StaleElementReferenceException)).until(check)


def click(driver: WebDriver, css: str) -> None:
    """Click the element `css` finds, finding it again if the page redrew it."""
    def clicked(d: WebDriver) -> bool:
        d.find_element(By.CSS_SELECTOR, css).click()
        return True
    wait_until(driver, clicked)


def log_in(driver: WebDriver, url: str, user: str, password: str) -> None:
    driver.get(f"{url}/dashboard/")
    wait_until(driver, lambda d: d.find_element(By.ID, "login").is_displayed())
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()


def cell_box(driver: WebDriver, path: str) -> WebElement | None:
    found = driver.find_elements(By.CSS_SELECTOR, f'.cell[data-path="{path}"]')
    return found[0] if found else None


def health(driver: WebDriver, path: str) -> str:
    box = cell_box(driver, path)
    return (box.get_attribute("data-health") or "") if box is not None else ""


def screenshot(driver: WebDriver, path: Path) -> Path:
    driver.save_screenshot(str(path))
    return path
