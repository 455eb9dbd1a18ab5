"""The working-day calendar: filled from chinese-calendar, never crashing on a year it lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from api.errors import DomainError
from api.models.calendar import CalendarDay, CalendarRevision, CalendarSource


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
    """Copy `year` into the calendar table; days an admin corrected or imported are kept.

    Returns the rows written; a change is recorded as a calendar revision and the due dates of
    cases it touches are recomputed."""
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
    written = len(new_rows) + len(changed)
    if written:
        await revise(
            CalendarSource.PACKAGE,
            [d for d, *_ in days],
            written,
            f"chinese-calendar {chinese_calendar.__version__}: {year}",
        )
    return written


@dataclass(frozen=True)
class DayOff:
    """One exception to the weekday rule in a State Council notice: a holiday or a make-up workday."""

    day: date
    is_workday: bool
    name: str


async def import_year(year: int, exceptions: list[DayOff]) -> tuple[int, int]:
    """Write every day of `year` from the notice: weekdays work, weekends rest, except as listed.

    Replaces the package's and earlier imported days (days an admin corrected one by one are
    replaced too: the notice is the authority). Returns the days whose working status changed and
    the cases whose due dates changed with them.
    """
    if not 2000 <= year <= 2100:
        raise DomainError("VALIDATION_FAILED", f"year {year} is out of range", field="year")
    listed: dict[date, DayOff] = {}
    for index, entry in enumerate(exceptions):
        if entry.day.year != year:
            raise DomainError(
                "VALIDATION_FAILED", f"days[{index}]: {entry.day} is not in {year}", field="days"
            )
        if entry.day in listed:
            raise DomainError(
                "VALIDATION_FAILED", f"days[{index}]: {entry.day} is listed twice", field="days"
            )
        if not entry.name.strip():
            raise DomainError(
                "VALIDATION_FAILED", f"days[{index}]: name the holiday {entry.day} belongs to", field="days"
            )
        listed[entry.day] = entry
    existing = {
        row.day: row
        for row in await CalendarDay.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31))
    }
    new_rows, updated, changed_days = [], [], []
    day = date(year, 1, 1)
    while day.year == year:
        entry = listed.get(day)
        is_workday = entry.is_workday if entry else day.weekday() < 5
        name = entry.name.strip() if entry else None
        row = existing.get(day)
        if row is None:
            new_rows.append(
                CalendarDay(day=day, is_workday=is_workday, holiday_name=name, source=CalendarSource.IMPORT)
            )
            changed_days.append(day)
        elif (row.is_workday, row.holiday_name, row.source) != (is_workday, name, CalendarSource.IMPORT):
            if row.is_workday != is_workday:
                changed_days.append(day)
            row.is_workday, row.holiday_name, row.source = is_workday, name, CalendarSource.IMPORT
            updated.append(row)
        day += timedelta(days=1)
    if new_rows:
        await CalendarDay.bulk_create(new_rows, batch_size=500)
    if updated:
        await CalendarDay.bulk_update(
            updated, fields=["is_workday", "holiday_name", "source"], batch_size=500
        )
    recomputed = 0
    if new_rows or updated:
        recomputed = await revise(
            CalendarSource.IMPORT,
            changed_days or [date(year, 1, 1)],
            len(new_rows) + len(updated),
            f"{year} notice",
        )
    return len(changed_days), recomputed


async def revise(source: CalendarSource, days: list[date], count: int, description: str) -> int:
    """Record a change of the calendar and recompute the due dates it touches; returns cases changed."""
    from api.services.cases import recompute_after_calendar_change

    first, last = min(days), max(days)
    revision = await CalendarRevision.create(
        source=source, first_day=first, last_day=last, days_changed=count, description=description[:200]
    )
    return await recompute_after_calendar_change(first, last, revision.id)


def parse_notice(text: str) -> tuple[int, list[DayOff]]:
    """A notice file: CSV lines `date,kind,name` with kind HOLIDAY or WORKDAY (调休); `#` comments.

    All dates must fall in one year, which the file is for.
    """
    entries: list[DayOff] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().startswith("date,"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            raise DomainError("VALIDATION_FAILED", f"line {number}: expected date,kind,name", field="file")
        raw_day, kind, name = parts
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise DomainError(
                "VALIDATION_FAILED", f"line {number}: {raw_day!r} is not a date (YYYY-MM-DD)", field="file"
            ) from None
        if kind.upper() not in ("HOLIDAY", "WORKDAY"):
            raise DomainError(
                "VALIDATION_FAILED",
                f"line {number}: kind must be HOLIDAY or WORKDAY, got {kind!r}",
                field="file",
            )
        entries.append(DayOff(day, kind.upper() == "WORKDAY", name))
    years = {e.day.year for e in entries}
    if len(years) != 1:
        raise DomainError(
            "VALIDATION_FAILED", "a notice file lists the days of exactly one year", field="file"
        )
    return years.pop(), entries


async def day_corrected(day: CalendarDay, created: bool) -> None:
    """An admin created or changed one day (either way): it is theirs now (a package reload keeps it)."""
    if day.source != CalendarSource.ADMIN:
        day.source = CalendarSource.ADMIN
        await CalendarDay.filter(id=day.id).update(source=CalendarSource.ADMIN)
    name = f"{day.day}: {'workday' if day.is_workday else 'day off'}"
    await revise(CalendarSource.ADMIN, [day.day], 1, f"corrected {name}")
