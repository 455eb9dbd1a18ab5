"""Webhooks: endpoints other systems registered, and the deliveries of outbox events to them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DeliveryState(StrEnum):
    PENDING = "PENDING"  # waiting for its first or next attempt (or for an earlier one of its case)
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx
    FAILED = "FAILED"  # retries ran out (SANJI_WEBHOOK_RETRY_HOURS); redelivery makes it pending again


class WebhookEndpoint(Model):
    """A URL that receives the events of an area, signed with the endpoint's secret (Standard
    Webhooks). The secret is kept so the server can sign; it is shown once, when made."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    url = fields.CharField(max_length=2000)
    # Space-separated patterns: a type ("case.accepted"), a family ("case.*") or "*".
    event_types = fields.CharField(max_length=1000)
    # Events of this organization and those below it (and the catalogue's, which are every area's).
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    secret = fields.CharField(max_length=80)
    # After a rotation, the old secret signs beside the new one until `previous_secret_until`.
    previous_secret = fields.CharField(max_length=80, null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    # The applicant's name, ID number and phone in clear in case events (each delivery audited);
    # only for webhooks registered by roles that read them in clear. Masked otherwise.
    clear_personal_data = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=200, default="")
    # Attempts failed in a row, and since when: the endpoint is disabled when it keeps failing.
    failure_streak = fields.IntField(default=0)
    failing_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=80, default="")  # a user's name, or "API key <prefix>"
    # Events written after the endpoint was made: those after this outbox id.
    starts_after_event = fields.BigIntField(default=0)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Model):
    """One event for one endpoint: its attempts, in order per case (or per object) and endpoint.
    Its `webhook-id` is the event's, the same on every attempt and redelivery."""

    id = fields.BigIntField(primary_key=True)
    endpoint = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    event = fields.ForeignKeyField("models.OutboxEvent", related_name="deliveries", on_delete=fields.CASCADE)
    event_type = fields.CharField(max_length=64)
    # Deliveries of one key go out one at a time, in order: "case:<id>", "org:<id>", "item:<id>".
    ordering_key = fields.CharField(max_length=40)
    state = fields.CharEnumField(DeliveryState, max_length=10, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A worker holds the delivery until then (a worker killed mid-delivery: another takes it after).
    leased_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    first_attempt_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)  # the last answer's HTTP status
    last_error = fields.CharField(max_length=300, default="")
    latency_ms = fields.IntField(null=True)  # of the last attempt

    class Meta:
        table = "webhook_delivery"
        unique_together = (("endpoint", "event"),)
        # Migration 0022 adds two partial indexes of the pending deliveries, which the worker's claim
        # reads (their number does not grow with the delivered history): idx_webhook_delivery_pending
        # (id) and idx_webhook_delivery_pending_key (endpoint_id, ordering_key, id). Tortoise's
        # indexes have no WHERE, so they are not declared here.


class OutboxCursor(Model):
    """How far a reader of the outbox has got ("webhooks": the fan-out into deliveries)."""

    name = fields.CharField(max_length=40, primary_key=True)
    transaction = fields.BigIntField(default=0)
    event_id = fields.BigIntField(default=0)

    class Meta:
        table = "outbox_cursor"
