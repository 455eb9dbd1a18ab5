"""The engine's one error type: a stable code for API clients, a message for people.

An application built on the engine may subclass `EngineError` for codes of its own (and document
every code it answers with); the engine raises only the codes of `EngineCode`.
"""

from __future__ import annotations

from enum import StrEnum


class EngineCode(StrEnum):
    """The codes the engine itself raises."""

    VALIDATION_FAILED = "VALIDATION_FAILED"  # an argument or input is not acceptable (`field` names it)
    NOT_FOUND = "NOT_FOUND"  # no such object, or not one the caller may read
    CONFLICT = "CONFLICT"  # a unique value is taken
    CONSTRAINT = "CONSTRAINT"  # a reference still in use, a check of the database
    UNAUTHENTICATED = "UNAUTHENTICATED"  # the caller must sign in
    FORBIDDEN = "FORBIDDEN"  # the caller's role, area or key scopes do not allow it


class EngineError(Exception):
    """A request the engine refuses; turned into a GraphQL error with `extensions.code` (and `field`)."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = self.checked(code)
        self.message = message
        self.field = field

    @classmethod
    def checked(cls, code: str) -> str:
        """The code, refused when it is not one the class documents (a programming error)."""
        return EngineCode(code)

    def extensions(self) -> dict[str, str]:
        ext = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        return ext

    def __str__(self) -> str:
        return self.message
