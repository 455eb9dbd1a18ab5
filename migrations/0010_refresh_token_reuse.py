from api.migration_ops import keep_audit_log_append_only
from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.audit import AuditAction
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_utc_timestamps_on_sqlite')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UsedRefreshToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.AuthSession', source_field='session_id', db_constraint=True, to_field='id', related_name='used_refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'auth_refresh_used', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A refresh token already exchanged (hashed): shown again, it ends its session (theft detection).'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AuditEntry',
            name='action',
            field=fields.CharEnumField(db_index=True, description='CREATE: CREATE\nUPDATE: UPDATE\nDELETE: DELETE\nSIGN_IN: SIGN_IN\nSIGN_IN_FAILED: SIGN_IN_FAILED\nSIGN_IN_LOCKED: SIGN_IN_LOCKED\nSIGN_OUT: SIGN_OUT\nREFRESH_REUSED: REFRESH_REUSED\nKEY_CREATED: KEY_CREATED\nKEY_REVOKED: KEY_REVOKED\nREAD_PII: READ_PII', enum_type=AuditAction, max_length=20),
        ),
        ops.RunPython(keep_audit_log_append_only),
    ]
