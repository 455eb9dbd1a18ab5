"""Masking of personal data (GB/T 35273 practice): one rule per kind, in one place."""

from __future__ import annotations

from enum import StrEnum


class PiiKind(StrEnum):
    ID_NUMBER = "ID_NUMBER"
    PHONE = "PHONE"


def mask(value: str | None, kind: PiiKind) -> str | None:
    """ID numbers keep their first 6 and last 4 characters, phones their first 3 and last 4."""
    if value is None:
        return None
    head = 6 if kind == PiiKind.ID_NUMBER else 3
    if len(value) <= head + 4:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - 4) + value[-4:]


def mask_name(name: str, applicant_type: str = "PERSON") -> str:
    """A person's name keeps its first character (张**); a company's name is public and kept."""
    if applicant_type != "PERSON" or not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)
