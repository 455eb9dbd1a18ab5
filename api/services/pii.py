"""Masking of personal data (GB/T 35273 practice): one rule per kind, in one place."""

from __future__ import annotations

import re
from enum import StrEnum

from schema.generator.masking import keep_ends


class PiiKind(StrEnum):
    """The kinds of personal data the exposures mark (`pii`), each with its masking rule."""

    ID_NUMBER = "ID_NUMBER"
    PHONE = "PHONE"

    @property
    def head(self) -> int:
        """How many leading characters a masked value keeps: an ID number its region code (6)."""
        return 6 if self is PiiKind.ID_NUMBER else 3

    @property
    def tail(self) -> int:
        """How many trailing characters a masked value keeps."""
        return 4


def mask(value: str | None, kind: PiiKind) -> str | None:
    """ID numbers keep their first 6 and last 4 characters, phones their first 3 and last 4."""
    return keep_ends(value, kind.head, kind.tail)


def mask_name(name: str, applicant_type: str = "PERSON") -> str:
    """A person's name keeps its first character (张**); a company's name is public and kept."""
    if applicant_type != "PERSON" or not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


# Identifiers and phones written into free text (a clerk's note), as people write them: resident ID
# numbers (18 digits, grouped 6-8-4 or not, or the old 15), unified social credit codes (any case),
# bank card numbers (16 to 19 digits; masked like an ID number, as banks print them), mobile numbers
# (with +86 or 86 in front, grouped 3-4-4 or not) and area-coded landlines.
_SEP = r"[ \-]?"
_IN_TEXT = {
    PiiKind.ID_NUMBER: re.compile(
        rf"(?<![0-9A-Za-z])(?:\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXx]|\d{{16,19}}|\d{{15}}"
        r"|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Za-z])",
        re.IGNORECASE,
    ),
    PiiKind.PHONE: re.compile(
        rf"(?<![\d+])(?:(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}|0\d{{2,3}}-?\d{{7,8}})(?!\d)"
    ),
}


def mask_text(text: str) -> str:
    """Free text with every ID number, credit code and phone in it masked by the rules above."""
    for kind, pattern in _IN_TEXT.items():
        text = pattern.sub(lambda found, kind=kind: mask(found.group(), kind), text)
    return text
