"""The working-day calendar (工作日), copied from chinese-calendar and editable for years it lacks."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CalendarSource(StrEnum):
    PACKAGE = "PACKAGE"
    ADMIN = "ADMIN"


class CalendarDay(Model):
    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    is_workday = fields.BooleanField()
    holiday_name = fields.CharField(max_length=40, null=True)
    source = fields.CharEnumField(CalendarSource, max_length=10, default=CalendarSource.ADMIN)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_day"
