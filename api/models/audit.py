"""The audit log: who did what to which object, from where, with the object before and after."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from api.errors import DomainError


class AuditAction(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SIGN_IN = "SIGN_IN"
    SIGN_IN_FAILED = "SIGN_IN_FAILED"
    SIGN_IN_LOCKED = "SIGN_IN_LOCKED"
    SIGN_OUT = "SIGN_OUT"
    REFRESH_REUSED = "REFRESH_REUSED"  # a refresh token shown again: its session was ended
    KEY_CREATED = "KEY_CREATED"
    KEY_REVOKED = "KEY_REVOKED"
    READ_PII = "READ_PII"


class AuditEntry(Model):
    """One audited event, never changed or removed (the database refuses it)."""

    id = fields.BigIntField(primary_key=True)
    occurred_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    action = fields.CharEnumField(AuditAction, max_length=20, db_index=True)
    actor_user_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=60, default="")
    actor_role = fields.CharField(max_length=12, default="")
    api_key_prefix = fields.CharField(max_length=16, default="")
    object_type = fields.CharField(max_length=40, default="")
    object_id = fields.IntField(null=True)
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    ip = fields.CharField(max_length=45, default="")
    detail = fields.CharField(max_length=200, default="")

    class Meta:
        table = "audit_entry"

    async def save(self, *args, **kwargs) -> None:
        if not self._saved_in_db:
            await super().save(*args, **kwargs)
            return
        raise DomainError("FORBIDDEN", "the audit log is append-only")

    async def delete(self, *args, **kwargs) -> None:
        raise DomainError("FORBIDDEN", "the audit log is append-only")
