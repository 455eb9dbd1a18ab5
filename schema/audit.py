"""Auditing what GraphQL requests read: clear personal data leaves a trace (等保 2.0, GB/T 35273)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension

from api.auth.http import actor_of
from api.models.audit import AuditAction, AuditEntry
from api.services import audit


class PiiReadAudit(SchemaExtension):
    """Writes one audit entry per object whose personal data a request returned in clear."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        reads = context.get("pii_reads") if isinstance(context, dict) else None
        if not reads:
            return
        request = context.get("request")
        await audit_pii_reads(reads, context.get("claims"), getattr(request, "client", None))


async def audit_pii_reads(reads: list[tuple[str, int, str]], claims: Any, client: Any) -> None:
    """One audit entry per object of `reads` ((type, id, field) read in clear), naming its fields."""
    if not reads:
        return
    fields: dict[tuple[str, int], set[str]] = {}
    for type_name, pk, name in reads:
        fields.setdefault((type_name, pk), set()).add(name)
    actor = actor_of(claims, client)
    await AuditEntry.bulk_create(
        [
            audit.entry(AuditAction.READ_PII, actor, object_type=t, object_id=pk, detail=", ".join(sorted(n)))
            for (t, pk), n in fields.items()
        ]
    )
