"""Sign-in identities (login, argon2 hash, role, organization) and the counters that throttle callers."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "ADMIN"
    SUPERVISOR = "SUPERVISOR"
    CLERK = "CLERK"
    AGENT = "AGENT"
    INTEGRATOR = "INTEGRATOR"


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=50, unique=True)
    password_hash = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=12)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    staff = fields.ForeignKeyField("models.Staff", related_name="users", null=True, on_delete=fields.SET_NULL)
    active = fields.BooleanField(default=True)
    is_demo = fields.BooleanField(default=False)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"

    def __str__(self) -> str:
        return self.username


class LoginThrottle(Model):
    """Failed sign-ins per login name (known or not), shared by every API worker."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=50, unique=True)
    failures = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "login_throttle"


class RateCounter(Model):
    """Requests per caller and fixed time window, shared by every API worker.

    `key` names the limit and the caller (`api:user:7`, `api:key:1a2b3c4d`, `api:ip:10.0.0.5`);
    `window_start` and `expires_at` are epoch seconds. Rows are only touched by
    api.auth.ratelimit, whose one upsert per request counts atomically on both databases.
    """

    id = fields.BigIntField(primary_key=True)  # rows come and go every window: 32 bits would run out
    key = fields.CharField(max_length=120)
    window_start = fields.BigIntField()
    expires_at = fields.BigIntField(db_index=True)  # what the purge of finished windows looks up
    count = fields.IntField(default=0)

    class Meta:
        table = "rate_counter"
        unique_together = (("key", "window_start"),)


class AuthSession(Model):
    """A signed-in session: its refresh token (hashed) and whether it was ended."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="sessions", on_delete=fields.CASCADE)
    refresh_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    client = fields.CharField(max_length=200, default="")
    # When its user last sent a write: their reads stay on the primary database for a while after
    # (SANJI_READ_YOUR_WRITES_SECONDS), where a read replica would not show the write yet.
    last_write_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_session"


class UsedRefreshToken(Model):
    """A refresh token already exchanged (hashed): shown again, it ends its session (theft detection)."""

    id = fields.IntField(primary_key=True)
    session = fields.ForeignKeyField(
        "models.AuthSession", related_name="used_refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    used_at = fields.DatetimeField()

    class Meta:
        table = "auth_refresh_used"


class ApiKey(Model):
    """An integrator key: shown once, stored hashed, found by its visible prefix, revocable."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="api_keys", on_delete=fields.RESTRICT
    )
    scopes = fields.CharField(max_length=1000, default="read:*")  # space-separated, e.g. "read:* write:items"
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_write_at = fields.DatetimeField(null=True)  # as AuthSession's: reads after a write

    class Meta:
        table = "api_key"
