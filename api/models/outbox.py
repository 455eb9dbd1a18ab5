"""The outbox: events for other systems, written in the transaction of the change they report."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class OutboxEvent(Model):
    """One event another system may care about (a case's step, …), written in the transaction of
    the change it reports: a change rolled back leaves none. Read in commit order by
    `api.services.outbox.read`; `transaction` is the writing transaction's id on PostgreSQL
    (pg_current_xact_id), where ids alone do not follow the order in which transactions commit."""

    id = fields.BigIntField(primary_key=True)
    type = fields.CharField(max_length=64)  # e.g. "case.accepted"; docs/events.md lists them
    # where it happened; none for the catalogue's shared changes (a guide revision), which are
    # every area's
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="outbox_events", null=True, on_delete=fields.CASCADE
    )
    case = fields.ForeignKeyField(
        "models.Case", related_name="outbox_events", null=True, on_delete=fields.CASCADE, db_index=True
    )
    occurred_at = fields.DatetimeField()
    payload = fields.JSONField()
    transaction = fields.BigIntField(null=True)  # PostgreSQL only

    class Meta:
        table = "outbox_event"
        indexes = (Index(fields=("transaction", "id"), name="idx_outbox_event_commit_order"),)
