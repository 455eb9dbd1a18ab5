"""Events out: each change another system cares about writes an outbox row in its own transaction
(a change rolled back leaves none), and readers never pass over a row whose transaction commits
after they have read on. docs/events.md documents the types and payloads.

On PostgreSQL an id is drawn when the row is written, not when its transaction commits: a reader
that went by ids could pass id 10 while its transaction was still open, take 11, and never see 10.
So each row keeps its transaction's id (pg_current_xact_id), and a reader takes only rows of
transactions older than every transaction still open (pg_snapshot_xmin of its snapshot), in
(transaction, id) order: a row that commits later always sorts after what was read. That order is
the transactions' ids (given at their first write), not exactly their commits; a case's version
orders its own events. SQLite takes one writing transaction at a time, so there the ids follow
the commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.db import dialect_sql
from api.errors import DomainError
from api.models.case import Case, CaseAction, CaseEvent, Evaluation
from api.models.item import GuideRevision, ItemAssignment
from api.models.org import Organization, Tier, area_range
from api.models.outbox import OutboxEvent
from api.services.pii import mask_name
from schema.generator.ids import to_global_id

# The event type of each step of a case.
CASE_EVENTS = {
    CaseAction.SUBMIT: "case.submitted",
    CaseAction.PROXY_DECLARE: "case.proxy_declared",
    CaseAction.ACCEPT: "case.accepted",
    CaseAction.REJECT: "case.rejected",
    CaseAction.PRE_REVIEW: "case.pre_reviewed",
    CaseAction.REQUEST_SUPPLEMENT: "case.supplement_requested",
    CaseAction.RESUME: "case.resumed",
    CaseAction.REVIEW: "case.reviewed",
    CaseAction.DECIDE: "case.decided",
    CaseAction.COMPLETE: "case.completed",
    CaseAction.DELIVER: "case.delivered",
    CaseAction.WITHDRAW: "case.withdrawn",
    CaseAction.DISPATCH: "case.dispatched",
    CaseAction.RECEIVE: "case.received",
}
# Every type an event may have (docs/events.md), for receivers to choose from.
EVENT_TYPES = (
    *CASE_EVENTS.values(),
    "case.due_dates_changed",
    "assignment.created",
    "assignment.revoked",
    "guide.revision_published",
    "hall.status_changed",
    "room.status_changed",
    "rating.created",
    "rectification.closed",
)
MAX_READ = 1000
# PostgreSQL: an event is readable once its transaction is older than every one still open.
READABLE = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
LIVE_CHANNEL = "sanji_outbox"  # live.OUTBOX: what emit notifies


def global_id(type_name: str, pk: int | None) -> str | None:
    """The id integrators know from GraphQL."""
    return None if pk is None else to_global_id(type_name, pk)


async def emit(
    type_: str,
    *,
    organization_id: int | None,
    occurred_at: datetime,
    payload: dict,
    case_id: int | None = None,
) -> int:
    """Write one event in the caller's transaction; its id."""
    connection = OutboxEvent._meta.db
    if connection.capabilities.dialect != "postgres":
        event = await OutboxEvent.create(
            type=type_,
            organization_id=organization_id,
            case_id=case_id,
            occurred_at=occurred_at,
            payload=payload,
        )
        from api.services.live import signal_local  # (live reads the outbox through this module)

        signal_local(LIVE_CHANNEL)  # before the commit: the hub reads again shortly (live.py)
        return event.id
    # The subscriptions' hubs are told when the transaction commits (api/services/live.py).
    rows = await connection.execute_query_dict(  # (execute_query gives no rows for an INSERT)
        'WITH e AS (INSERT INTO "outbox_event" ("type", "organization_id", "case_id", "occurred_at", '
        '"payload", "transaction") VALUES ($1, $2, $3, $4, $5, pg_current_xact_id()::text::bigint) '
        f"RETURNING \"id\") SELECT \"id\", pg_notify('{LIVE_CHANNEL}', '') FROM e",
        [type_, organization_id, case_id, occurred_at, json.dumps(payload, ensure_ascii=False)],
    )
    return rows[0]["id"]


async def case_step(case: Case, event: CaseEvent) -> None:
    """The event of a case's step, in the step's transaction. The applicant's name is masked as the
    public lookup shows it; the ID number and phone are not in it, nor the step's comment (free
    text can hold names: a receiver reads it through GraphQL, with its own permissions)."""
    payload: dict[str, Any] = {
        "case": _case(case),
        "action": str(event.action),
        "fromStatus": event.from_status and str(event.from_status),
        "toStatus": str(event.to_status),
        "organization": global_id("Organization", event.organization_id),
    }
    await emit(
        CASE_EVENTS[CaseAction(event.action)],
        organization_id=event.organization_id,
        occurred_at=event.occurred_at,
        payload=payload,
        case_id=case.id,
    )


async def due_dates_changed(case: Case, when: datetime) -> None:
    """A calendar correction moved a case's due dates (its version moves with them)."""
    await emit(
        "case.due_dates_changed",
        organization_id=case.handling_organization_id,
        occurred_at=when,
        payload={
            "case": _case(case),
            "legalDueDate": case.legal_due_date and case.legal_due_date.isoformat(),
        },
        case_id=case.id,
    )


def _case(case: Case) -> dict[str, Any]:
    return {
        "id": global_id("Case", case.id),
        "number": case.number,
        "status": str(case.status),
        "version": case.version,
        "item": global_id("Item", case.item_id),
        "submittedAt": global_id("Organization", case.submitted_at_organization_id),
        "handledBy": global_id("Organization", case.handling_organization_id),
        "applicantType": str(case.applicant_type),
        "applicant": mask_name(case.applicant_name, str(case.applicant_type)),
        "promisedDueDate": case.promised_due_date and case.promised_due_date.isoformat(),
    }


async def assignment_created(assignment: ItemAssignment) -> None:
    """An item assigned to an organization (下放, 委托 or 代办), in the write's transaction."""
    await _assignment("assignment.created", assignment, assignment.created_at)


async def assignment_revoked(assignment: ItemAssignment) -> None:
    await _assignment("assignment.revoked", assignment, assignment.revoked_at)


async def _assignment(type_: str, assignment: ItemAssignment, when: datetime | None) -> None:
    payload = {
        "assignment": global_id("ItemAssignment", assignment.id),
        "item": global_id("Item", assignment.item_id),
        "organization": global_id("Organization", assignment.organization_id),
        "power": str(assignment.power),
        "legalBasis": assignment.legal_basis,
        "effectiveFrom": assignment.effective_from.isoformat(),
        "revokedAt": assignment.revoked_at and assignment.revoked_at.isoformat(),
    }
    await emit(type_, organization_id=assignment.organization_id, occurred_at=when or _now(), payload=payload)


async def revision_published(revision: GuideRevision) -> None:
    """A new revision of an item's service guide: the catalogue is shared, so no organization."""
    payload = {
        "revision": global_id("GuideRevision", revision.id),
        "item": global_id("Item", revision.item_id),
        "number": revision.revision,
        "effectiveFrom": revision.effective_from.isoformat(),
        "changeNote": revision.change_note,
    }
    await emit("guide.revision_published", organization_id=None, occurred_at=_now(), payload=payload)


async def organization_written(organization: Organization, before: dict[str, Any] | None) -> None:
    """A hall's or room's construction status changed (建设状态), in the write's transaction."""
    if before is None or before.get("construction_status") == organization.construction_status:
        return
    if organization.tier not in (Tier.HALL, Tier.ROOM):
        return
    was = before.get("construction_status")
    payload = {
        "organization": global_id("Organization", organization.id),
        "code": organization.code,
        "tier": str(organization.tier),
        "from": was and str(was),
        "to": organization.construction_status and str(organization.construction_status),
        "builtOn": organization.built_on and organization.built_on.isoformat(),
        "standardizedOn": organization.standardized_on and organization.standardized_on.isoformat(),
    }
    type_ = "room.status_changed" if organization.tier == Tier.ROOM else "hall.status_changed"
    await emit(type_, organization_id=organization.id, occurred_at=_now(), payload=payload)


async def rated(case: Case, rating: Evaluation) -> None:
    """A case rated (好差评); a bad rating opens a rectification (整改) due on the date given."""
    await _rating("rating.created", case, rating, rating.rated_at)


async def rectification_closed(case: Case, rating: Evaluation) -> None:
    await _rating("rectification.closed", case, rating, rating.rectified_at)


async def _rating(type_: str, case: Case, rating: Evaluation, when: datetime | None) -> None:
    payload = {
        "rating": global_id("Evaluation", rating.id),
        "case": global_id("Case", case.id),
        "number": case.number,
        "score": rating.score,
        "rectificationDueDate": rating.rectification_due_date and rating.rectification_due_date.isoformat(),
        "rectifiedAt": rating.rectified_at and rating.rectified_at.isoformat(),
    }
    await emit(
        type_,
        organization_id=case.handling_organization_id,
        occurred_at=when or _now(),
        payload=payload,
        case_id=case.id,
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, order=True)
class Cursor:
    """Where a reader stands: after the event of this transaction and id (transaction 0 on SQLite).
    Cursors compare in reading order."""

    transaction: int = 0
    id: int = 0

    @classmethod
    def of(cls, event: dict[str, Any]) -> Cursor:
        """The cursor just after an event `read` gave."""
        return cls(event["transaction"], event["id"])

    def __str__(self) -> str:
        return f"{self.transaction}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            transaction, id_ = (int(part) for part in text.split("."))
        except ValueError:
            raise DomainError("VALIDATION_FAILED", "not an outbox cursor", field="after") from None
        if transaction < 0 or id_ < 0:
            raise DomainError("VALIDATION_FAILED", "not an outbox cursor", field="after")
        return cls(transaction, id_)


async def latest() -> tuple[Cursor, frozenset[int]]:
    """Where a reader that wants only the events to come starts: after the last event readable
    now, and the ids of the events committed already that an older open transaction holds back
    (readable later, but not new: on PostgreSQL only)."""
    connection = OutboxEvent._meta.db
    if connection.capabilities.dialect != "postgres":
        _, rows = await connection.execute_query('SELECT MAX("id") AS "id" FROM "outbox_event"')
        return Cursor(0, rows[0]["id"] or 0), frozenset()
    # One statement, so both parts see one snapshot: no event falls between them.
    _, rows = await connection.execute_query(
        f'(SELECT "transaction", "id", false AS "held" FROM "outbox_event" WHERE "transaction" < {READABLE} '
        'ORDER BY "transaction" DESC, "id" DESC LIMIT 1) '
        f'UNION ALL (SELECT "transaction", "id", true FROM "outbox_event" WHERE "transaction" >= {READABLE})'
    )
    last = next((Cursor.of(row) for row in rows if not row["held"]), Cursor())
    return last, frozenset(row["id"] for row in rows if row["held"])


def in_area(area: str | None, path: str | None) -> bool:
    """Whether an organization at `path` lies in a reader's `area` (None: everything; "": no
    organization's), as `read` decides it in SQL."""
    return area is None or (area != "" and path is not None and path.startswith(area))


async def read(
    after: Cursor,
    limit: int = 100,
    *,
    area: str | None = None,
    types: tuple[str, ...] = (),
    paths: bool = False,
) -> tuple[list[dict[str, Any]], Cursor]:
    """Up to `limit` events after `after`, in (transaction, id) order, and the cursor to read on
    from. Events of transactions still open (and any after them) wait. `area`: only the events of
    the organizations under that path, and those without one (the catalogue's, every area's);
    `types`: only events of these types; `paths`: each event with its organization's `path`, and
    a case's event with its case's `submitted_path` and `handling_path`."""
    if not 1 <= limit <= MAX_READ:
        raise DomainError("VALIDATION_FAILED", f"limit must be 1 to {MAX_READ}", field="limit")
    connection = OutboxEvent._meta.db
    postgres = connection.capabilities.dialect == "postgres"
    columns = 'e."id", e."type", e."organization_id", e."case_id", e."occurred_at", e."payload"'
    where, values = [], []
    if postgres:
        where += [f'e."transaction" < {READABLE}']
        where += ['(e."transaction", e."id") > ({}, {})']
        values += [after.transaction, after.id]
        order, transaction = 'e."transaction", e."id"', 'e."transaction"'
    else:
        where += ['e."id" > {}']
        values += [after.id]
        order, transaction = 'e."id"', '0 AS "transaction"'
    join = ""
    if area is not None or paths:
        join = 'LEFT JOIN "organization" o ON o."id" = e."organization_id" '
    if paths:  # and a case's two organizations', where a case's readers are (CASE_SCOPE)
        columns += ', o."path", so."path" AS "submitted_path", ho."path" AS "handling_path"'
        join += (
            'LEFT JOIN "service_case" c ON c."id" = e."case_id" '
            'LEFT JOIN "organization" so ON so."id" = c."submitted_at_organization_id" '
            'LEFT JOIN "organization" ho ON ho."id" = c."handling_organization_id" '
        )
    if area is not None:
        low, high = area_range(area) if area else ("", "")
        where += ['(e."organization_id" IS NULL OR (o."path" >= {} AND o."path" < {}))']
        values += [low, high]
    if types:
        where += [f'e."type" IN ({", ".join("{}" for _ in types)})']
        values += list(types)
    sql = (
        f'SELECT {columns}, {transaction} FROM "outbox_event" e {join}WHERE {" AND ".join(where)} '
        f"ORDER BY {order} LIMIT {{}}"
    )
    _, rows = await connection.execute_query(dialect_sql(sql, connection.query_class), [*values, limit])
    events = [dict(row) for row in rows]
    for event in events:  # SQLite gives the stored text
        if isinstance(event["payload"], str):
            event["payload"] = json.loads(event["payload"])
        if isinstance(event["occurred_at"], str):
            event["occurred_at"] = datetime.fromisoformat(event["occurred_at"])
    cursor = Cursor.of(events[-1]) if events else after
    return events, cursor
