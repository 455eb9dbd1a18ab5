from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_refresh_token_reuse')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseNumberCounter',
            fields=[
                ('stem', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('last_sequence', fields.IntField()),
            ],
            options={'table': 'case_number_counter', 'app': 'models', 'pk_attr': 'stem', 'table_description': 'The last sequence number given to a case of one district and day (the stem of its numbers).'},
            bases=['Model'],
        ),
    ]
