"""Scalars and enums shared by every generated type: one GraphQL enum per Python enum."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, NewType

import dateutil.parser
import strawberry

from schema.glossary import ENUM_DESCRIPTIONS

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
    if moment.tzinfo is not None:
        try:
            moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError(f"DateTime {value!r} is outside years 1 to 9999 once taken to UTC") from None
    return moment


DATE_TIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=lambda value: value.isoformat(),
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
