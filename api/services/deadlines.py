"""Due dates in working days (工作日) on the calendar table, with supplement pauses (补正) left out.

The rules: the day of acceptance is not counted; a limit of N working days ends on the N-th working
day after it; the days of a pause (from the day after the supplement was requested up to and
including the day the case resumed) are not counted either. Days the calendar table lacks follow
the weekday rule, and the result says so (`estimated`), so a case can show `dueDateEstimated`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.errors import DomainError

# Deadlines run on Beijing time, the legal time of every district.
BEIJING = ZoneInfo("Asia/Shanghai")
RECTIFICATION_WORKING_DAYS = 15
# How far past a due date the calendar is read; longer than any pause a case has had.
CALENDAR_MARGIN = timedelta(days=400)

Pause = tuple[date, date | None]  # (requested on, resumed on); None: still paused


def local_date(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _paused(day: date, pauses: Iterable[Pause]) -> bool:
    return any(start < day and (end is None or day <= end) for start, end in pauses)


def add_working_days(
    start: date, days: int, workdays: Mapping[date, bool], pauses: Iterable[Pause] = ()
) -> tuple[date, bool]:
    """The date `days` working days after `start` (not counting `start` or paused days).

    Returns the date and whether a day missing from `workdays` was judged by the weekday rule.
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
            known = current.weekday() < 5
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
        known = workdays.get(current, current.weekday() < 5)
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
