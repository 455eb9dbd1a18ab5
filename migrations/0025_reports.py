from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.report import Visibility
from api.models.user import Role
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0024_item_publisher_and_locals')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('document', fields.TextField(unique=False)),
                ('variables', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('view', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('visibility', fields.CharEnumField(default=Visibility.PRIVATE, description='PRIVATE: PRIVATE\nROLE: ROLE\nAREA: AREA', enum_type=Visibility, max_length=8)),
                ('role', fields.CharEnumField(null=True, description='ADMIN: ADMIN\nSUPERVISOR: SUPERVISOR\nCLERK: CLERK\nAGENT: AGENT\nINTEGRATOR: INTEGRATOR', enum_type=Role, max_length=12)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.CASCADE)),
                ('owner_name', fields.CharField(default='', max_length=50)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'report', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A saved report. Whoever opens it runs its query with their own rights: a hall clerk opening'},
            bases=['Model'],
        ),
        ops.AddConstraint(
            model_name='Report',
            constraint=CheckConstraint(check="(visibility = 'ROLE' AND role IS NOT NULL) OR (visibility <> 'ROLE' AND role IS NULL)", name='ck_report_role'),
        ),
    ]
