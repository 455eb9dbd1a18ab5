"""The working-day calendar (工作日), copied from chinese-calendar and editable for years it lacks."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CalendarSource(StrEnum):
    PACKAGE = "PACKAGE"
    ADMIN = "ADMIN"
    IMPORT = "IMPORT"


class CalendarDay(Model):
    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_workday = fields.BooleanField()
    holiday_name = fields.CharField(max_length=40, null=True)
    source = fields.CharEnumField(CalendarSource, max_length=10, default=CalendarSource.ADMIN)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_day"


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
