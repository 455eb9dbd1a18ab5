"""Calendar days say what they are: workday, weekend, holiday or make-up workday (调休上班)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import chinese_calendar
import pytest
from tortoise.exceptions import IntegrityError

from api import db
from api.models.calendar import CalendarDay, CalendarDayKind, CalendarRevision, day_kind
from api.services.calendar import load_year
from api.services.deadlines import estimated_kind, estimated_workday
from api.settings import Settings
from tests.conftest import serving
from tests.test_cli import one_error_line, sanji
from tests.test_migration_0007 import insert
from tests.test_migrations import MIGRATIONS

DAYS = """query ($days: [Date!]) {
  calendarDays(where: {day: {in: $days}}, orderBy: [{day: ASC}]) { nodes { day kind isWorkday holidayName } }
}"""
UPDATE = """mutation ($id: ID!, $input: UpdateCalendarDayInput!) {
  updateCalendarDay(id: $id, input: $input) { day kind isWorkday holidayName }
}"""
IMPORT = """mutation ($days: [CalendarExceptionInput!]!) {
  importCalendar(year: 2027, days: $days) { year daysChanged }
}"""
NATIONAL = chinese_calendar.Holiday.national_day.value


def day(kind: str, is_workday: bool, name: str | None, on: str) -> dict:
    return {"day": on, "kind": kind, "isWorkday": is_workday, "holidayName": name}


async def read_days(url: str, *days: str) -> list[dict]:
    async with serving(url) as anonymous:
        return (await anonymous.data(DAYS, {"days": list(days)}))["calendarDays"]["nodes"]


async def stored(url: str, first: date, last: date) -> tuple[list[tuple], int]:
    """The days between `first` and `last` as stored, and the number of calendar revisions."""
    async with db.database(Settings(database_url=url)):
        rows = await CalendarDay.filter(day__gte=first, day__lte=last).order_by("day")
        revisions = await CalendarRevision.all().count()
    return [(r.day, r.kind, r.is_workday, r.holiday_name, r.source) for r in rows], revisions


async def test_the_api_tells_a_make_up_workday_from_its_holiday_a_weekend_and_a_workday(fresh_url):
    async with db.database(Settings(database_url=fresh_url)):
        await load_year(2026)
    assert await read_days(fresh_url, "2026-10-01", "2026-10-10", "2026-10-12", "2026-10-17") == [
        day("HOLIDAY", False, NATIONAL, "2026-10-01"),
        day("WORKDAY_ADJUSTED", True, NATIONAL, "2026-10-10"),  # a Saturday worked for National Day
        day("WORKDAY", True, None, "2026-10-12"),  # a Monday
        day("WEEKEND", False, None, "2026-10-17"),  # an ordinary Saturday
    ]

    # Integrators can ask for the make-up workdays alone: those the package lists for 2026.
    async with serving(fresh_url) as anonymous:
        found = await anonymous.data(
            "{ calendarDays(where: {kind: {eq: WORKDAY_ADJUSTED}}, orderBy: [{day: ASC}]) "
            "{ nodes { day holidayName } } }"
        )
    package = [
        {"day": d.isoformat(), "holidayName": chinese_calendar.get_holiday_detail(d)[1]}
        for d in (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
        if d.weekday() >= 5 and chinese_calendar.is_workday(d)
    ]
    assert found["calendarDays"]["nodes"] == package
    assert {"day": "2026-10-10", "holidayName": NATIONAL} in package


async def test_a_notice_file_with_make_up_workdays_is_imported_with_their_kind(fresh_url, tmp_path):
    notice = tmp_path / "2027.csv"
    notice.write_text(
        "date,kind,name\n"
        "2027-01-01,HOLIDAY,元旦\n"
        "2027-02-20,WORKDAY_ADJUSTED,春节\n"
        "2027-02-21,workday,春节\n",  # the older spelling, any case, still reads as a make-up workday
        encoding="utf-8",
    )
    result = await sanji(fresh_url, "calendar", "import", str(notice))
    assert result.exit_code == 0, result.output
    assert await read_days(
        fresh_url, "2027-01-01", "2027-02-20", "2027-02-21", "2027-02-22", "2027-02-27"
    ) == [
        day("HOLIDAY", False, "元旦", "2027-01-01"),
        day("WORKDAY_ADJUSTED", True, "春节", "2027-02-20"),
        day("WORKDAY_ADJUSTED", True, "春节", "2027-02-21"),
        day("WORKDAY", True, None, "2027-02-22"),
        day("WEEKEND", False, None, "2027-02-27"),
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("2027-02-20,DAYOFF,春节", "kind 'DAYOFF' is not one a notice lists: HOLIDAY or WORKDAY_ADJUSTED"),
        ("2027-02-27,WEEKEND,春节", "kind 'WEEKEND' is not one a notice lists"),
        (
            "2027-02-22,WORKDAY_ADJUSTED,春节",
            "2027-02-22 is a Monday: a make-up workday (调休上班) is a Saturday",
        ),
        ("2027-02-20,WORKDAY_ADJUSTED,", "name the holiday 2027-02-20 belongs to"),
        ("2027-02-20,WORKDAY_ADJUSTED," + "节" * 41, "longer than 40 characters"),
        ("2027-01-01,HOLIDAY,元旦", "2027-01-01 is listed on line 2 too"),
    ],
)
async def test_a_notice_line_that_cannot_be_right_is_refused_by_its_number_and_nothing_is_written(
    fresh_url, tmp_path, line, says
):
    good = tmp_path / "good.csv"
    good.write_text("date,kind,name\n2027-01-01,HOLIDAY,元旦\n2027-02-20,WORKDAY_ADJUSTED,春节\n", "utf-8")
    assert (await sanji(fresh_url, "calendar", "import", str(good))).exit_code == 0
    before = await stored(fresh_url, date(2027, 1, 1), date(2027, 12, 31))

    bad = tmp_path / "bad.csv"
    bad.write_text(f"date,kind,name\n2027-01-01,HOLIDAY,元旦\n{line}\n2027-10-01,HOLIDAY,国庆节\n", "utf-8")
    error = one_error_line(await sanji(fresh_url, "calendar", "import", str(bad)))
    assert error.startswith("error: line 3: ") and says in error, error
    assert error.endswith("[VALIDATION_FAILED]")
    assert await stored(fresh_url, date(2027, 1, 1), date(2027, 12, 31)) == before


async def test_import_calendar_refuses_a_make_up_workday_on_a_weekday_and_writes_nothing(seeded_url):
    async with serving(seeded_url) as anonymous:
        admin = await anonymous.sign_in()
        before = await stored(seeded_url, date(2027, 1, 1), date(2027, 12, 31))
        error = await admin.error(
            IMPORT,
            {
                "days": [
                    {"day": "2027-01-01", "isWorkday": False, "name": "元旦"},
                    {"day": "2027-02-22", "isWorkday": True, "name": "春节"},
                ]
            },
        )
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "days"}
        assert error["message"] == (
            "days[1]: 2027-02-22 is a Monday: a make-up workday (调休上班) is a Saturday or Sunday worked"
        )
        assert await stored(seeded_url, date(2027, 1, 1), date(2027, 12, 31)) == before == ([], before[1])

        await admin.data(IMPORT, {"days": [{"day": "2027-02-20", "isWorkday": True, "name": "春节"}]})
        saturday = await anonymous.data(DAYS, {"days": ["2027-02-20"]})
    assert saturday["calendarDays"]["nodes"] == [day("WORKDAY_ADJUSTED", True, "春节", "2027-02-20")]


async def test_a_corrected_day_takes_the_kind_its_working_status_weekday_and_holiday_give(seeded_url):
    async with serving(seeded_url) as anonymous:
        admin = await anonymous.sign_in()
        found = await admin.data('{ calendarDays(where: {day: {eq: "2018-03-10"}}) { nodes { id kind } } }')
        [saturday] = found["calendarDays"]["nodes"]
        assert saturday["kind"] == "WEEKEND"

        steps = [
            (
                {"isWorkday": True, "holidayName": "防汛抢险"},
                day("WORKDAY_ADJUSTED", True, "防汛抢险", "2018-03-10"),
            ),
            ({"isWorkday": False}, day("HOLIDAY", False, "防汛抢险", "2018-03-10")),
            ({"holidayName": None}, day("WEEKEND", False, None, "2018-03-10")),
        ]
        for change, expected in steps:
            updated = await admin.data(UPDATE, {"id": saturday["id"], "input": change})
            assert updated["updateCalendarDay"] == expected, change

        # The kind is never written directly: it would contradict the other columns.
        error = await admin.error(UPDATE, {"id": saturday["id"], "input": {"kind": "WORKDAY"}})
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        assert "kind" in error["message"]


async def test_the_database_refuses_a_kind_that_contradicts_is_workday(fresh_db):
    await CalendarDay.create(day=date(2026, 10, 12), is_workday=True)
    with pytest.raises(IntegrityError):
        await CalendarDay.filter(day=date(2026, 10, 12)).update(is_workday=False)
    monday = await CalendarDay.get(day=date(2026, 10, 12))
    assert (monday.kind, monday.is_workday) == (CalendarDayKind.WORKDAY, True)


def test_an_estimated_year_has_holidays_weekends_and_workdays_but_no_make_up_workday():
    assert estimated_kind(date(2027, 10, 1)) == CalendarDayKind.HOLIDAY
    assert estimated_kind(date(2027, 10, 9)) == CalendarDayKind.WEEKEND  # a Saturday: no notice yet
    assert estimated_kind(date(2027, 10, 11)) == CalendarDayKind.WORKDAY
    days = [date(2027, 1, 1) + timedelta(days=n) for n in range(365)]
    assert CalendarDayKind.WORKDAY_ADJUSTED not in {estimated_kind(d) for d in days}
    assert all(estimated_workday(d) == (estimated_kind(d) == CalendarDayKind.WORKDAY) for d in days)


# Days stored before kinds existed, as a package load, a notice and an admin left them.
OLD_DAYS = [
    ("2031-01-01", False, None),  # a Wednesday an admin gave off, unnamed
    ("2031-01-04", True, None),  # a Saturday an admin made a workday, unnamed
    ("2031-01-05", False, " "),  # a Sunday off with a blank name
    ("2031-01-06", True, "测试日"),  # a Monday worked, named
]


def until_0011(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or (n[:4].isdigit() and int(n[:4]) > 11)]


async def test_the_migration_gives_stored_days_their_kind(empty_url, tmp_path, monkeypatch):
    shutil.copytree(MIGRATIONS, tmp_path / "sanji_until_0011", ignore=until_0011)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(database_url=empty_url)
    await db.upgrade(settings, migrations_module="sanji_until_0011")
    package = [
        (d.isoformat(), chinese_calendar.is_workday(d), chinese_calendar.get_holiday_detail(d)[1])
        for d in (date(2026, 1, 1) + timedelta(days=n) for n in range(365))
    ]
    async with db.database(settings) as ctx:
        for n, (on, is_workday, name) in enumerate([*package, *OLD_DAYS], start=1):
            quoted = name.replace("'", "''") if name else name  # New Year's Day
            row = {"id": n, "day": on, "is_workday": is_workday, "holiday_name": quoted}
            row |= {"source": "PACKAGE", "updated_at": "2026-11-01 00:00:00+00:00"}
            await ctx.db().execute_script(insert("calendar_day", row))

    await db.upgrade(settings)

    async with db.database(settings):
        rows = {r.day.isoformat(): r for r in await CalendarDay.all()}
    assert len(rows) == 365 + len(OLD_DAYS)
    for row in rows.values():
        assert row.kind == day_kind(row.day, row.is_workday, row.holiday_name), row.day
    kinds = {on: rows[on].kind.value for on in ["2026-10-01", "2026-10-10", "2026-10-12", "2026-10-17"]}
    kinds |= {on: rows[on].kind.value for on, _, _ in OLD_DAYS}
    assert kinds == {
        "2026-10-01": "HOLIDAY",
        "2026-10-10": "WORKDAY_ADJUSTED",
        "2026-10-12": "WORKDAY",
        "2026-10-17": "WEEKEND",
        "2031-01-01": "HOLIDAY",
        "2031-01-04": "WORKDAY_ADJUSTED",
        "2031-01-05": "WEEKEND",
        "2031-01-06": "WORKDAY",
    }
