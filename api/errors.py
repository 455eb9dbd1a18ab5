"""Domain errors: one exception type carrying a stable code, turned into API errors at one boundary."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; `code` is stable for API clients, `message` is for people."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def extensions(self) -> dict[str, str]:
        ext = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        return ext

    def __str__(self) -> str:
        return self.message
