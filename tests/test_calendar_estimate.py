"""Days the calendar table lacks are estimated: weekdays work, weekends and statutory holidays rest."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from api.services.deadlines import add_working_days, statutory_holidays, working_days_between

NEW_YEAR, SPRING = (
    chinese_calendar.Holiday.new_years_day.value,
    chinese_calendar.Holiday.spring_festival.value,
)
QINGMING, LABOUR = chinese_calendar.Holiday.tomb_sweeping_day.value, chinese_calendar.Holiday.labour_day.value
DRAGON_BOAT = chinese_calendar.Holiday.dragon_boat_festival.value
MID_AUTUMN = chinese_calendar.Holiday.mid_autumn_festival.value
NATIONAL = chinese_calendar.Holiday.national_day.value


def official(first: date, last: date) -> dict[date, bool]:
    """The package's days, as `sanji db upgrade` copies them into the table."""
    days, day = {}, first
    while day <= last:
        days[day] = chinese_calendar.is_workday(day)
        day += timedelta(days=1)
    return days


def test_five_working_days_from_28_december_2026_skip_new_years_day_and_say_estimated():
    december = official(date(2026, 12, 1), date(2026, 12, 31))
    # 29, 30, 31 December; 1 January rests (元旦), 2-3 are the weekend; then 4 and 5 January.
    assert add_working_days(date(2026, 12, 28), 5, december) == (date(2027, 1, 5), True)


def test_working_days_taken_across_an_estimated_new_year_leave_the_holiday_out():
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 4), {}) == 1


def test_the_2027_estimate_is_the_statutory_holidays_of_the_rules_in_force_since_2025():
    assert statutory_holidays(2027) == {
        date(2027, 1, 1): NEW_YEAR,
        date(2027, 2, 5): SPRING,  # 除夕: the lunar year 2026 ends on its 12th month's 29th day
        date(2027, 2, 6): SPRING,  # 正月初一
        date(2027, 2, 7): SPRING,
        date(2027, 2, 8): SPRING,  # 初三
        date(2027, 4, 5): QINGMING,  # the 清明 solar term
        date(2027, 5, 1): LABOUR,
        date(2027, 5, 2): LABOUR,
        date(2027, 6, 9): DRAGON_BOAT,  # lunar 5/5
        date(2027, 9, 15): MID_AUTUMN,  # lunar 8/15
        date(2027, 10, 1): NATIONAL,
        date(2027, 10, 2): NATIONAL,
        date(2027, 10, 3): NATIONAL,
    }


def test_spring_festival_eve_is_the_last_day_of_a_thirty_day_twelfth_month_too():
    # Lunar year 2029's twelfth month has 30 days: 除夕 is 12/30, 2 February 2030 (初一 the 3rd).
    assert [day for day, name in statutory_holidays(2030).items() if name == SPRING] == [
        date(2030, 2, 2),
        date(2030, 2, 3),
        date(2030, 2, 4),
        date(2030, 2, 5),
    ]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_estimated_holiday_is_a_holiday_of_the_official_calendar_under_the_same_rules(year):
    for day, name in statutory_holidays(year).items():
        on_holiday, official_name = chinese_calendar.get_holiday_detail(day)
        assert on_holiday, day
        # The package names a day once; Mid-Autumn on a National Day keeps the latter's name.
        assert official_name in (name, NATIONAL), day


def test_an_estimated_spring_festival_rests_from_the_eve_to_the_third_day_with_no_make_up_day():
    # Fri 5 February (除夕) to Mon 8 February (初三) rest; a make-up workday (调休) is the notice's
    # choice, so the estimate has none and the weekend between rests as well.
    days = official(date(2026, 12, 1), date(2026, 12, 31))
    assert add_working_days(date(2027, 2, 4), 1, days) == (date(2027, 2, 9), True)
