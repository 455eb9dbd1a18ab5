from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from api.migration_ops import localize_item_values

class Migration(migrations.Migration):
    dependencies = [('models', '0023_persisted_queries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ItemLocal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.Item', source_field='item_id', db_constraint=True, to_field='id', related_name='locals', on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='item_locals', on_delete=OnDelete.CASCADE)),
                ('promised_limit_days', fields.IntField()),
                ('fee_note', fields.CharField(default='', max_length=200)),
                ('consult_phone', fields.CharField(default='', max_length=20)),
                ('complaint_phone', fields.CharField(default='', max_length=20)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'item_local', 'app': 'models', 'unique_together': (('item', 'organization'),), 'pk_attr': 'id', 'table_description': "A district's own values of an item (承诺时限 set by the implementing body within the legal"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Item',
            name='publisher',
            field=fields.ForeignKeyField('models.Organization', source_field='publisher_id', null=True, db_constraint=True, to_field='id', related_name='published_items', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddConstraint(
            model_name='ItemLocal',
            constraint=CheckConstraint(check='promised_limit_days >= 0', name='ck_item_local_promised'),
        ),
        ops.RunPython(localize_item_values),
    ]
