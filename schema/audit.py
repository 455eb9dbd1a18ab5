"""Auditing what GraphQL requests read and write: clear personal data leaves a trace (等保 2.0,
GB/T 35273), and so does every write, generated or hand-written (the engine's hooks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.extensions import SchemaExtension
from tortoise.models import Model

from api.auth.caller import Caller
from api.auth.permissions import POLICY
from api.models.audit import AuditAction, AuditEntry
from api.services import audit
from api.services.audit import snapshot
from schema.generator.policy import PII_READS, Op

if TYPE_CHECKING:
    from schema.generator.registry import ModelNode

_ACTIONS = {Op.CREATE: AuditAction.CREATE, Op.UPDATE: AuditAction.UPDATE, Op.DELETE: AuditAction.DELETE}


class AuditedWrites:
    """The engine's hooks: each generated write is an audit entry of its request's actor."""

    def snapshot(self, obj: Model, hidden: tuple[str, ...]) -> dict[str, Any]:
        return snapshot(obj, hidden)

    async def written(
        self, context: dict[str, Any], op: Op, type_name: str, pk: int, *, before=None, after=None
    ) -> None:
        actor = POLICY.caller(context)
        change = {"before": before, "after": after}
        await audit.record(_ACTIONS[op], actor, object_type=type_name, object_id=pk, **change)


async def audit_write(action: AuditAction, actor: Caller, node: ModelNode, pk: int, **change: Any) -> None:
    """An audit entry of a hand-written write (a domain verb)."""
    await audit.record(action, actor, object_type=node.exposure.type_name, object_id=pk, **change)


def request_actor(info: strawberry.Info) -> Caller:
    """The caller of the request (its address included), as the audit log records it."""
    return POLICY.caller(info.context)


class PiiReadAudit(SchemaExtension):
    """Writes one audit entry per object whose personal data a request returned in clear."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        await self._audit()

    async def on_stream_result(self, result) -> AsyncIterator[None]:
        """Each result of a subscription, before it is sent: its context lasts the connection, so
        the reads are taken out as they are audited."""
        await self._audit()
        yield

    async def _audit(self) -> None:
        context = self.execution_context.context
        reads = context.pop(PII_READS, None) if isinstance(context, dict) else None
        if not reads:
            return
        await audit_pii_reads(reads, POLICY.caller(context))


async def audit_pii_reads(reads: list[tuple[str, int, str]], actor: Caller) -> None:
    """One audit entry per object of `reads` ((type, id, field) read in clear), naming its fields."""
    if not reads:
        return
    fields: dict[tuple[str, int], set[str]] = {}
    for type_name, pk, name in reads:
        fields.setdefault((type_name, pk), set()).add(name)
    await AuditEntry.bulk_create(
        [
            audit.entry(AuditAction.READ_PII, actor, object_type=t, object_id=pk, detail=", ".join(sorted(n)))
            for (t, pk), n in fields.items()
        ]
    )
