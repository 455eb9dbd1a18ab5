from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_case_workflow')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AreaOutline',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='outlines', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(default='', max_length=100)),
                ('geojson', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'area_outline', 'app': 'models', 'unique_together': (('organization',),), 'pk_attr': 'id', 'table_description': "The outline of an organization's area (辖区边界) as GeoJSON, drawn on the coverage map."},
            bases=['Model'],
        ),
    ]
