"""Staff of the organizations and their published duty roster (值班表)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from api.errors import DomainError
from api.services.identifiers import normalize_id_number, normalize_phone


class DutyPeriod(StrEnum):
    FULL_DAY = "FULL_DAY"
    MORNING = "MORNING"
    AFTERNOON = "AFTERNOON"


class Staff(Model):
    """A person working at an organization, optionally at one of its windows."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="staff", on_delete=fields.RESTRICT, db_index=True
    )
    window = fields.ForeignKeyField(
        "models.Window", related_name="staff", null=True, on_delete=fields.SET_NULL
    )
    position = fields.CharField(max_length=50, default="")
    phone = fields.CharField(max_length=20, default="")
    # Not unique: a uniqueness error would tell an administrator of one district that an ID number
    # belongs to a staff member of another (an existence oracle on personal data).
    id_number = fields.CharField(max_length=18, null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff"

    def __str__(self) -> str:
        return self.name

    async def save(self, *args, **kwargs) -> None:
        if self.id_number:
            self.id_number = normalize_id_number(self.id_number)
        if self.phone:
            self.phone = normalize_phone(self.phone)
        if self.window_id is not None:
            from api.models.org import Window

            window = await Window.get_or_none(id=self.window_id)
            if window is None or window.organization_id != self.organization_id:
                raise DomainError(
                    "VALIDATION_FAILED",
                    "a staff member's window must belong to the staff member's organization",
                    field="window",
                )
        await super().save(*args, **kwargs)


class DutyShift(Model):
    """One staff member on duty at an organization on a day, public once published (值班人员信息公开)."""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="duty_shifts", on_delete=fields.CASCADE
    )
    staff = fields.ForeignKeyField("models.Staff", related_name="duty_shifts", on_delete=fields.CASCADE)
    duty_date = fields.DateField()
    period = fields.CharEnumField(DutyPeriod, max_length=12, default=DutyPeriod.FULL_DAY)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "duty_shift"
        unique_together = (("staff", "duty_date", "period"),)
