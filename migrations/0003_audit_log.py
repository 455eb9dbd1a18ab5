from api.migration_ops import make_audit_log_append_only
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from api.models.audit import AuditAction
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_identity_sessions_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('occurred_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('action', fields.CharEnumField(db_index=True, description='CREATE: CREATE\nUPDATE: UPDATE\nDELETE: DELETE\nSIGN_IN: SIGN_IN\nSIGN_IN_FAILED: SIGN_IN_FAILED\nSIGN_IN_LOCKED: SIGN_IN_LOCKED\nSIGN_OUT: SIGN_OUT\nKEY_CREATED: KEY_CREATED\nKEY_REVOKED: KEY_REVOKED\nREAD_PII: READ_PII', enum_type=AuditAction, max_length=20)),
                ('actor_user_id', fields.IntField(null=True)),
                ('actor_name', fields.CharField(default='', max_length=60)),
                ('actor_role', fields.CharField(default='', max_length=12)),
                ('api_key_prefix', fields.CharField(default='', max_length=16)),
                ('object_type', fields.CharField(default='', max_length=40)),
                ('object_id', fields.IntField(null=True)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('ip', fields.CharField(default='', max_length=45)),
                ('detail', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One audited event, never changed or removed (the database refuses it).'},
            bases=['Model'],
        ),
        ops.RunPython(make_audit_log_append_only),
    ]
