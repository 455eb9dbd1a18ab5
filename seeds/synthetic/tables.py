"""The columns the synthetic loader writes, table by table, and the row encoding for PostgreSQL COPY.

Rows are tuples of str, int, float, bool or None, already in the form both databases store: a
timestamp as UTC text ("2025-03-04 00:30:00+00:00"), a date as ISO text. SQLite takes them as they
are; PostgreSQL takes them as COPY text. Ids the database may number itself (rows nothing refers
to, and events) are left out and come from the table's sequence, in the order written.
"""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, ...]] = {
    "organization": (
        "id", "code", "name", "tier", "kind", "parent_id", "path", "population", "address",
        "longitude", "latitude", "duty_phone", "construction_status", "construction_started_on",
        "built_on", "standardized_on", "created_at", "updated_at",
    ),
    "staff": (
        "id", "name", "organization_id", "window_id", "position", "phone", "id_number", "active",
        "created_at",
    ),
    "app_user": (
        "id", "username", "password_hash", "role", "organization_id", "staff_id", "active", "is_demo",
        "last_login_at", "created_at",
    ),
    "item_assignment": (
        "item_id", "organization_id", "power", "legal_basis", "effective_from", "revoked_at", "active",
        "decided_by_id", "created_at",
    ),
    "service_case": (
        "id", "number", "item_id", "guide_revision_id", "applicant_type", "applicant_name",
        "applicant_id_number", "applicant_phone", "channel", "submitted_at",
        "submitted_at_organization_id", "handling_organization_id", "status", "decision",
        "accepted_at", "legal_due_date", "promised_due_date", "due_dates_estimated", "completed_at",
        "delivered_at", "trips_saved", "held_by_id", "status_before_pause", "accepted_on",
        "legal_limit_days", "promised_limit_days", "completed_on", "working_days_taken",
        "paused_working_days", "calendar_revision_id", "query_code_hash", "version", "created_at",
        "updated_at",
    ),
    "case_event": (
        "case_id", "action", "from_status", "to_status", "actor_id", "actor_name", "organization_id",
        "occurred_at", "comment", "batch_id",
    ),
    "agency_batch": (
        "id", "number", "origin_id", "destination_id", "carrier_id", "dispatched_at", "received_at",
        "created_at",
    ),
    "agency_batch_case": ("batch_id", "case_id"),
    "evaluation": (
        "case_id", "staff_id", "score", "reason", "rated_at", "rectification_due_date", "rectified_at",
        "rectification_response", "follow_up", "rectified_by_id",
    ),
    "case_number_counter": ("stem", "last_sequence"),
}  # fmt: skip
# Written in this order (a row's references come before it), each district's rows together.
TREE_TABLES = ("organization", "staff", "app_user")
DISTRICT_TABLES = (
    "item_assignment",
    "service_case",
    "agency_batch",
    "case_event",
    "agency_batch_case",
    "evaluation",
    "case_number_counter",
)
# Tables whose secondary indexes and foreign keys are set aside while they fill.
BULK_TABLES = DISTRICT_TABLES[:-1]
# Tables that get ids from their sequence (their column lists leave `id` out).
NUMBERED_BY_DATABASE = tuple(
    t for t, columns in COLUMNS.items() if "id" not in columns and t != "case_number_counter"
)
# Tables whose ids the loader gives (it moves their sequences past them afterwards).
NUMBERED_HERE = tuple(t for t, columns in COLUMNS.items() if "id" in columns)
NULL = "\\N"


def copy_text(rows: list[tuple]) -> bytes:
    """Rows as PostgreSQL COPY text. The generators write no tab, newline or backslash in a value."""
    lines = ["\t".join([NULL if value is None else str(value) for value in row]) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()
