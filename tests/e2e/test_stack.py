"""End to end: the stack started as `make run` starts it, driven in headless Chromium.

`sanji run` migrates and seeds an empty database, then serves the API and the admin UI; Chromium
(Debian's `chromium` and `chromedriver`, no downloaded browser) signs in as the administrator and
opens every page, failing on any traceback or API error, and saves a screenshot of each page to
docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from admin_ui.navigation import pages_for
from tests.conftest import DB_KIND, DEMO_PASSWORD
from tests.ui_support import free_port

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# CI installs Chromium (.ci/run) and sets this, so a missing browser fails there instead of skipping.
REQUIRED = os.environ.get("SANJI_REQUIRE_E2E") == "1"
# Figures the fixture shows as text (tables are drawn on a canvas, out of the DOM's reach).
EXPECTED = {"coverage": "built 31 / total 38 = 81.6%", "dashboard": "100.0%", "browser": "总条数"}
PAGE_ERRORS = ('data-testid="stException"', "无法从接口获取数据", "Traceback (most recent call last)")

pytestmark = [
    pytest.mark.skipif(DB_KIND != "sqlite", reason="the stack as `make run` starts it: the embedded SQLite"),
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER) and not REQUIRED,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`sanji run` exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def stack(tmp_path):
    api_port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "SANJI_DATABASE_URL": f"sqlite://{tmp_path / 'sanji.db'}",
        "SANJI_API_PORT": str(api_port),
        "SANJI_UI_PORT": str(ui_port),
    }
    env.pop("SANJI_API_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{api_port}/healthz", process, 180)
        wait_for(f"http://127.0.0.1:{ui_port}/_stcore/health", process)
        yield f"http://127.0.0.1:{ui_port}"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def browser():
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


def settled(driver, seconds: float = 60) -> None:
    """Wait until the app has finished running its script (no 'running' indicator for a moment)."""
    from selenium.webdriver.common.by import By

    deadline, quiet_since = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.5:
            return
        time.sleep(0.25)
    raise AssertionError("the page kept running")


def no_page_error(driver, page: str) -> None:
    source = driver.page_source
    found = [marker for marker in PAGE_ERRORS if marker in source]
    assert not found, f"{page}: {found}"


def test_admin_signs_in_and_opens_every_page_in_chromium(stack, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(stack)
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, 'input[aria-label="用户名"]')))
    settled(browser)
    browser.save_screenshot(str(SCREENSHOTS / "sign-in.png"))
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="用户名"]').send_keys("admin")
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="密码"]').send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, '[data-testid="stSidebar"]'), "admin"))
    settled(browser)

    pages = pages_for("ADMIN")
    group = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] [role="radiogroup"]')[-1]
    titles = [label.text for label in group.find_elements(By.CSS_SELECTOR, "label")]
    assert titles == [page.title["zh"] for page in pages]  # every page the administrator may use
    for index, page in enumerate(pages):
        group = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] [role="radiogroup"]')[-1]
        group.find_elements(By.CSS_SELECTOR, "label")[index].click()
        settled(browser)
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "h1")))
        no_page_error(browser, page.key)
        body = browser.find_element(By.CSS_SELECTOR, "body").text
        assert EXPECTED.get(page.key, "") in body, f"{page.key}: {EXPECTED[page.key]!r} not shown"
        assert browser.find_elements(By.CSS_SELECTOR, "h1"), f"{page.key}: no title"
        browser.save_screenshot(str(SCREENSHOTS / f"{page.key}.png"))
        if page.key == "dashboard":
            clicked_row_opens_the_timeline(browser)


def clicked_row_opens_the_timeline(browser) -> None:
    """A real click on the first row of the dashboard's case list shows that case's timeline."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    def body() -> str:
        return browser.find_element(By.CSS_SELECTOR, "body").text

    assert "承诺办结日 " not in body()  # no timeline yet
    tables = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    cases = tables[1]  # after the per-dimension table (no overdue case on the fixture)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", cases)
    width, height = cases.size["width"], cases.size["height"]
    # The row-selection column is the first; the first row lies under the header (both ~35 px).
    ActionChains(browser).move_to_element_with_offset(
        cases, -width // 2 + 18, -height // 2 + 52
    ).click().perform()
    settled(browser)
    no_page_error(browser, "dashboard timeline")
    assert "承诺办结日 " in body(), "a clicked case row did not open its timeline"
    browser.save_screenshot(str(SCREENSHOTS / "dashboard-timeline.png"))
