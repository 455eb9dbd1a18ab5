from api.migration_ops import rebuild_day_rollup
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.org import Tier
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0018_day_rollup')]

    initial = False

    operations = [
        # Its rows are keyed anew (by tier and tags too): emptied, given the columns, then recounted.
        ops.RunSQL('DELETE FROM day_rollup'),
        ops.AlterModelOptions(
            name='DayRollup',
            options={'table': 'day_rollup', 'app': 'models', 'constraints': [CheckConstraint(check='cases >= 0', name='ck_day_rollup_cases'), CheckConstraint(check='timed >= 0 AND timed <= cases', name='ck_day_rollup_timed')], 'indexes': [Index(fields=['day', 'clock'], name='idx_day_rollup_day_clock')], 'pk_attr': 'id', 'table_description': 'The service statistics per day of acceptance, tier of the handling organization and 三办'},
        ),
        ops.AddField(
            model_name='DayRollup',
            name='tag_immediate',
            field=fields.BooleanField(),
        ),
        ops.AddField(
            model_name='DayRollup',
            name='tag_one_visit',
            field=fields.BooleanField(),
        ),
        ops.AddField(
            model_name='DayRollup',
            name='tag_online',
            field=fields.BooleanField(),
        ),
        ops.AddField(
            model_name='DayRollup',
            name='tier',
            field=fields.CharEnumField(description='REGION: REGION\nCENTER: CENTER\nHALL: HALL\nROOM: ROOM', enum_type=Tier, max_length=8),
        ),
        # The cases already stored, counted into the rows at the new grain.
        ops.RunPython(rebuild_day_rollup),
    ]
