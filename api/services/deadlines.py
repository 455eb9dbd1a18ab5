"""Due dates in working days (工作日) on the calendar table, with supplement pauses (补正) left out.

The rules: the day of acceptance is not counted; a limit of N working days ends on the N-th working
day after it; the days of a pause (from the day after the supplement was requested up to and
including the day the case resumed) are not counted either. Days the calendar table lacks are
estimated (`estimated_workday`): weekdays work, weekends and the statutory holidays rest; the result
says so (`estimated`), so a case can show `dueDatesEstimated`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from chinese_calendar import Holiday
from lunar_python import Lunar, Solar

from api.errors import DomainError
from api.models.calendar import CalendarDayKind
from api.settings import Settings

# Deadlines run on the district's time (Beijing time, the legal time of every district): the one
# setting the API's date-times and days use too.
DISTRICT_ZONE = ZoneInfo(Settings.timezone)
RECTIFICATION_WORKING_DAYS = 15
# How far past a due date the calendar is read; longer than any pause a case has had.
CALENDAR_MARGIN = timedelta(days=400)

Pause = tuple[date, date | None]  # (requested on, resumed on); None: still paused


def local_date(moment: datetime) -> date:
    return moment.astimezone(DISTRICT_ZONE).date()


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The days every citizen rests in `year` (全体公民放假的节日) under the rules in force since 2025
    (《全国年节及纪念日放假办法》 as the State Council amended it in November 2024), named as chinese-calendar
    names them: 元旦 1 January; 春节 除夕 to 初三; 清明 the day of the solar term; 劳动节 1-2 May;
    端午 lunar 5/5; 中秋 lunar 8/15; 国庆节 1-3 October. The make-up workdays (调休) and days in lieu
    a notice adds are its own choice and cannot be foreseen."""
    new_year = _lunar(year, 1, 1)
    days = {date(year, 1, 1): Holiday.new_years_day}
    # 除夕 is the last day of the twelfth month, the 29th or the 30th: the day before 初一.
    days |= {new_year + timedelta(days=n): Holiday.spring_festival for n in range(-1, 3)}
    days[_day(Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"])] = Holiday.tomb_sweeping_day
    days |= {date(year, 5, 1): Holiday.labour_day, date(year, 5, 2): Holiday.labour_day}
    days[_lunar(year, 5, 5)] = Holiday.dragon_boat_festival
    days[_lunar(year, 8, 15)] = Holiday.mid_autumn_festival
    days |= {date(year, 10, n): Holiday.national_day for n in (1, 2, 3)}  # 国庆节 wins a shared day
    return MappingProxyType({day: days[day].value for day in sorted(days)})


def _lunar(year: int, month: int, day: int) -> date:
    return _day(Lunar.fromYmd(year, month, day).getSolar())


def _day(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def estimated_kind(day: date) -> CalendarDayKind:
    """A day the calendar table lacks: a statutory holiday, a weekend or a workday. Never a make-up
    workday (调休上班), nor a day off in lieu: only the year's notice names those."""
    if day in statutory_holidays(day.year):
        return CalendarDayKind.HOLIDAY
    return CalendarDayKind.WEEKEND if day.weekday() >= 5 else CalendarDayKind.WORKDAY


def estimated_workday(day: date) -> bool:
    """A day the calendar table lacks: a weekday that is no statutory holiday."""
    return estimated_kind(day) == CalendarDayKind.WORKDAY


def _paused(day: date, pauses: Iterable[Pause]) -> bool:
    return any(start < day and (end is None or day <= end) for start, end in pauses)


def add_working_days(
    start: date, days: int, workdays: Mapping[date, bool], pauses: Iterable[Pause] = ()
) -> tuple[date, bool]:
    """The date `days` working days after `start` (not counting `start` or paused days).

    Returns the date and whether a day missing from `workdays` was estimated.
    """
    if days < 0:
        raise DomainError("VALIDATION_FAILED", "working days cannot be negative", field="days")
    pauses = tuple(pauses)
    if any(end is None for _, end in pauses):
        raise DomainError("INVALID_TRANSITION", "a paused case has no due date until it resumes")
    current, counted, estimated = start, 0, False
    while counted < days:
        current += timedelta(days=1)
        known = workdays.get(current)
        if known is None:
            estimated = True
            known = estimated_workday(current)
        if known and not _paused(current, pauses):
            counted += 1
    return current, estimated


def working_days_between(
    start: date, end: date, workdays: Mapping[date, bool], pauses: Iterable[Pause] = ()
) -> int:
    """Working days after `start` up to and including `end`, paused days left out."""
    pauses = tuple(pauses)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        known = workdays.get(current)
        if known is None:
            known = estimated_workday(current)
        if known and not _paused(current, pauses):
            count += 1
    return count


@dataclass(frozen=True)
class DueDates:
    legal: date
    promised: date
    estimated: bool


def due_dates(
    accepted_on: date,
    legal_limit: int,
    promised_limit: int,
    workdays: Mapping[date, bool],
    pauses: Iterable[Pause] = (),
) -> DueDates:
    pauses = tuple(pauses)
    legal, legal_estimated = add_working_days(accepted_on, legal_limit, workdays, pauses)
    promised, promised_estimated = add_working_days(accepted_on, promised_limit, workdays, pauses)
    return DueDates(legal, promised, legal_estimated or promised_estimated)


async def workday_map(start: date, end: date) -> dict[date, bool]:
    """The calendar table's days from `start` to `end` (days it lacks are simply absent)."""
    from api.models.calendar import CalendarDay

    rows = await CalendarDay.filter(day__gte=start, day__lte=end).values_list("day", "is_workday")
    return dict(rows)


async def calendar_for(start: date) -> dict[date, bool]:
    """The calendar from `start` far enough ahead for any limit."""
    return await workday_map(start, start + CALENDAR_MARGIN)
