"""Recording audit entries: writes with their before and after, and security events (等保 2.0)."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model

from api.auth.caller import Caller
from api.models.audit import AuditAction, AuditEntry
from schema.generator.jsonable import json_value
from schema.generator.text import escaped

NEVER_RECORDED = frozenset({"password_hash", "key_hash", "refresh_hash", "query_code_hash"})


def snapshot(obj: Model, hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """The object's columns as JSON values, without secrets and hidden personal data."""
    skip = NEVER_RECORDED | set(hidden)
    out = {}
    for name in obj._meta.fields_db_projection:
        if name in skip or name in obj._meta.fetch_fields:
            continue
        out[name] = json_value(getattr(obj, name, None))
    return out


def entry(
    action: AuditAction,
    actor: Caller,
    *,
    object_type: str = "",
    object_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    detail: str = "",
) -> AuditEntry:
    """An unsaved entry, for callers that write many at once."""
    return AuditEntry(
        action=action,
        actor_user_id=actor.user_id,
        actor_name=escaped(actor.name)[:60],  # a failed sign-in records whatever name was typed
        actor_role="" if actor.anonymous else actor.role,  # who signed in, if anyone did
        api_key_prefix=actor.key_prefix,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        ip=actor.ip[:45],
        detail=escaped(detail)[:200],
    )


async def record(action: AuditAction, actor: Caller, **fields) -> AuditEntry:
    row = entry(action, actor, **fields)
    await row.save()
    return row
