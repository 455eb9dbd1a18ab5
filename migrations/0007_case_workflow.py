from api.migration_ops import carry_cases_forward, open_rectifications
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.calendar import CalendarSource
from api.models.case import CaseStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0006_staff_id_number_not_unique')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharEnumField(description='PACKAGE: PACKAGE\nADMIN: ADMIN\nIMPORT: IMPORT', enum_type=CalendarSource, max_length=10)),
                ('first_day', fields.DateField()),
                ('last_day', fields.DateField()),
                ('days_changed', fields.IntField()),
                ('description', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'calendar_revision', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One change of the calendar: a year loaded or imported, or days an admin corrected.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='CalendarDay',
            name='source',
            field=fields.CharEnumField(default=CalendarSource.ADMIN, description='PACKAGE: PACKAGE\nADMIN: ADMIN\nIMPORT: IMPORT', enum_type=CalendarSource, max_length=10),
        ),
        ops.AddField(
            model_name='Case',
            name='accepted_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='calendar_revision',
            field=fields.ForeignKeyField('models.CalendarRevision', source_field='calendar_revision_id', null=True, db_constraint=True, to_field='id', related_name='cases', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Case',
            name='completed_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='held_by',
            field=fields.ForeignKeyField('models.Organization', source_field='held_by_id', null=True, db_constraint=True, to_field='id', related_name='held_cases', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Case',
            name='legal_limit_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='promised_limit_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='paused_working_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='status_before_pause',
            field=fields.CharEnumField(null=True, description='SUBMITTED: SUBMITTED\nACCEPTED: ACCEPTED\nREJECTED: REJECTED\nPRE_REVIEWED: PRE_REVIEWED\nSUPPLEMENT_REQUESTED: SUPPLEMENT_REQUESTED\nREVIEWED: REVIEWED\nDECIDED: DECIDED\nCOMPLETED: COMPLETED\nDELIVERED: DELIVERED\nWITHDRAWN: WITHDRAWN', enum_type=CaseStatus, max_length=24),
        ),
        ops.AddField(
            model_name='Case',
            name='working_days_taken',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='CaseEvent',
            name='batch',
            field=fields.ForeignKeyField('models.AgencyBatch', source_field='batch_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Evaluation',
            name='follow_up',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Evaluation',
            name='rectification_due_date',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Evaluation',
            name='rectification_response',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Evaluation',
            name='rectified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Evaluation',
            name='rectified_by',
            field=fields.ForeignKeyField('models.User', source_field='rectified_by_id', null=True, db_constraint=True, to_field='id', related_name='rectifications', on_delete=OnDelete.SET_NULL),
        ),
        ops.RunPython(carry_cases_forward),
        ops.RunPython(open_rectifications),
        ops.AlterField(
            model_name='Case',
            name='paused_working_days',
            field=fields.IntField(default=0),
        ),
        ops.AlterField(
            model_name='Evaluation',
            name='follow_up',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AlterField(
            model_name='Evaluation',
            name='rectification_response',
            field=fields.TextField(default='', unique=False),
        ),
        ops.AddConstraint(
            model_name='Evaluation',
            constraint=CheckConstraint(check='(score <= 2) = (rectification_due_date IS NOT NULL)', name='ck_evaluation_rectification'),
        ),
        ops.AddConstraint(
            model_name='Evaluation',
            constraint=CheckConstraint(check="rectified_at IS NULL OR (rectification_due_date IS NOT NULL AND rectification_response <> '' AND follow_up <> '')", name='ck_evaluation_rectified'),
        ),
    ]
