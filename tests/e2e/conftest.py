"""Headless Chromium for the end-to-end tests: Debian's `chromium` and `chromedriver`, no downloaded
browser. CI installs them (.ci/run) and sets SANJI_REQUIRE_E2E=1, so a missing browser fails there
instead of skipping."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from tests.conftest import DB_KIND

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
REQUIRED = os.environ.get("SANJI_REQUIRE_E2E") == "1"
T = TypeVar("T")

# Every test here runs once: with the SQLite run (the admin UI is tested against the API on SQLite),
# except the whole stack, which makes its own SQLite database and so runs where `make test` puts
# it (SANJI_TEST_STACK_IN: the PostgreSQL run, which has less to do, when both run side by side).
STACK_IN = os.environ.get("SANJI_TEST_STACK_IN", "sqlite")
NEEDS_CHROMIUM = [
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER) and not REQUIRED,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]
ON_SQLITE = pytest.mark.skipif(DB_KIND != "sqlite", reason="the admin UI is tested against the API on SQLite")
WHOLE_STACK = [
    pytest.mark.whole_stack,
    pytest.mark.skipif(DB_KIND != STACK_IN, reason=f"the whole stack runs once, with the {STACK_IN} run"),
]


@pytest.fixture
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def until(check: Callable[[], T], what: str, seconds: float = 30) -> T:
    """The first truthy answer of `check`, asked every 0.1 s; fails naming `what` when none came."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")
