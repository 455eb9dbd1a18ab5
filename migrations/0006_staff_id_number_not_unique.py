from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_api_key_scopes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Staff',
            name='id_number',
            field=fields.CharField(null=True, max_length=18),
        ),
    ]
