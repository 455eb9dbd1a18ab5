from api.migration_ops import fill_calendar_day_kinds
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.calendar import CalendarDayKind
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0011_case_number_counter')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CalendarDay',
            name='kind',
            field=fields.CharEnumField(null=True, description='WORKDAY: WORKDAY\nWEEKEND: WEEKEND\nHOLIDAY: HOLIDAY\nWORKDAY_ADJUSTED: WORKDAY_ADJUSTED', enum_type=CalendarDayKind, max_length=16),
        ),
        ops.RunPython(fill_calendar_day_kinds),
        ops.AlterField(
            model_name='CalendarDay',
            name='kind',
            field=fields.CharEnumField(description='WORKDAY: WORKDAY\nWEEKEND: WEEKEND\nHOLIDAY: HOLIDAY\nWORKDAY_ADJUSTED: WORKDAY_ADJUSTED', enum_type=CalendarDayKind, max_length=16),
        ),
        ops.AddConstraint(
            model_name='CalendarDay',
            constraint=CheckConstraint(check="(kind IN ('WORKDAY', 'WORKDAY_ADJUSTED')) = is_workday", name='ck_calendar_day_kind'),
        ),
    ]
