from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0020_case_accepted_figures_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('type', fields.CharField(max_length=64)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='outbox_events', on_delete=OnDelete.CASCADE)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='outbox_events', on_delete=OnDelete.CASCADE)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('transaction', fields.BigIntField(null=True)),
            ],
            options={'table': 'outbox_event', 'app': 'models', 'indexes': [Index(fields=['transaction', 'id'], name='idx_outbox_event_commit_order')], 'pk_attr': 'id', 'table_description': "One event another system may care about (a case's step, …), written in the transaction of"},
            bases=['Model'],
        ),
    ]
