from datetime import date

import pytest

from api.errors import DomainError
from api.models.calendar import CalendarDay, CalendarDayKind, CalendarSource
from api.services.calendar import load_year
from api.services.deadlines import add_working_days, workday_map


async def test_a_year_is_copied_with_make_up_workdays_and_holiday_names(fresh_db):
    assert await load_year(2026) == 365
    make_up = await CalendarDay.get(day=date(2026, 9, 20))
    assert (make_up.is_workday, make_up.holiday_name) == (True, "National Day")
    national_day = await CalendarDay.get(day=date(2026, 10, 1))
    assert (national_day.is_workday, national_day.holiday_name) == (False, "National Day")
    assert await load_year(2026) == 0


async def test_five_working_days_across_national_day_2026(fresh_db):
    await load_year(2026)
    workdays = await workday_map(date(2026, 9, 1), date(2026, 10, 31))
    assert add_working_days(date(2026, 9, 30), 5, workdays) == (date(2026, 10, 13), False)


async def test_days_an_admin_corrected_survive_a_reload(fresh_db):
    await load_year(2026)
    await CalendarDay.filter(day=date(2026, 10, 9)).update(
        is_workday=False, holiday_name="本地调整", kind=CalendarDayKind.HOLIDAY, source=CalendarSource.ADMIN
    )
    await load_year(2026)
    corrected = await CalendarDay.get(day=date(2026, 10, 9))
    assert (corrected.is_workday, corrected.holiday_name) == (False, "本地调整")


async def test_an_unknown_year_is_refused_with_a_clear_code(fresh_db):
    with pytest.raises(DomainError) as error:
        await load_year(2027)
    assert error.value.code == "CALENDAR_UNAVAILABLE"
    assert not await CalendarDay.filter(day__gte=date(2027, 1, 1)).exists()


def test_days_missing_from_the_calendar_are_estimated_and_say_so():
    due, estimated = add_working_days(date(2027, 1, 1), 3, {})
    assert (due, estimated) == (date(2027, 1, 6), True)
