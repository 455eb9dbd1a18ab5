"""Scalars and enums shared by every generated type: one GraphQL enum per Python enum."""

from __future__ import annotations

from enum import Enum
from typing import Any, NewType

import strawberry

from schema.glossary import ENUM_DESCRIPTIONS

BigInt = NewType("BigInt", int)
BIG_INT_SCALAR = strawberry.scalar(
    name="BigInt",
    description="A 64-bit integer, e.g. money in fen (分); JSON number",
    serialize=int,
    parse_value=lambda value: _parse_big_int(value),
)
SCALAR_MAP = {BigInt: BIG_INT_SCALAR}


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
