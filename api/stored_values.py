"""Dates and times as the databases hand them back and take them as parameters: PostgreSQL
(asyncpg) uses date and datetime objects, SQLite ISO text (timestamps stored in UTC with their
offset). Standard library only, so that migrations can use it too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def stored_day(value: Any) -> date | None:
    """A date column as read back: a date, or ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def stored_moment(value: Any) -> datetime | None:
    """A timestamp column as read back (a datetime, or ISO text), with its zone (UTC if none)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def bound_day(value: date | None, postgres: bool) -> Any:
    """A date as a statement's parameter: asyncpg takes the date, SQLite its ISO text."""
    return value if postgres or value is None else value.isoformat()
