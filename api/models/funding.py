"""Money for building the platform (funding records) and room standardization inspections."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class FundingPurpose(StrEnum):
    HALL_CONSTRUCTION = "HALL_CONSTRUCTION"
    REWARD_SUBSIDY = "REWARD_SUBSIDY"
    NETWORK_PLATFORM = "NETWORK_PLATFORM"
    OTHER = "OTHER"


class Funding(Model):
    """Money granted to an organization, in fen (1 yuan = 100 fen) so sums stay exact."""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="fundings", on_delete=fields.RESTRICT
    )
    amount_fen = fields.BigIntField()
    purpose = fields.CharEnumField(FundingPurpose, max_length=20)
    granted_on = fields.DateField()
    source = fields.CharField(max_length=100)
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "funding"
        constraints = (CheckConstraint(check="amount_fen > 0", name="ck_funding_amount_positive"),)


STANDARDIZATION_CHECKS: tuple[str, ...] = (
    "fixed_place",
    "org_chart",
    "office_equipment",
    "items_and_staff",
    "rules",
    "duty_staff_published",
)


class RoomInspection(Model):
    """A supervisor check of the six standardization points of a room (or hall)."""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="inspections", on_delete=fields.CASCADE
    )
    inspected_on = fields.DateField()
    inspector = fields.ForeignKeyField(
        "models.User", related_name="inspections", null=True, on_delete=fields.SET_NULL
    )
    inspector_name = fields.CharField(max_length=50)
    fixed_place = fields.BooleanField(default=False)
    org_chart = fields.BooleanField(default=False)
    office_equipment = fields.BooleanField(default=False)
    items_and_staff = fields.BooleanField(default=False)
    rules = fields.BooleanField(default=False)
    duty_staff_published = fields.BooleanField(default=False)
    notes = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "room_inspection"

    @property
    def missing_checks(self) -> list[str]:
        return [name for name in STANDARDIZATION_CHECKS if not getattr(self, name)]

    @property
    def passed(self) -> bool:
        return not self.missing_checks
