from api.migration_ops import keep_write_keys_writing
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_rate_limits')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ApiKey',
            name='scopes',
            field=fields.CharField(null=True, max_length=1000),
        ),
        ops.RunPython(keep_write_keys_writing),
        ops.AlterField(
            model_name='ApiKey',
            name='scopes',
            field=fields.CharField(default='read:*', max_length=1000),
        ),
        ops.RemoveField(model_name='ApiKey', name='can_write'),
    ]
