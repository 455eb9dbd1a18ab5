from api.migration_ops import rebuild_service_rollups
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.case import ClockState, Finish
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0014_case_status_period_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseRollup',
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
                ('handling_organization', fields.ForeignKeyField('models.Organization', source_field='handling_organization_id', db_index=True, db_constraint=True, to_field='id', related_name='handled_rollups', on_delete=OnDelete.RESTRICT)),
                ('submitted_at_organization', fields.ForeignKeyField('models.Organization', source_field='submitted_at_organization_id', db_index=True, db_constraint=True, to_field='id', related_name='submitted_rollups', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'case_rollup', 'app': 'models', 'indexes': [Index(fields=['month', 'clock'], name='idx_case_rollup_month_clock')], 'pk_attr': 'id', 'table_description': "The service statistics per handling and filing organization (an area's figures, per"},
            bases=['RollupRow'],
        ),
        ops.CreateModel(
            name='HandlingRollup',
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
                ('handling_organization', fields.ForeignKeyField('models.Organization', source_field='handling_organization_id', db_constraint=True, to_field='id', related_name='handling_rollups', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'handling_rollup', 'app': 'models', 'indexes': [Index(fields=['month', 'clock'], name='idx_handling_rollup_month_clock')], 'pk_attr': 'id', 'table_description': 'The service statistics per handling organization over every filing organization (figures'},
            bases=['RollupRow'],
        ),
        ops.CreateModel(
            name='ItemRollup',
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
                ('item', fields.ForeignKeyField('models.Item', source_field='item_id', db_constraint=True, to_field='id', related_name='rollups', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'item_rollup', 'app': 'models', 'indexes': [Index(fields=['month', 'clock'], name='idx_item_rollup_month_clock')], 'pk_attr': 'id', 'table_description': 'The service statistics per item over every organization (figures in total, per month, item'},
            bases=['RollupRow'],
        ),
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['accepted_on'], name='idx_case_accepted_on'),
        ),
        ops.AddConstraint(
            model_name='CaseRollup',
            constraint=CheckConstraint(check='cases >= 0', name='ck_case_rollup_cases'),
        ),
        ops.AddConstraint(
            model_name='CaseRollup',
            constraint=CheckConstraint(check='timed >= 0 AND timed <= cases', name='ck_case_rollup_timed'),
        ),
        ops.AddConstraint(
            model_name='HandlingRollup',
            constraint=CheckConstraint(check='cases >= 0', name='ck_handling_rollup_cases'),
        ),
        ops.AddConstraint(
            model_name='HandlingRollup',
            constraint=CheckConstraint(check='timed >= 0 AND timed <= cases', name='ck_handling_rollup_timed'),
        ),
        ops.AddConstraint(
            model_name='ItemRollup',
            constraint=CheckConstraint(check='cases >= 0', name='ck_item_rollup_cases'),
        ),
        ops.AddConstraint(
            model_name='ItemRollup',
            constraint=CheckConstraint(check='timed >= 0 AND timed <= cases', name='ck_item_rollup_timed'),
        ),
        # The cases already stored, counted into the new tables.
        ops.RunPython(rebuild_service_rollups),
    ]
