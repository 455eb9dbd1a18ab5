"""The working-day calendar (工作日), copied from chinese-calendar and editable for years it lacks."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class CalendarSource(StrEnum):
    PACKAGE = "PACKAGE"
    ADMIN = "ADMIN"
    IMPORT = "IMPORT"


class CalendarDayKind(StrEnum):
    WORKDAY = "WORKDAY"  # 工作日: a weekday worked
    WEEKEND = "WEEKEND"  # 周末: a Saturday or Sunday off, no holiday's
    HOLIDAY = "HOLIDAY"  # 节假日: a holiday or a day off in lieu (调休放假), or a weekday off
    WORKDAY_ADJUSTED = "WORKDAY_ADJUSTED"  # 调休上班: a Saturday or Sunday worked for the holiday it names


def day_kind(day: date, is_workday: bool, holiday_name: str | None) -> CalendarDayKind:
    """What a day is, from whether it is worked, its weekday and the holiday it is named for.

    A weekend day worked is a make-up workday (调休上班) whether or not a holiday is named (a notice
    names one; an old correction may not). Migration 0012 fills existing rows by the same rule."""
    weekend = day.weekday() >= 5
    if is_workday:
        return CalendarDayKind.WORKDAY_ADJUSTED if weekend else CalendarDayKind.WORKDAY
    named = bool((holiday_name or "").strip())
    return CalendarDayKind.WEEKEND if weekend and not named else CalendarDayKind.HOLIDAY


class CalendarDay(Model):
    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_workday = fields.BooleanField()
    holiday_name = fields.CharField(max_length=40, null=True)
    kind = fields.CharEnumField(CalendarDayKind, max_length=16)
    source = fields.CharEnumField(CalendarSource, max_length=10, default=CalendarSource.ADMIN)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_day"
        constraints = (
            CheckConstraint(
                check="(kind IN ('WORKDAY', 'WORKDAY_ADJUSTED')) = is_workday", name="ck_calendar_day_kind"
            ),
        )

    def derive_kind(self) -> None:
        if self.day is not None and self.is_workday is not None:  # else the save refuses the row
            self.kind = day_kind(self.day, self.is_workday, self.holiday_name)

    async def save(self, *args, **kwargs) -> None:
        # The kind follows the other columns (writes set those only), however the day was changed.
        self.derive_kind()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = list({*update_fields, "kind"})
        await super().save(*args, **kwargs)


class CalendarRevision(Model):
    """One change of the calendar: a year loaded or imported, or days an admin corrected."""

    id = fields.IntField(primary_key=True)
    source = fields.CharEnumField(CalendarSource, max_length=10)
    first_day = fields.DateField()
    last_day = fields.DateField()
    days_changed = fields.IntField()
    description = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "calendar_revision"
