from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0019_day_rollup_tier_tags')]

    initial = False

    operations = [
        # The statistics count a period's end days from the cases with every column they read in
        # the index (an index-only scan); it serves what the index on the day alone did.
        ops.AddIndex(
            model_name='Case',
            index=Index(fields=['accepted_on', 'handling_organization_id', 'item_id', 'status', 'completed_on', 'promised_due_date', 'trips_saved', 'working_days_taken'], name='idx_case_accepted_figures'),
        ),
        ops.RemoveIndex(
            model_name='Case',
            name='idx_case_accepted_on',
            fields=None,
        ),
    ]
