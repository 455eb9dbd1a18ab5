"""The one boundary where domain errors become GraphQL errors with `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from api.errors import DomainError

log = logging.getLogger("sanji.graphql")


class DomainErrors(SchemaExtension):
    """Give every error raised as a DomainError its code (and field) in `extensions`."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            if isinstance(error.original_error, DomainError):
                extensions = error.original_error.extensions()
                if "field" in extensions:
                    extensions["field"] = to_camel_case(extensions["field"])
                error.extensions = {**(error.extensions or {}), **extensions}
            elif error.path is None and not (error.extensions or {}).get("code"):
                # Refused before any field ran: variables that do not fit their types (a Date of
                # 2024-02-30, a DateTime off the calendar), or no operation by the name given.
                error.extensions = {**(error.extensions or {}), "code": "VALIDATION_FAILED"}


class SanjiSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback, and coded refusals only briefly."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = []
        for error in errors:
            # Errors are processed before DomainErrors copies a DomainError's code into extensions.
            original = error.original_error
            code = (error.extensions or {}).get("code")
            if isinstance(original, DomainError):
                code = original.code
            if code:
                log.info("refused: %s [%s]", error.message, code)
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)
