"""Scalars and enums shared by every generated type: one GraphQL enum per Python enum."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, NewType
from zoneinfo import ZoneInfo

import dateutil.parser
import strawberry

from api.settings import Settings
from schema.glossary import ENUM_DESCRIPTIONS

# Every DateTime the API returns, from a query or a mutation alike, is the instant in the district's
# zone with its offset ("2026-12-01T01:59:27+08:00"): the day part is the district's day.
DISTRICT_ZONE = ZoneInfo(Settings.timezone)

BigInt = NewType("BigInt", int)
BIG_INT_SCALAR = strawberry.scalar(
    name="BigInt",
    description="A 64-bit integer, e.g. money in fen (分); JSON number",
    serialize=int,
    parse_value=lambda value: _parse_big_int(value),
)


def _instant(value: Any) -> dt.datetime:
    """An ISO 8601 date and time that is a real instant: one an offset cannot push off the calendar."""
    if not isinstance(value, str):
        raise ValueError(f"DateTime cannot represent {value!r}: give ISO 8601 text")
    try:
        moment = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"DateTime cannot represent {value!r}: {error}") from None
    if moment.tzinfo is None:  # the district's wall-clock time
        moment = moment.replace(tzinfo=DISTRICT_ZONE)
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"DateTime {value!r} is outside years 1 to 9999 once taken to UTC") from None
    return moment


def district_time(value: dt.datetime) -> str:
    """The instant `value` in the district's zone, ISO 8601 with its offset; a time without a zone is
    the district's wall-clock time, as it is on input."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=DISTRICT_ZONE)
    return value.astimezone(DISTRICT_ZONE).isoformat()


DATE_TIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant, ISO 8601. Returned in the district's zone with its offset "
        "(2026-12-01T09:30:00+08:00), by queries and mutations alike; accepted with any offset "
        "(a time without one is read in the district's zone)"
    ),
    serialize=district_time,
    parse_value=_instant,
)
SCALAR_MAP = {BigInt: BIG_INT_SCALAR, dt.datetime: DATE_TIME_SCALAR}


def _parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt cannot represent {value!r}")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"BigInt out of range: {value!r}")
    return number


_ENUMS: dict[type[Enum], Any] = {}


def graphql_enum(python_enum: type[Enum]) -> Any:
    """The one strawberry enum for `python_enum` (values are the member names)."""
    if python_enum not in _ENUMS:
        _ENUMS[python_enum] = strawberry.enum(
            python_enum, description=ENUM_DESCRIPTIONS.get(python_enum.__name__, python_enum.__name__)
        )
    return _ENUMS[python_enum]
