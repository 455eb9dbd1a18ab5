"""Persisted queries: GraphQL operations registered ahead, run by the SHA-256 of their text
(docs/persisted-queries.md)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OperationKind(StrEnum):
    QUERY = "QUERY"
    MUTATION = "MUTATION"
    SUBSCRIPTION = "SUBSCRIPTION"


class PersistedQuery(Model):
    """One registered operation document, known by the SHA-256 of its text: checked against the
    schema and the query limits when registered, and again when the schema changes."""

    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64)  # lowercase hex of the UTF-8 text
    document = fields.TextField()
    operation_name = fields.CharField(max_length=200, default="")  # its first operation's, if named
    kind = fields.CharEnumField(OperationKind, max_length=12)
    # Who registered it: the organization of the user or key (the area that lists it) and its name.
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="persisted_queries", on_delete=fields.CASCADE
    )
    created_by = fields.CharField(max_length=80, default="")  # a user's name, or "API key <prefix>"
    created_at = fields.DatetimeField()
    # Valid against the schema whose SDL hashes to `schema_hash`; otherwise why not (flagged, not run).
    valid = fields.BooleanField(default=True)
    problem = fields.CharField(max_length=500, default="")
    schema_hash = fields.CharField(max_length=64)
    checked_at = fields.DatetimeField()

    class Meta:
        table = "persisted_query"
        # One registration of a text per organization (each lists and deletes its own); requests
        # name the text, by the index's first column.
        unique_together = (("sha256", "organization"),)
