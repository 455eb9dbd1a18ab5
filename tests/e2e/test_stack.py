"""End to end: the stack started as `make run` starts it, driven in headless Chromium.

`sanji run` migrates and seeds an empty database, then serves the API and the admin UI; Chromium
(Debian's `chromium` and `chromedriver`, no downloaded browser) signs in as the administrator and
opens every page from the sidebar. Each page is judged once its own heading and figures are shown
and its charts drawn: no traceback or API error, none of the Chinese UI's known leftovers in what
the browser shows (text, placeholders, chart labels), and no character that no installed font
draws (a box on the screen). Screenshots go to a temporary folder; with
SANJI_UPDATE_SCREENSHOTS=1 they replace docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from admin_ui.navigation import pages_for
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import NEEDS_CHROMIUM, WHOLE_STACK, until
from tests.ui_support import free_port, stop_group
from tests.ui_texts import EMOJI, ISO_TIME, NONE, ROLE_NUMBER

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("SANJI_UPDATE_SCREENSHOTS") == "1"
WINDOW_HEIGHT = 2000
PATIENCE = 120  # seconds a page may take when another process keeps both cores busy
# Each page's own heading and a figure of the fixture it shows as text once its data is in (tables
# are drawn on a canvas, out of the DOM's reach: the AppTest tests read what is behind them).
HEADINGS = {
    "coverage": "平台覆盖率",
    "delegation": "事项下放",
    "rooms": "便民服务室建设",
    "dashboard": "办件统计",
    "catalogue": "事项目录",
    "browser": "数据浏览",
    "webhooks": "事件推送",
    "reports": "报表",
}
EXPECTED = {
    "coverage": "built 31 / total 38 = 81.6%",
    "delegation": "下放矩阵",
    "rooms": "建设进度（按月累计）",
    "dashboard": "100.0%",
    "catalogue": "个事项",
    "browser": "总条数",
    "webhooks": "还没有登记推送地址",
    "reports": "新建报表",
}
PAGE_ERRORS = ('data-testid="stException"', "无法从接口获取数据", "Traceback (most recent call last)")
LEFTOVERS = {
    "None": NONE,
    "Choose options": re.compile(r"\bChoose (options|an option)\b"),
    "ADMIN #": ROLE_NUMBER,
    "ISO time": ISO_TIME,
    "emoji": EMOJI,
}
# Everything the browser shows as text: the app's rendered text, the placeholders of its inputs and
# the labels of its charts (SVG).
SHOWN_TEXT = """
const root = document.querySelector('[data-testid="stApp"]') || document.body;
const shown = root.innerText.split('\\n');
for (const input of root.querySelectorAll('input, textarea')) {
  if (input.placeholder) shown.push(input.placeholder);
}
for (const label of root.querySelectorAll('svg text')) shown.push(label.textContent);
return shown.map(line => line.trim()).filter(line => line);
"""

pytestmark = [*NEEDS_CHROMIUM, *WHOLE_STACK]


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
        wait_for(f"http://127.0.0.1:{api_port}/healthz", process, 240)
        wait_for(f"http://127.0.0.1:{ui_port}/_stcore/health", process, 120)
        yield f"http://127.0.0.1:{ui_port}"
    finally:
        stop_group(process)


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = DOCS_SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def settled(driver, seconds: float = PATIENCE) -> None:
    """Wait until the app has finished running its script (no 'running' indicator for a moment) and
    every chart on the page is drawn."""
    from selenium.webdriver.common.by import By

    deadline, quiet_since = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
        drawn = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"] .main-svg')
        if running or len(drawn) < len(charts):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.5:
            return
        time.sleep(0.25)
    raise AssertionError(f"the page kept running or drawing for {seconds} s")


def body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "body").text


def heading(driver) -> str | None:
    """The page's first h1, read in one script call: Streamlit may replace the element between a
    lookup and a read."""
    return driver.execute_script("const h = document.querySelector('h1'); return h ? h.innerText : null;")


def no_page_error(driver, page: str) -> None:
    source = driver.page_source
    found = [marker for marker in PAGE_ERRORS if marker in source]
    if found:  # what the page shows: the exception's message and trace, not only that there is one
        shown = driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=\"stException\"]')]"
            ".map(e => e.innerText).join('\\n---\\n');"
        )
        raise AssertionError(f"{page}: {found}\n{shown or driver.find_element('css selector', 'body').text}")


@functools.cache
def drawable() -> frozenset[int]:
    """The code points some installed font draws, as fontconfig (which Chromium asks) lists them."""
    listed = subprocess.run(
        ["fc-list", "--format", "%{charset}\n"], capture_output=True, text=True, check=True
    ).stdout
    points: set[int] = set()
    for span in listed.split():
        first, _, last = span.partition("-")
        points.update(range(int(first, 16), int(last or first, 16) + 1))
    return frozenset(points)


def leftovers(driver, page: str) -> None:
    """Fails on what a Chinese page must not show, and on characters no installed font draws."""
    shown = driver.execute_script(SHOWN_TEXT)
    found = {kind: [line for line in shown if pattern.search(line)] for kind, pattern in LEFTOVERS.items()}
    found = {kind: lines for kind, lines in found.items() if lines}
    assert not found, f"{page} shows leftovers: {found}"
    fonts = drawable()
    boxes = sorted({c for line in shown for c in line if not c.isspace() and ord(c) not in fonts})
    assert not boxes, f"{page}: no installed font draws {[f'{c} U+{ord(c):04X}' for c in boxes]}"


def test_admin_signs_in_and_opens_every_page_in_chromium(stack, browser, screenshots):
    from selenium.webdriver.common.by import By

    if UPDATE_SCREENSHOTS:  # tall enough for each page's charts in the README's pictures
        browser.set_window_size(1440, WINDOW_HEIGHT)
    browser.get(stack)
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, 'input[aria-label="用户名"]'),
        "the sign-in form",
        PATIENCE,
    )
    settled(browser)
    leftovers(browser, "sign-in")
    browser.save_screenshot(str(screenshots / "sign-in.png"))
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="用户名"]').send_keys("admin")
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="密码"]').send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    until(lambda: heading(browser) == HEADINGS["coverage"], "the first page after sign-in", PATIENCE)

    pages = pages_for("ADMIN")
    links = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    assert [link.text for link in links] == [page.title["zh"] for page in pages]  # all the admin's pages
    for index, page in enumerate(pages):
        opened(browser, index, page.key)
        no_page_error(browser, page.key)
        leftovers(browser, page.key)
        browser.save_screenshot(str(screenshots / f"{page.key}.png"))
        if page.key == "dashboard":
            clicked_row_opens_the_timeline(browser, screenshots)
        if page.key == "reports":
            link = a_report_is_built_and_saved(browser, screenshots)
    a_link_opens_its_report_after_sign_in(browser, link, screenshots)


REPORT_NAME = "各单位限时办结率"


def a_report_is_built_and_saved(browser, screenshots: Path) -> str:
    """On the reports page, by clicks and typing into the widgets as a user does: cases, grouped by
    the handling organization, 限时办结率 (a figure the API computes), a bar chart, saved shared
    with the area; then opened from the saved list. Returns the page's address naming it."""
    from selenium.webdriver.common.by import By

    choose(browser, "数据", "办件")
    choose(browser, "分组", "承办单位 · 名称")
    choose(browser, "指标", "限时办结率")
    browser.find_element(By.XPATH, '//div[@data-testid="stRadio"]//label[normalize-space()="柱状图"]').click()
    settled(browser)
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]'),
        "the preview's chart",
    )
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="报表名称"]').send_keys(REPORT_NAME)
    choose(browser, "共享范围", "本区域共享")
    browser.find_element(By.XPATH, '//button[normalize-space()="保存报表"]').click()
    until(lambda: f"已保存报表“{REPORT_NAME}”。" in body(browser), "the report saved", PATIENCE)
    settled(browser)
    no_page_error(browser, "a report built and saved")
    leftovers(browser, "a report built and saved")
    builder = browser.find_element(By.XPATH, '//h3[normalize-space()="新建报表"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", builder)
    browser.save_screenshot(str(screenshots / "report-built.png"))
    choose(browser, "打开报表", REPORT_NAME)
    until(lambda: "创建人：admin · 本区域共享" in body(browser), "the saved report opened", PATIENCE)
    until(lambda: "report=" in browser.current_url, "the address naming the report", PATIENCE)
    return browser.current_url


def choose(browser, label: str, option: str) -> None:
    """The option `option` of the select box labelled `label`, chosen by typing it and clicking it
    in the list that opens (a long list shows only the options in view)."""
    from selenium.webdriver.common.by import By

    box = until(
        lambda: browser.find_elements(
            By.XPATH, f'//div[@data-testid="stSelectbox"][.//label[normalize-space()="{label}"]]//input'
        ),
        f"the select box {label}",
        PATIENCE,
    )[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    box.click()
    box.send_keys(option)
    item = until(
        lambda: [
            li
            for li in browser.find_elements(By.CSS_SELECTOR, '[role="listbox"] [role="option"]')
            if li.text.strip() == option
        ],
        f"{option} offered by {label}",
        PATIENCE,
    )[0]
    item.click()
    settled(browser)


def a_link_opens_its_report_after_sign_in(browser, link: str, screenshots: Path) -> None:
    """A report's link (?report=<id>) opened signed out: the sign-in keeps it, and the hall clerk
    then sees that report, the one the administrator built and shared, run with the clerk's
    rights."""
    from selenium.webdriver.common.by import By

    report = unquote(link).partition("report=")[2].split("&")[0]
    assert report, link
    browser.delete_all_cookies()
    browser.get(link)
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, 'input[aria-label="用户名"]'),
        "the sign-in form for a report's link",
        PATIENCE,
    )
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="用户名"]').send_keys("hall_clerk")
    browser.find_element(By.CSS_SELECTOR, 'input[aria-label="密码"]').send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    until(lambda: heading(browser) == HEADINGS["reports"], "the reports page after sign-in", PATIENCE)
    until(lambda: "创建人：admin · 本区域共享" in body(browser), "the linked report opened", PATIENCE)
    until(
        lambda: browser.find_elements(By.XPATH, f'//h4[normalize-space()="{REPORT_NAME}"]'),
        "the report's name as its heading",
        PATIENCE,
    )
    settled(browser)
    assert f"report={report}" in unquote(browser.current_url)  # the address still names it
    no_page_error(browser, "a report opened by its link")
    leftovers(browser, "a report opened by its link")
    browser.save_screenshot(str(screenshots / "report-opened.png"))


def opened(browser, index: int, key: str) -> None:
    """The sidebar's link `index` clicked, and waited for until this page's own marks show (not the
    previous page's text while the switch is under way) and it has settled."""
    from selenium.webdriver.common.by import By

    link = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')[index]
    address = link.get_attribute("href")
    link.click()
    until(lambda: browser.current_url == address, f"{key}: the address {address}", PATIENCE)
    until(lambda: heading(browser) == HEADINGS[key], f"{key}: its heading {HEADINGS[key]}", PATIENCE)
    until(lambda: EXPECTED[key] in body(browser), f"{key}: {EXPECTED[key]!r} shown", PATIENCE)
    settled(browser)
    assert heading(browser) == HEADINGS[key], f"{key}: another page's heading once settled"


def clicked_row_opens_the_timeline(browser, screenshots: Path) -> None:
    """A real click on the first row of the dashboard's case list shows that case's timeline."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    assert "承诺办结日 " not in body(browser)  # no timeline yet
    tables = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    cases = tables[1]  # after the per-dimension table (no overdue case on the fixture)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", cases)
    width, height = cases.size["width"], cases.size["height"]
    # The row-selection column is the first; the first row lies under the header (both ~35 px).
    ActionChains(browser).move_to_element_with_offset(
        cases, -width // 2 + 18, -height // 2 + 52
    ).click().perform()
    until(lambda: "承诺办结日 " in body(browser), "a clicked case row opens its timeline", PATIENCE)
    settled(browser)
    no_page_error(browser, "dashboard timeline")
    leftovers(browser, "dashboard timeline")
    browser.save_screenshot(str(screenshots / "dashboard-timeline.png"))
