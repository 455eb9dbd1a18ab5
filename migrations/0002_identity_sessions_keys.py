from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('prefix', fields.CharField(unique=True, max_length=16)),
                ('key_hash', fields.CharField(max_length=64)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.RESTRICT)),
                ('can_write', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_key', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An integrator key: shown once, stored hashed, found by its visible prefix, revocable.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuthSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('refresh_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('client', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'auth_session', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A signed-in session: its refresh token (hashed) and whether it was ended.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=50)),
                ('failures', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'login_throttle', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Failed sign-ins per login name (known or not), shared by every API worker.'},
            bases=['Model'],
        ),
    ]
