"""The synthetic span (two years before a fixed last day) and its clock: minutes to stored text,
working days on the calendar table (api.services.deadlines), cached because a million cases ask
the same few thousand questions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from api.services import deadlines

END_DAY = date(2026, 11, 30)  # "today" of the data set: steps after it have not happened yet
FIRST_DAY = date(2024, 12, 1)
SET_UP_ON = date(2024, 6, 3)  # organizations, staff and assignments exist before the first case
OPENS = 8 * 60 + 30  # 08:30, Beijing time: minute 0 of a working day in the fixture's schedule
DAY = 24 * 60
BEIJING_OFFSET = 8 * 60  # Asia/Shanghai has no daylight saving


def set_up_at() -> datetime:
    """The moment rows that exist before the span were written (the tree, the catalogue)."""
    return datetime.combine(SET_UP_ON, time(9, 0), tzinfo=deadlines.DISTRICT_ZONE)


def moment(day: date, minute: int) -> int:
    """A moment as minutes since 0001-01-01 00:00 Beijing time: `minute` after the day opens."""
    return day.toordinal() * DAY + OPENS + minute


class Clock:
    """Turns moments into the text both databases store, and answers working-day questions with
    the deadline service's own functions on the calendar table's days (`workdays`)."""

    def __init__(self, workdays: Mapping[date, bool]) -> None:
        self.workdays = workdays
        self._stamps: dict[int, str] = {}
        self._dates: dict[int, str] = {}
        self._after: dict[tuple[int, int], int] = {}
        self._due: dict[tuple[int, int, int], tuple[int, int, bool]] = {}
        self._between: dict[tuple[int, int], int] = {}

    def stamp(self, t: int) -> str:
        """The UTC timestamp of a moment, as stored ("2025-03-04 00:30:00+00:00")."""
        text = self._stamps.get(t)
        if text is None:
            utc = t - BEIJING_OFFSET
            minute = utc % DAY
            day = date.fromordinal(utc // DAY)
            text = self._stamps[t] = f"{day.isoformat()} {minute // 60:02d}:{minute % 60:02d}:00+00:00"
        return text

    def date_text(self, ordinal: int) -> str:
        text = self._dates.get(ordinal)
        if text is None:
            text = self._dates[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def digits(self, ordinal: int) -> str:
        """The day as it reads inside case numbers: 20250304."""
        return self.date_text(ordinal).replace("-", "")

    def working(self, day: date) -> bool:
        known = self.workdays.get(day)
        return deadlines.estimated_workday(day) if known is None else known

    def working_days(self, first: date, last: date) -> list[date]:
        days, day = [], first
        while day <= last:
            if self.working(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def after(self, ordinal: int, days: int) -> int:
        """The working day `days` after the day (deadlines.add_working_days)."""
        key = (ordinal, days)
        found = self._after.get(key)
        if found is None:
            day = deadlines.add_working_days(date.fromordinal(ordinal), days, self.workdays)[0]
            found = self._after[key] = day.toordinal()
        return found

    def due(self, accepted: int, legal: int, promised: int) -> tuple[int, int, bool]:
        """Legal and promised due days of a case accepted that day, unpaused (deadlines.due_dates)."""
        key = (accepted, legal, promised)
        found = self._due.get(key)
        if found is None:
            due = deadlines.due_dates(date.fromordinal(accepted), legal, promised, self.workdays)
            found = self._due[key] = (due.legal.toordinal(), due.promised.toordinal(), due.estimated)
        return found

    def paused_due(
        self, accepted: int, legal: int, promised: int, pauses: list[tuple[int, int]]
    ) -> tuple[int, int, bool]:
        due = deadlines.due_dates(date.fromordinal(accepted), legal, promised, self.workdays, _dates(pauses))
        return due.legal.toordinal(), due.promised.toordinal(), due.estimated

    def between(self, first: int, last: int, pauses: list[tuple[int, int]] | None = None) -> int:
        """Working days after `first` up to `last`, paused days left out (deadlines.working_days_between)."""
        if pauses:
            return deadlines.working_days_between(
                date.fromordinal(first), date.fromordinal(last), self.workdays, _dates(pauses)
            )
        key = (first, last)
        found = self._between.get(key)
        if found is None:
            found = self._between[key] = deadlines.working_days_between(
                date.fromordinal(first), date.fromordinal(last), self.workdays
            )
        return found


def _dates(pauses: list[tuple[int, int]]) -> list[tuple[date, date]]:
    return [(date.fromordinal(start), date.fromordinal(end)) for start, end in pauses]
