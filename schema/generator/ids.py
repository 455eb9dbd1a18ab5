"""Relay global ids: base64 of "<TypeName>:<primary key>"."""

from __future__ import annotations

import base64
import binascii

from schema.generator.errors import EngineError

MAX_PK = 2**31 - 1


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _decode(global_id: str) -> tuple[str, str]:
    """(type name, primary key text); ValueError when it is not a global id at all."""
    try:
        type_name, _, pk = base64.b64decode(global_id, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(global_id) from None
    return type_name, pk


def from_global_id(global_id: str, expected_type: str, field: str = "id") -> int:
    try:
        type_name, pk = _decode(global_id)
        if type_name != expected_type:
            raise ValueError(type_name)
        number = int(pk)
        # Keys are 32-bit integers: a larger number is no id, and the drivers refuse to send it.
        if not 0 < number <= MAX_PK:
            raise ValueError(pk)
        return number
    except ValueError:
        raise EngineError(
            "VALIDATION_FAILED", f"{global_id!r} is not the id of a {expected_type}", field=field
        ) from None


def type_of(global_id: str) -> str:
    """The type name inside a global id."""
    try:
        return _decode(global_id)[0]
    except ValueError:
        raise EngineError("VALIDATION_FAILED", f"{global_id!r} is not a global id", field="id") from None
