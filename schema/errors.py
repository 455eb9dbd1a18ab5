"""The one boundary where domain errors become GraphQL errors with `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType
from strawberry.utils.str_converters import to_camel_case

from schema.generator.errors import EngineError

log = logging.getLogger("sanji.graphql")
NOT_OVER_WEBSOCKET = (
    "only subscriptions run over WebSocket: send queries and mutations over HTTP (POST /graphql)"
)


def code_of(error: GraphQLError) -> str | None:
    """The code an error answers with, or None for an unexpected failure."""
    if isinstance(error.original_error, EngineError):
        return error.original_error.code
    if isinstance(error.original_error, InvalidOperationTypeError):  # a query over WebSocket
        return "OPERATION_NOT_ALLOWED"
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
        self._code(self.execution_context.result)

    def on_stream_result(self, result) -> Iterator[None]:
        """A subscription's results, each before it is sent."""
        self._code(result)
        yield

    @staticmethod
    def _code(result) -> None:
        for error in (getattr(result, "errors", None) or []) if result else []:
            if isinstance(error.original_error, EngineError):
                extensions = error.original_error.extensions()
                if "field" in extensions:
                    extensions["field"] = to_camel_case(extensions["field"])
                error.extensions = {**(error.extensions or {}), **extensions}
            elif code := code_of(error):
                error.extensions = {**(error.extensions or {}), "code": code}
                if code == "OPERATION_NOT_ALLOWED":
                    error.message = NOT_OVER_WEBSOCKET


class SanjiSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback, and coded refusals only briefly; over WebSocket,
    runs subscriptions only (queries and mutations go over HTTP, through its limits and budgets)."""

    async def stream(self, query, variable_values=None, context_value=None, root_value=None, **kwargs):
        kwargs["allowed_operation_types"] = (OperationType.SUBSCRIPTION,)
        return await super().stream(query, variable_values, context_value, root_value, **kwargs)

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
