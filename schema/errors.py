"""The one boundary where domain errors become GraphQL errors with `extensions.code`."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from api.errors import DomainError


class DomainErrors(SchemaExtension):
    """Give every error raised as a DomainError its code (and field) in `extensions`."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            if isinstance(error.original_error, DomainError):
                error.extensions = {**(error.extensions or {}), **error.original_error.extensions()}
