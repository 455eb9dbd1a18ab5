"""How the admin UI writes values: a dash for what is missing, times and days in the district's zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from api.settings import Settings

MISSING = "—"
DISTRICT = ZoneInfo(Settings.timezone)  # the one setting for the district's time zone
ESTIMATED = {"zh": "{day}（估算）", "en": "{day} (estimated)"}


def shown(value: Any) -> Any:
    """A value as a table or a sentence shows it: MISSING for nothing (None or blank text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING
    return value


def dataframe(data: Any, **options: Any) -> Any:
    """st.dataframe with MISSING drawn for missing values (Streamlit draws "None"); numbers stay
    numbers, so they sort and align as numbers."""
    return st.dataframe(data, placeholder=MISSING, **options)


def local_time(moment: str | dt.datetime | None) -> str:
    """An API timestamp (UTC, ISO) as the district's `YYYY-MM-DD HH:mm`."""
    if not moment:
        return MISSING
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # the API writes UTC; a bare one is read as such
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(DISTRICT).strftime("%Y-%m-%d %H:%M")


def district_today() -> dt.date:
    """The district's day, not the machine's (a server on UTC is a day behind Beijing until 08:00)."""
    return dt.datetime.now(DISTRICT).date()


def due_date(day: str | None, estimated: bool, lang: str) -> str:
    """A due date, marked when it was estimated (the calendar did not know its year yet)."""
    if not day:
        return MISSING
    return ESTIMATED[lang].format(day=day) if estimated else day


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"
