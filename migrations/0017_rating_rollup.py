from api.migration_ops import rebuild_rating_rollup
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.case import Rectification
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0016_read_your_writes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RatingRollup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=60)),
                ('month', fields.DateField()),
                ('score', fields.SmallIntField()),
                ('rectification', fields.CharEnumField(description='NONE: NONE\nOPEN: OPEN\nCLOSED: CLOSED', enum_type=Rectification, max_length=8)),
                ('due_date', fields.DateField(null=True)),
                ('ratings', fields.IntField(default=0)),
            ],
            options={'table': 'rating_rollup', 'app': 'models', 'pk_attr': 'id', 'table_description': "The ratings' figures over every case, per month of rating (Beijing time), score and"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Evaluation',
            name='rated_at',
            field=fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddConstraint(
            model_name='RatingRollup',
            constraint=CheckConstraint(check='ratings >= 0', name='ck_rating_rollup_ratings'),
        ),
        # The ratings already stored, counted into the new table.
        ops.RunPython(rebuild_rating_rollup),
    ]
