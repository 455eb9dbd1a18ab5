"""Sign-in identities: a login, an argon2 hash, a role and the organization it acts for."""

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
