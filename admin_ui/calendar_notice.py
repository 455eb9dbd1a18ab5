"""The banner that tells an administrator this year's or next year's working-day calendar is estimated."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.i18n import add, t
from api.settings import Settings

add(
    {
        "calendar_notice_estimated": {
            "zh": "{years} 年的工作日历是预估的：周一至周五上班，周末和法定节假日（元旦、春节、清明、"
            "劳动节、端午、中秋、国庆）休息，调休无法预知；期限落在其中的办件标为“预估”。"
            "国务院公布放假安排后，请导入该年：命令行 `sanji calendar import 文件`"
            "（CSV，每行 date,kind,name），或 GraphQL 变更 `importCalendar(year, days)`；"
            "个别日期可在“数据浏览”的工作日历（calendarDays）中更正。"
            "日历软件包升级后已收录的年份，运行 `sanji db upgrade` 即可载入。",
            "en": "The working-day calendar of {years} is estimated: weekdays work, weekends and the "
            "statutory holidays (New Year's Day, Spring Festival, Qingming, Labour Day, Dragon Boat, "
            "Mid-Autumn, National Day) rest, and no make-up workday (调休) can be foreseen; cases due "
            "on those days are marked estimated. When the State Council publishes the year's holidays, "
            "import them: `sanji calendar import FILE` (CSV lines date,kind,name) or the GraphQL "
            "mutation `importCalendar(year, days)`; single days can be corrected in the data browser "
            "(calendarDays). A year a newer chinese-calendar knows is loaded by `sanji db upgrade`.",
        },
    }
)

# Days per year in the calendar table: a year missing any of its days is estimated (as the API's
# due dates and `sanji calendar status` judge it).
DAYS_PER_YEAR = """query CalendarDaysPerYear($first: Date!, $last: Date!) {
  calendarDaysAggregate(where: {day: {gte: $first, lte: $last}}, groupBy: [{day: YEAR}]) {
    groups { keys { day } count }
  }
}"""
JOINERS = {"zh": "、", "en": " and "}


def render(today: dt.date | None = None) -> None:
    """For an administrator: a warning while this year or the next (in the district) is estimated."""
    auth = session.current()
    if auth is None or auth.role != "ADMIN":
        return
    years = estimated_years(today or dt.datetime.now(ZoneInfo(Settings.timezone)).date())
    if years:
        lang = session.lang()
        st.warning(t("calendar_notice_estimated", lang).format(years=JOINERS[lang].join(map(str, years))))


def estimated_years(today: dt.date) -> list[int]:
    """This year and the next, those the calendar table lacks days of."""
    years = (today.year, today.year + 1)
    try:
        data = session.query(DAYS_PER_YEAR, {"first": f"{years[0]}-01-01", "last": f"{years[1]}-12-31"})
    except ApiError:
        return []  # the page below the banner shows the API's refusal itself
    held = {int(g["keys"]["day"][:4]): g["count"] for g in data["calendarDaysAggregate"]["groups"]}
    return [year for year in years if held.get(year, 0) < _days_in(year)]


def _days_in(year: int) -> int:
    return (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
