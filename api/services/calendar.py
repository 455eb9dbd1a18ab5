"""The working-day calendar: filled from chinese-calendar, never crashing on a year it lacks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import chinese_calendar

from api.errors import DomainError
from api.models.calendar import CalendarDay, CalendarDayKind, CalendarRevision, CalendarSource, day_kind


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


def package_years() -> range:
    """The years chinese-calendar knows (the bounds it checks every date against)."""
    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


async def load_year(year: int) -> int:
    """Copy `year` into the calendar table; days an admin corrected or imported are kept.

    Returns the rows written; a change is recorded as a calendar revision and the due dates of
    cases it touches are recomputed."""
    return (await load_years(range(year, year + 1))).days_written


@dataclass(frozen=True)
class Loaded:
    years: range
    days_written: int
    cases_recomputed: int


async def load_years(years: range) -> Loaded:
    """Copy `years` from chinese-calendar in one read and bulk writes; days an admin corrected or
    imported are kept. Each run of consecutive years that changed is one calendar revision, whose
    span bounds the cases recomputed (one span 2004-2026 would recompute every case there is)."""
    plans = {year: package_days(year) for year in years}
    existing = {
        row.day: row
        for row in await CalendarDay.filter(
            day__gte=date(years.start, 1, 1), day__lte=date(years.stop - 1, 12, 31)
        )
    }
    new_rows, changed, written = [], [], {}
    for year, days in plans.items():
        year_new, year_changed = _package_changes(days, existing)
        new_rows += year_new
        changed += year_changed
        if year_new or year_changed:
            written[year] = len(year_new) + len(year_changed)
    if new_rows:
        await CalendarDay.bulk_create(new_rows, batch_size=500)
    if changed:
        await CalendarDay.bulk_update(changed, fields=["is_workday", "holiday_name", "kind"], batch_size=500)
    recomputed = 0
    for first, last in _runs(sorted(written)):
        span = f"{first}" if first == last else f"{first}-{last}"
        recomputed += await revise(
            CalendarSource.PACKAGE,
            [date(first, 1, 1), date(last, 12, 31)],
            sum(written[year] for year in range(first, last + 1)),
            f"chinese-calendar {chinese_calendar.__version__}: {span}",
        )
    return Loaded(years, len(new_rows) + len(changed), recomputed)


def _package_changes(
    days: list[tuple[date, bool, str | None]], existing: dict[date, CalendarDay]
) -> tuple[list[CalendarDay], list[CalendarDay]]:
    """Rows to insert and package rows to update; rows an admin or a notice wrote are left alone."""
    new_rows, changed = [], []
    for day, is_workday, name in days:
        row = existing.get(day)
        kind = day_kind(day, is_workday, name)
        if row is None:
            new_rows.append(_new_row(day, is_workday, name, kind, CalendarSource.PACKAGE))
        elif row.source == CalendarSource.PACKAGE and (row.is_workday, row.holiday_name, row.kind) != (
            is_workday,
            name,
            kind,
        ):
            row.is_workday, row.holiday_name, row.kind = is_workday, name, kind
            changed.append(row)
    return new_rows, changed


def _new_row(
    day: date, is_workday: bool, name: str | None, kind: CalendarDayKind, source: CalendarSource
) -> CalendarDay:
    """A row for a bulk insert (which skips `CalendarDay.save`, where the kind is derived)."""
    return CalendarDay(day=day, is_workday=is_workday, holiday_name=name, kind=kind, source=source)


def _runs(years: list[int]) -> list[tuple[int, int]]:
    """Sorted years as runs of consecutive ones: [2004, 2005, 2019] -> [(2004, 2005), (2019, 2019)]."""
    runs: list[tuple[int, int]] = []
    for year in years:
        if runs and runs[-1][1] == year - 1:
            runs[-1] = (runs[-1][0], year)
        else:
            runs.append((year, year))
    return runs


HOLIDAY_NAME_LENGTH = CalendarDay._meta.fields_map["holiday_name"].max_length


@dataclass(frozen=True)
class DayOff:
    """One exception to the weekday rule in a State Council notice: a holiday or a make-up workday."""

    day: date
    is_workday: bool
    name: str

    def problem(self) -> str | None:
        """What makes the entry impossible in a notice, if anything."""
        if not self.name.strip():
            return f"name the holiday {self.day} belongs to"
        if len(self.name.strip()) > HOLIDAY_NAME_LENGTH:
            return f"the name of {self.day}'s holiday is longer than {HOLIDAY_NAME_LENGTH} characters"
        if self.is_workday and self.day.weekday() < 5:
            weekday = f"{self.day} is a {self.day:%A}"
            return f"{weekday}: a make-up workday (调休上班) is a Saturday or Sunday worked"
        return None


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
        if problem := entry.problem():
            raise DomainError("VALIDATION_FAILED", f"days[{index}]: {problem}", field="days")
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
        kind = day_kind(day, is_workday, name)
        row = existing.get(day)
        if row is None:
            new_rows.append(_new_row(day, is_workday, name, kind, CalendarSource.IMPORT))
            changed_days.append(day)
        elif (row.is_workday, row.holiday_name, row.kind, row.source) != (
            is_workday,
            name,
            kind,
            CalendarSource.IMPORT,
        ):
            if row.is_workday != is_workday:
                changed_days.append(day)
            row.is_workday, row.holiday_name, row.kind = is_workday, name, kind
            row.source = CalendarSource.IMPORT
            updated.append(row)
        day += timedelta(days=1)
    if new_rows:
        await CalendarDay.bulk_create(new_rows, batch_size=500)
    if updated:
        await CalendarDay.bulk_update(
            updated, fields=["is_workday", "holiday_name", "kind", "source"], batch_size=500
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


# The kinds a notice file lists, as calendar days' kinds; WORKDAY is the older spelling of a
# make-up workday (files written for it still import).
NOTICE_KINDS = {
    CalendarDayKind.HOLIDAY.value: CalendarDayKind.HOLIDAY,
    CalendarDayKind.WORKDAY_ADJUSTED.value: CalendarDayKind.WORKDAY_ADJUSTED,
    "WORKDAY": CalendarDayKind.WORKDAY_ADJUSTED,
}


def parse_notice(text: str) -> tuple[int, list[DayOff]]:
    """A notice file: CSV lines `date,kind,name` with kind HOLIDAY (放假) or WORKDAY_ADJUSTED
    (调休上班, also written WORKDAY); `#` comments. All dates must fall in one year, which the
    file is for; a line that cannot be read is refused by its number, before anything is written.
    """
    entries: list[DayOff] = []
    seen: dict[date, int] = {}
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
        if kind.upper() not in NOTICE_KINDS:
            raise DomainError(
                "VALIDATION_FAILED",
                f"line {number}: kind {kind!r} is not one a notice lists: HOLIDAY or WORKDAY_ADJUSTED "
                "(调休上班, also written WORKDAY); every other day follows the weekday rule",
                field="file",
            )
        entry = DayOff(day, NOTICE_KINDS[kind.upper()] == CalendarDayKind.WORKDAY_ADJUSTED, name)
        if problem := entry.problem():
            raise DomainError("VALIDATION_FAILED", f"line {number}: {problem}", field="file")
        if day in seen:
            raise DomainError(
                "VALIDATION_FAILED", f"line {number}: {day} is listed on line {seen[day]} too", field="file"
            )
        seen[day] = number
        entries.append(entry)
    years = {e.day.year for e in entries}
    if len(years) != 1:
        raise DomainError(
            "VALIDATION_FAILED", "a notice file lists the days of exactly one year", field="file"
        )
    return years.pop(), entries


async def day_corrected(day: CalendarDay, before: dict[str, Any] | None) -> None:
    """An admin created or changed one day (either way): it is theirs now (a package reload keeps it)."""
    if day.source != CalendarSource.ADMIN:
        day.source = CalendarSource.ADMIN
        await CalendarDay.filter(id=day.id).update(source=CalendarSource.ADMIN)
    name = f"{day.day}: {'workday' if day.is_workday else 'day off'}"
    await revise(CalendarSource.ADMIN, [day.day], 1, f"corrected {name}")


class YearKind(StrEnum):
    OFFICIAL = "official"  # copied from chinese-calendar
    IMPORTED = "imported"  # from a State Council notice
    ENTERED = "entered"  # every day entered by an admin
    ESTIMATED = "estimated"  # days missing: weekdays and statutory holidays (deadlines.estimated_workday)


@dataclass(frozen=True)
class YearStatus:
    """Where the days of one year in the calendar table come from."""

    year: int
    package: int
    imported: int
    admin: int

    @property
    def days(self) -> int:
        return (date(self.year + 1, 1, 1) - date(self.year, 1, 1)).days

    @property
    def missing(self) -> int:
        return self.days - self.package - self.imported - self.admin

    @property
    def package_knows(self) -> bool:
        return self.year in package_years()

    @property
    def kind(self) -> YearKind:
        if self.missing:
            return YearKind.ESTIMATED
        if self.imported:
            return YearKind.IMPORTED
        return YearKind.OFFICIAL if self.package else YearKind.ENTERED

    def describe(self) -> str:
        """Where the year's days come from, in one line (`sanji calendar status`)."""
        corrected = f", {self.admin} corrected by an admin" if self.admin else ""
        if self.kind == YearKind.OFFICIAL:
            return f"{self.package} days from chinese-calendar {chinese_calendar.__version__}{corrected}"
        if self.kind == YearKind.IMPORTED:
            return f"{self.imported} days from a State Council notice{corrected}"
        if self.kind == YearKind.ENTERED:
            return f"{self.admin} days entered by an admin"
        held = self.days - self.missing
        rest = f"{held} of {self.days} days in the table, the rest: " if held else ""
        if self.package_knows:
            return (
                f"{rest}weekdays and statutory holidays until `sanji db upgrade` copies it from the package"
            )
        return (
            f"{rest}weekdays and statutory holidays, no make-up workdays (调休) can be foreseen; "
            "import the State Council notice when it is out: sanji calendar import FILE"
        )


async def year_statuses(today: date) -> list[YearStatus]:
    """Every year the package knows or the table holds days of, and `today`'s year and the next."""
    counts: dict[int, Counter] = {}
    for day, source in await CalendarDay.all().values_list("day", "source"):
        counts.setdefault(day.year, Counter())[CalendarSource(source)] += 1
    years = sorted({*package_years(), *counts, today.year, today.year + 1})
    statuses = []
    for year in years:
        found = counts.get(year, Counter())
        statuses.append(
            YearStatus(
                year,
                package=found[CalendarSource.PACKAGE],
                imported=found[CalendarSource.IMPORT],
                admin=found[CalendarSource.ADMIN],
            )
        )
    return statuses
