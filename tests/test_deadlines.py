"""Working-day due dates: holidays, make-up workdays (调休), supplement pauses, unknown years, corrections."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from api import db
from api.errors import DomainError
from api.services.calendar import load_year, parse_notice
from api.services.deadlines import add_working_days, due_dates, workday_map, working_days_between
from api.settings import Settings
from tests.conftest import serving

DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def year_2026(fresh_db):
    await load_year(2026)
    return await workday_map(date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("accepted", "limit", "due"),
    [
        (date(2026, 9, 30), 5, date(2026, 10, 13)),  # National Day: 8, 9, make-up Sat 10, 12, 13 Oct
        (date(2026, 9, 28), 5, date(2026, 10, 10)),  # ends on the make-up Saturday
        (date(2026, 9, 19), 1, date(2026, 9, 20)),  # Saturday's next working day is the make-up Sunday
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Spring Festival's make-up Saturday
        (date(2026, 2, 13), 2, date(2026, 2, 24)),  # then nine days off, 15-23 February
        (date(2026, 2, 13), 6, date(2026, 2, 28)),  # and the second make-up Saturday
        (date(2026, 2, 16), 0, date(2026, 2, 16)),  # an immediate item (即办件) is due the day it is accepted
    ],
)
async def test_due_dates_cross_the_2026_holidays_with_their_make_up_days(year_2026, accepted, limit, due):
    assert add_working_days(accepted, limit, year_2026) == (due, False)


async def test_a_pause_over_spring_festival_moves_the_due_date_by_the_working_days_paused(year_2026):
    # Accepted Thu 12 Feb; papers asked for Fri 13 Feb (counted), brought Wed 25 Feb.
    pause = [(date(2026, 2, 13), date(2026, 2, 25))]
    due = due_dates(date(2026, 2, 12), 20, 5, year_2026, pause)
    # 13 Feb counts; 14, 24 and 25 Feb are paused; then 26, 27, 28 Feb and 2 Mar.
    assert (due.promised, due.estimated) == (date(2026, 3, 2), False)
    assert working_days_between(date(2026, 2, 12), date(2026, 3, 2), year_2026, pause) == 5


def test_a_case_still_paused_has_no_due_date():
    with pytest.raises(DomainError) as error:
        add_working_days(date(2026, 2, 12), 5, {}, [(date(2026, 2, 13), None)])
    assert error.value.code == "INVALID_TRANSITION"


def test_a_notice_file_is_read_strictly():
    year, days = parse_notice("date,kind,name\n# 元旦\n2027-01-01,HOLIDAY,元旦\n2027-02-20,workday,春节\n")
    assert year == 2027 and [(d.day, d.is_workday) for d in days] == [
        (date(2027, 1, 1), False),
        (date(2027, 2, 20), True),
    ]
    for bad, fragment in [
        ("2027-01-01,HOLIDAY", "line 1"),
        ("2027-13-01,HOLIDAY,元旦", "not a date"),
        ("2027-01-01,OFF,元旦", "HOLIDAY or WORKDAY_ADJUSTED"),
        ("2027-01-01,HOLIDAY,元旦\n2028-01-01,HOLIDAY,元旦", "one year"),
    ]:
        with pytest.raises(DomainError) as error:
            parse_notice(bad)
        assert fragment in error.value.message and error.value.code == "VALIDATION_FAILED"


CASE = "id version acceptedOn promisedDueDate dueDatesEstimated calendarRevision { source description }"


async def test_a_year_the_package_lacks_is_estimated_until_the_notice_is_imported(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        await load_year(2026)
    moment = datetime(2026, 12, 28, 10, 0, tzinfo=DISTRICT_ZONE)
    async with serving(seeded_url, clock=moment.timestamp) as anonymous:
        clerk, admin = await anonymous.sign_in("clerk"), await anonymous.sign_in("admin")
        item = (
            await clerk.data('{ items(where: {code: {eq: "XK-003"}}) { nodes { id promisedLimitDays } } }')
        )["items"]["nodes"][0]
        submitted = await clerk.data(
            f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", applicantType: PERSON, '
            'applicantName: "李四", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) '
            "{ case { id version } } }"
        )
        case = submitted["submitCase"]["case"]
        accepted = await clerk.data(f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ {CASE} }} }}')
        case = accepted["acceptCase"]
        limit = item["promisedLimitDays"]
        assert limit >= 3
        # 2027 is not in chinese-calendar yet: estimated (weekdays, statutory holidays), and the case says so.
        assert case["dueDatesEstimated"] is True
        estimated = case["promisedDueDate"]

        # An intern's mistake first: only administrators import a year.
        error = await clerk.error("mutation { importCalendar(year: 2027, days: []) { year } }")
        assert error["extensions"]["code"] == "FORBIDDEN"
        error = await admin.error(
            "mutation { importCalendar(year: 2027, "
            'days: [{day: "2028-01-01", isWorkday: false, name: "元旦"}]) { year } }'
        )
        assert error["extensions"]["code"] == "VALIDATION_FAILED" and "not in 2027" in error["message"]

        # The notice (an example): New Year's Day off, and a working Saturday after it.
        imported = await admin.data(
            "mutation { importCalendar(year: 2027, "
            'days: [{day: "2027-01-01", isWorkday: false, name: "元旦"}, '
            '{day: "2027-01-02", isWorkday: true, name: "元旦"}]) { year daysChanged casesRecomputed } }'
        )
        assert imported["importCalendar"]["daysChanged"] >= 1
        after = (await clerk.data(f'{{ case(id: "{case["id"]}") {{ {CASE} }} }}'))["case"]
        assert after["dueDatesEstimated"] is False
        assert after["calendarRevision"] == {"source": "IMPORT", "description": "2027 notice"}
        expected = add_working_days(
            date(2026, 12, 28),
            limit,
            {**await _days(seeded_url, date(2026, 12, 1), date(2027, 3, 31))},
        )[0]
        assert after["promisedDueDate"] == expected.isoformat()
        assert imported["importCalendar"]["casesRecomputed"] == 1  # no longer estimated
        assert (
            estimated
            == add_working_days(
                date(2026, 12, 28), limit, {**await _days(seeded_url, date(2026, 12, 1), date(2026, 12, 31))}
            )[0].isoformat()
        )

        # An administrator then corrects one day (a local day off): the stored due date moves again.
        day = await admin.data(
            f'{{ calendarDays(where: {{day: {{eq: "{expected.isoformat()}"}}}}) {{ nodes {{ id }} }} }}'
        )
        day_id = day["calendarDays"]["nodes"][0]["id"]
        await admin.data(
            f'mutation {{ updateCalendarDay(id: "{day_id}", '
            'input: {isWorkday: false, holidayName: "防汛停工"}) { id } }'
        )
        corrected = (await clerk.data(f'{{ case(id: "{case["id"]}") {{ {CASE} }} }}'))["case"]
        assert corrected["promisedDueDate"] > expected.isoformat()
        assert corrected["calendarRevision"]["source"] == "ADMIN"


async def _days(url: str, first: date, last: date) -> dict[date, bool]:
    async with db.database(Settings(database_url=url)):
        return await workday_map(first, last)
