"""Check characters of Chinese identifiers and masking of personal data.

Resident ID numbers follow GB 11643-1999 (ISO 7064 MOD 11-2); unified social credit codes
follow GB 32100-2015 (mod 31 over a 31-character alphabet).
"""

from __future__ import annotations

import re
from datetime import date

from api.errors import DomainError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_PATTERN = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")

_PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECKS[total % 11]


def normalize_id_number(value: str, field: str = "id_number") -> str:
    """Return the canonical 18-character resident ID number or raise VALIDATION_FAILED."""
    number = value.strip().upper()
    if not _ID_PATTERN.match(number):
        raise DomainError(
            "VALIDATION_FAILED",
            f"resident ID number must be 17 digits and a check character, got {value!r}",
            field=field,
        )
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DomainError(
            "VALIDATION_FAILED",
            f"resident ID number {value!r} has an impossible birth date {number[6:14]}",
            field=field,
        ) from None
    expected = id_number_check_char(number[:17])
    if number[17] != expected:
        raise DomainError(
            "VALIDATION_FAILED",
            f"resident ID number {value!r} fails its GB 11643 check character (expected {expected})",
            field=field,
        )
    return number


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str, field: str = "credit_code") -> str:
    """Return the canonical unified social credit code or raise VALIDATION_FAILED."""
    code = value.strip().upper()
    if not _USCC_PATTERN.match(code):
        raise DomainError(
            "VALIDATION_FAILED",
            f"unified social credit code must be 18 characters of {USCC_ALPHABET}, got {value!r}",
            field=field,
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise DomainError(
            "VALIDATION_FAILED",
            f"unified social credit code {value!r} fails its GB 32100 check character (expected {expected})",
            field=field,
        )
    return code


def normalize_phone(value: str, field: str = "phone") -> str:
    phone = value.strip().replace(" ", "")
    if not _PHONE_PATTERN.match(phone):
        raise DomainError(
            "VALIDATION_FAILED",
            f"phone must be an 11-digit mobile number or an area-coded landline, got {value!r}",
            field=field,
        )
    return phone
