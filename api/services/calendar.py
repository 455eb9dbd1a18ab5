"""The working-day calendar: filled from chinese-calendar, never crashing on a year it lacks."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from api.errors import DomainError
from api.models.calendar import CalendarDay, CalendarSource


def package_days(year: int) -> list[tuple[date, bool, str | None]]:
    """(day, is_workday, holiday name) for every day of `year` as chinese-calendar knows it."""
    days = []
    day = date(year, 1, 1)
    try:
        while day.year == year:
            # A make-up workday (调休) keeps the holiday's name while being a workday.
            _, holiday_name = chinese_calendar.get_holiday_detail(day)
            days.append((day, chinese_calendar.is_workday(day), holiday_name))
            day += timedelta(days=1)
    except NotImplementedError:
        raise DomainError(
            "CALENDAR_UNAVAILABLE",
            f"chinese-calendar {chinese_calendar.__version__} does not know {year} yet; "
            f"import the year's days from the State Council notice instead",
            field="year",
        ) from None
    return days


async def load_year(year: int) -> int:
    """Copy `year` into the calendar table; days an admin corrected are kept. Returns rows written."""
    days = package_days(year)
    existing = {
        row.day: row
        for row in await CalendarDay.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31))
    }
    new_rows, changed = [], []
    for day, is_workday, name in days:
        row = existing.get(day)
        if row is None:
            new_rows.append(
                CalendarDay(day=day, is_workday=is_workday, holiday_name=name, source=CalendarSource.PACKAGE)
            )
        elif row.source == CalendarSource.PACKAGE and (row.is_workday, row.holiday_name) != (
            is_workday,
            name,
        ):
            row.is_workday, row.holiday_name = is_workday, name
            changed.append(row)
    if new_rows:
        await CalendarDay.bulk_create(new_rows, batch_size=500)
    if changed:
        await CalendarDay.bulk_update(changed, fields=["is_workday", "holiday_name"], batch_size=500)
    return len(new_rows) + len(changed)


async def workday_map(start: date, end: date) -> dict[date, bool]:
    rows = await CalendarDay.filter(day__gte=start, day__lte=end).values_list("day", "is_workday")
    return dict(rows)


def add_working_days(start: date, days: int, workdays: dict[date, bool]) -> tuple[date, bool]:
    """The date `days` working days after `start` (the start day itself is not counted).

    Days missing from `workdays` fall back to the weekday rule; the flag says whether any was
    needed, so the caller can mark the due date as estimated.
    """
    if days < 0:
        raise DomainError("VALIDATION_FAILED", "working days cannot be negative", field="days")
    current, counted, estimated = start, 0, False
    while counted < days:
        current += timedelta(days=1)
        known = workdays.get(current)
        if known is None:
            estimated = True
            known = current.weekday() < 5
        counted += known
    return current, estimated
