"""End to end: the admin UI's sign-in in headless Chromium, as `sanji ui` serves it.

A link opened signed out asks for sign-in and lands on its page; the sign-in survives a reload and
reaches a new tab by an HttpOnly, SameSite=Strict cookie that no script in the page can read;
signing out forgets it, and the old cookie value no longer signs anyone in.
"""

from __future__ import annotations

import asyncio

from admin_ui import session
from admin_ui.navigation import pages_for
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import NEEDS_CHROMIUM, ON_SQLITE, until
from tests.ui_support import serving_ui

pytestmark = [*NEEDS_CHROMIUM, ON_SQLITE]


def headings(driver) -> list[str]:
    """The page's h1 texts, read in one script call (Streamlit may replace an element between a
    lookup and a read)."""
    return driver.execute_script("return [...document.querySelectorAll('h1')].map(h => h.innerText);")


def shows(driver, title: str) -> bool:
    return title in headings(driver)


def sign_in_form(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, 'input[aria-label="用户名"]')


def sign_out_button(driver):
    """The sidebar's sign-out button, once drawn (the page's heading may come first)."""
    from selenium.webdriver.common.by import By

    buttons = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] button')
    return next((button for button in buttons if button.text == "退出登录"), None)


def our_cookie(driver) -> dict | None:
    return next((c for c in driver.get_cookies() if c["name"] == session.COOKIE), None)


def scenario(ui: str, driver) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{ui}/rooms")  # a page link, opened in a browser that is not signed in
    until(lambda: sign_in_form(driver), "the sign-in form")
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    sign_in_form(driver)[0].send_keys("supervisor")
    driver.find_element(By.CSS_SELECTOR, 'input[aria-label="密码"]').send_keys(DEMO_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
    until(lambda: shows(driver, "便民服务室建设"), "the rooms page (the address the link named)")
    assert driver.current_url == f"{ui}/rooms"
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    assert [link.text for link in links] == [page.title["zh"] for page in pages_for("SUPERVISOR")]
    assert links[2].get_attribute("href") == f"{ui}/dashboard"

    cookie = until(lambda: our_cookie(driver), "the sign-in cookie")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert "expiry" not in cookie  # gone when the browser closes
    assert session.COOKIE not in driver.execute_script("return document.cookie")  # out of scripts' reach

    driver.refresh()
    until(lambda: shows(driver, "便民服务室建设"), "the rooms page again after a reload")
    assert not sign_in_form(driver)
    driver.switch_to.new_window("tab")
    driver.get(f"{ui}/dashboard")
    until(lambda: shows(driver, "办件统计"), "the dashboard in a new tab")
    assert not sign_in_form(driver)

    until(lambda: sign_out_button(driver), "the sign-out button in the sidebar").click()
    until(lambda: sign_in_form(driver), "the sign-in form after signing out")
    until(lambda: our_cookie(driver) is None, "the cookie forgotten")
    driver.add_cookie({k: cookie[k] for k in ("name", "value", "path", "httpOnly", "sameSite")})
    driver.get(f"{ui}/dashboard")  # the old cookie, put back, signs no one in
    until(lambda: sign_in_form(driver), "the sign-in form for the old cookie")
    assert not shows(driver, "办件统计")


async def test_a_link_asks_for_sign_in_which_outlives_reloads_and_tabs_until_signing_out(api_url, browser):
    with serving_ui(api_url) as ui:
        await asyncio.to_thread(scenario, ui, browser)
