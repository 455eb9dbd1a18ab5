from api.migration_ops import utc_timestamps_on_sqlite
from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('models', '0008_area_outline')]

    initial = False

    operations = [
        ops.RunPython(utc_timestamps_on_sqlite),
    ]
