"""The one boundary where domain errors become GraphQL errors with `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from schema.generator.errors import EngineError

log = logging.getLogger("sanji.graphql")


def code_of(error: GraphQLError) -> str | None:
    """The code an error answers with, or None for an unexpected failure."""
    if isinstance(error.original_error, EngineError):
        return error.original_error.code
    if (error.extensions or {}).get("code"):
        return error.extensions["code"]
    if error.path is None and error.message.startswith("Variable '$"):
        # graphql-core's refusal of a variable that does not fit its type (a Date of 2024-02-30,
        # a DateTime off the calendar, a missing required one), before any field ran.
        return "VALIDATION_FAILED"
    return None


class DomainErrors(SchemaExtension):
    """Give every refusal its code (and an EngineError or DomainError its field) in `extensions`."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            if isinstance(error.original_error, EngineError):
                extensions = error.original_error.extensions()
                if "field" in extensions:
                    extensions["field"] = to_camel_case(extensions["field"])
                error.extensions = {**(error.extensions or {}), **extensions}
            elif code := code_of(error):
                error.extensions = {**(error.extensions or {}), "code": code}


class SanjiSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback, and coded refusals only briefly."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Errors are processed before DomainErrors copies their codes into extensions.
        unexpected = []
        for error in errors:
            code = code_of(error)
            if code:
                log.info("refused: %s [%s]", error.message, code)
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)
