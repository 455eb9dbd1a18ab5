from tortoise import migrations
from tortoise.migrations import operations as ops
from api.models.webhook import DeliveryState
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0021_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxCursor',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('transaction', fields.BigIntField(default=0)),
                ('event_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'outbox_cursor', 'app': 'models', 'pk_attr': 'name', 'table_description': 'How far a reader of the outbox has got ("webhooks": the fan-out into deliveries).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('url', fields.CharField(max_length=2000)),
                ('event_types', fields.CharField(max_length=1000)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='webhook_endpoints', on_delete=OnDelete.CASCADE)),
                ('secret', fields.CharField(max_length=80)),
                ('previous_secret', fields.CharField(null=True, max_length=80)),
                ('previous_secret_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clear_personal_data', fields.BooleanField(default=False)),
                ('active', fields.BooleanField(default=True)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('disabled_reason', fields.CharField(default='', max_length=200)),
                ('failure_streak', fields.IntField(default=0)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.CharField(default='', max_length=80)),
                ('starts_after_event', fields.BigIntField(default=0)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'models', 'pk_attr': 'id', 'table_description': "A URL that receives the events of an area, signed with the endpoint's secret (Standard"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('models.OutboxEvent', source_field='event_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event_type', fields.CharField(max_length=64)),
                ('ordering_key', fields.CharField(max_length=40)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryState, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('leased_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('first_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.CharField(default='', max_length=300)),
                ('latency_ms', fields.IntField(null=True)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'unique_together': (('endpoint', 'event'),), 'pk_attr': 'id', 'table_description': 'One event for one endpoint: its attempts, in order per case (or per object) and endpoint.'},
            bases=['Model'],
        ),
        ops.RunSQL(
            [
                "CREATE INDEX idx_webhook_delivery_pending ON webhook_delivery (id) WHERE state = 'PENDING'",
                "CREATE INDEX idx_webhook_delivery_pending_key ON webhook_delivery (endpoint_id, ordering_key, id) "
                "WHERE state = 'PENDING'",
            ],
            reverse_sql=["DROP INDEX idx_webhook_delivery_pending", "DROP INDEX idx_webhook_delivery_pending_key"],
        ),
    ]
