"""Saved reports (报表): a query over the aggregate and list fields, its variables and how to show
it, kept by the user who built it and shared as its owner chooses (docs/reports.md)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from api.errors import DomainError
from api.models.user import Role


class Visibility(StrEnum):
    PRIVATE = "PRIVATE"  # its owner only
    ROLE = "ROLE"  # users of one role in the owner's organization and below it
    AREA = "AREA"  # everyone in the owner's organization and below it


class Report(Model):
    """A saved report. Whoever opens it runs its query with their own rights: a hall clerk opening
    the district's report sees their hall's figures."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    document = fields.TextField()  # one GraphQL query over <plural> and <plural>Aggregate fields
    variables = fields.JSONField(default=dict)
    view = fields.JSONField(default=dict)  # how the page shows it: {"kind": "bar", "x": ..., ...}
    visibility = fields.CharEnumField(Visibility, max_length=8, default=Visibility.PRIVATE)
    role = fields.CharEnumField(Role, max_length=12, null=True)  # with ROLE: whose
    owner = fields.ForeignKeyField("models.User", related_name="reports", on_delete=fields.CASCADE)
    owner_name = fields.CharField(max_length=50, default="")  # the owner's user name when saved
    # The owner's organization when saved: those it is shared with are in it or below it.
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="reports", on_delete=fields.CASCADE, db_index=True
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "report"
        constraints = (
            CheckConstraint(
                check="(visibility = 'ROLE' AND role IS NOT NULL) OR (visibility <> 'ROLE' AND role IS NULL)",
                name="ck_report_role",
            ),
        )

    async def save(self, *args, **kwargs) -> None:
        if (self.visibility == Visibility.ROLE) != (self.role is not None):
            raise DomainError(
                "VALIDATION_FAILED",
                "a report shared with a role names the role (and only then)",
                field="role",
            )
        if not self.owner_name:
            from api.models.user import User

            found = await User.filter(id=self.owner_id).values_list("username", flat=True)
            self.owner_name = found[0] if found else ""
        await super().save(*args, **kwargs)
