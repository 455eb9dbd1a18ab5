from api.migration_ops import day_rollup_created
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.case import ClockState, Finish
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0017_rating_rollup')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DayRollup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=120)),
                ('month', fields.DateField()),
                ('clock', fields.CharEnumField(description='RUNNING: RUNNING\nPAUSED: PAUSED\nSTOPPED: STOPPED', enum_type=ClockState, max_length=8)),
                ('finish', fields.CharEnumField(description='NONE: NONE\nON_TIME: ON_TIME\nLATE: LATE\nUNDATED: UNDATED', enum_type=Finish, max_length=8)),
                ('due_date', fields.DateField(null=True)),
                ('cases', fields.IntField(default=0)),
                ('trips_saved', fields.IntField(default=0)),
                ('working_days', fields.IntField(default=0)),
                ('timed', fields.IntField(default=0)),
                ('day', fields.DateField()),
            ],
            options={'table': 'day_rollup', 'app': 'models', 'indexes': [Index(fields=['day', 'clock'], name='idx_day_rollup_day_clock')], 'pk_attr': 'id', 'table_description': 'The service statistics per day of acceptance over every case (in total or per month, for a'},
            bases=['RollupRow'],
        ),
        ops.AddConstraint(
            model_name='DayRollup',
            constraint=CheckConstraint(check='cases >= 0', name='ck_day_rollup_cases'),
        ),
        ops.AddConstraint(
            model_name='DayRollup',
            constraint=CheckConstraint(check='timed >= 0 AND timed <= cases', name='ck_day_rollup_timed'),
        ),
        # (The cases already stored are counted into it by 0019, at its grain.)
        ops.RunPython(day_rollup_created),
    ]
