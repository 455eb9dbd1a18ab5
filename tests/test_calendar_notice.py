"""The admin banner for an estimated calendar year, against a real API server (SQLite, as UI pages are)."""

from __future__ import annotations

import asyncio
import os

from streamlit.testing.v1 import AppTest

from api import db
from api.services.calendar import load_year
from api.settings import Settings
from tests.ui_support import signed_in


def notice(today: str) -> None:
    """The banner alone, as app.py calls it, judged on `today` (the AppTest script)."""
    import datetime

    from admin_ui import calendar_notice

    calendar_notice.render(today=datetime.date.fromisoformat(today))


def run_notice(url: str, auth, today: str, lang: str | None = None) -> AppTest:
    os.environ["SANJI_API_URL"] = url
    try:
        app = AppTest.from_function(notice, kwargs={"today": today}, default_timeout=30)
        app.session_state["auth"] = auth
        if lang:
            app.session_state["lang"] = lang
        return app.run()
    finally:
        del os.environ["SANJI_API_URL"]


async def load_2026(url: str) -> None:
    async with db.database(Settings(database_url=url)):
        await load_year(2026)


async def test_an_admin_is_told_to_import_next_year_while_it_is_estimated(api_url, seeded_url):
    await load_2026(seeded_url)
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    app = await asyncio.to_thread(run_notice, api_url, auth, "2026-12-01")
    assert not app.exception, app.exception
    assert len(app.warning) == 1
    banner = app.warning[0].value
    assert banner.startswith("2027 年的工作日历是预估的")
    assert "2026" not in banner
    assert "sanji calendar import" in banner and "importCalendar" in banner


async def test_the_banner_speaks_english_when_asked(api_url, seeded_url):
    await load_2026(seeded_url)
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    app = await asyncio.to_thread(run_notice, api_url, auth, "2026-12-01", "en")
    assert not app.exception, app.exception
    assert app.warning[0].value.startswith("The working-day calendar of 2027 is estimated")


async def test_a_clerk_sees_no_banner(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "clerk")
    app = await asyncio.to_thread(run_notice, shared_api_url, auth, "2026-12-01")
    assert not app.exception, app.exception
    assert len(app.warning) == 0


async def test_no_banner_while_this_year_and_the_next_are_in_the_table(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    app = await asyncio.to_thread(run_notice, api_url, auth, "2017-06-01")  # the fixture's 2017-2018
    assert not app.exception, app.exception
    assert len(app.warning) == 0


async def test_the_app_shows_the_banner_above_every_page_an_administrator_opens(api_url, seeded_url):
    """Through app.py, on the real date: next year's days removed, so it is estimated whatever the
    holiday package knows; the banner heads the first page and the page below it still renders."""
    import datetime
    from zoneinfo import ZoneInfo

    from api.models.calendar import CalendarDay
    from tests.ui_support import UI_SCRIPT, run

    today = datetime.datetime.now(ZoneInfo(Settings.timezone)).date()
    async with db.database(Settings(database_url=seeded_url)):
        await load_year(today.year)
        await CalendarDay.filter(day__gte=datetime.date(today.year + 1, 1, 1)).delete()
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    app = await asyncio.to_thread(run, api_url, UI_SCRIPT, admin)
    assert not app.exception, app.exception
    assert app.warning[0].value.startswith(f"{today.year + 1} 年的工作日历是预估的")
    assert app.title[0].value == "平台覆盖率"  # the page under the banner
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    app = await asyncio.to_thread(run, api_url, UI_SCRIPT, clerk)
    assert not app.exception, app.exception
    assert not [w for w in app.warning if "工作日历" in w.value]
