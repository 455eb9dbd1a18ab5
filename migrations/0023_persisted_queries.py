from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.query import OperationKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0022_webhooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedQuery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(max_length=64)),
                ('document', fields.TextField(unique=False)),
                ('operation_name', fields.CharField(default='', max_length=200)),
                ('kind', fields.CharEnumField(description='QUERY: QUERY\nMUTATION: MUTATION\nSUBSCRIPTION: SUBSCRIPTION', enum_type=OperationKind, max_length=12)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='persisted_queries', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.CharField(default='', max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid', fields.BooleanField(default=True)),
                ('problem', fields.CharField(default='', max_length=500)),
                ('schema_hash', fields.CharField(max_length=64)),
                ('checked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'persisted_query', 'app': 'models', 'unique_together': (('sha256', 'organization'),), 'pk_attr': 'id', 'table_description': 'One registered operation document, known by the SHA-256 of its text: checked against the'},
            bases=['Model'],
        ),
    ]
