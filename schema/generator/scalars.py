"""Scalars and enums shared by every generated type: one GraphQL enum per Python enum."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, NewType
from zoneinfo import ZoneInfo

import dateutil.parser
import strawberry

# Every DateTime the API returns, from a query or a mutation alike, is the instant in the API's time
# zone (the registry's `zone`) with its offset ("2026-12-01T01:59:27+08:00"): its day part is the day
# there. A time given without an offset is the wall-clock time of that zone.

BigInt = NewType("BigInt", int)
BIG_INT_SCALAR = strawberry.scalar(
    name="BigInt",
    description="A 64-bit integer, e.g. money in fen (分); JSON number",
    serialize=int,
    parse_value=lambda value: _parse_big_int(value),
)


def _instant(value: Any, zone: ZoneInfo) -> dt.datetime:
    """An ISO 8601 date and time that is a real instant: one an offset cannot push off the calendar."""
    if not isinstance(value, str):
        raise ValueError(f"DateTime cannot represent {value!r}: give ISO 8601 text")
    try:
        moment = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"DateTime cannot represent {value!r}: {error}") from None
    if moment.tzinfo is None:  # the zone's wall-clock time
        moment = moment.replace(tzinfo=zone)
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"DateTime {value!r} is outside years 1 to 9999 once taken to UTC") from None
    return moment


def zone_time(value: dt.datetime, zone: ZoneInfo) -> str:
    """The instant `value` in `zone`, ISO 8601 with its offset; a time without a zone is the zone's
    wall-clock time, as it is on input."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(zone).isoformat()


def scalar_map(zone: ZoneInfo) -> dict[Any, Any]:
    """The scalars of a schema whose date-times are told in `zone`."""
    date_time = strawberry.scalar(
        name="DateTime",
        description=(
            f"An instant, ISO 8601. Returned in the API's time zone ({zone.key}) with its offset "
            "(2026-12-01T09:30:00+08:00), by queries and mutations alike; accepted with any offset "
            "(a time without one is read in that zone)"
        ),
        serialize=lambda value: zone_time(value, zone),
        parse_value=lambda value: _instant(value, zone),
    )
    return {BigInt: BIG_INT_SCALAR, dt.datetime: date_time}


def _parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt cannot represent {value!r}")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"BigInt out of range: {value!r}")
    return number


_ENUMS: dict[type[Enum], Any] = {}
_DESCRIPTIONS: dict[str, str] = {}


def graphql_enum(python_enum: type[Enum]) -> Any:
    """The one strawberry enum for `python_enum` (values are the member names)."""
    if python_enum not in _ENUMS:
        name = python_enum.__name__
        _ENUMS[python_enum] = strawberry.enum(python_enum, description=_DESCRIPTIONS.get(name, name))
    return _ENUMS[python_enum]


def describe_enums(descriptions: dict[str, str]) -> None:
    """The descriptions of enums by Python name (a glossary), for those made already and those to come."""
    _DESCRIPTIONS.update(descriptions)
    for python_enum, made in _ENUMS.items():
        if python_enum.__name__ in descriptions:
            made.__strawberry_definition__.description = descriptions[python_enum.__name__]
