"""The one boundary where domain errors become GraphQL errors with `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from api.auth.http import actor_of
from api.errors import DomainError
from api.models.audit import AuditAction, AuditEntry
from api.services import audit

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


class SanjiSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback, and coded refusals only briefly."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = []
        for error in errors:
            if (error.extensions or {}).get("code"):
                log.info("refused: %s [%s]", error.message, error.extensions["code"])
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)


class PiiReadAudit(SchemaExtension):
    """Writes one audit entry per object whose personal data a request returned in clear."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        reads = context.get("pii_reads") if isinstance(context, dict) else None
        if not reads:
            return
        fields: dict[tuple[str, int], set[str]] = {}
        for type_name, pk, name in reads:
            fields.setdefault((type_name, pk), set()).add(name)
        request = context.get("request")
        actor = actor_of(context.get("claims"), getattr(request, "client", None))
        await AuditEntry.bulk_create(
            [
                audit.entry(
                    AuditAction.READ_PII, actor, object_type=t, object_id=pk, detail=", ".join(sorted(n))
                )
                for (t, pk), n in fields.items()
            ]
        )
