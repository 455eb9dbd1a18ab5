"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import DomainError

_HASHER = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_policy(password: str) -> None:
    """At least 8 characters from at least 3 of: lower case, upper case, digits, other."""
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if len(password) < MIN_LENGTH or classes < 3:
        raise DomainError(
            "VALIDATION_FAILED",
            "password needs at least 8 characters from at least 3 classes "
            "(lower case, upper case, digits, symbols)",
            field="password",
        )
