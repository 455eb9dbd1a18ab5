"""Cases in the database: submission with routing, each workflow step in one transaction, due dates.

A step reads the case, applies the state machine (api/services/workflow.py) and writes the case
back only if nobody changed it meanwhile (`version` compare-and-set), with its event, in the same
transaction: of two clerks accepting the same case at once exactly one wins, the other gets CONFLICT.
A submission takes its number from the day's counter row in the transaction that inserts the case,
so concurrent submissions queue for the number instead of colliding on it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.db import dialect_sql
from api.errors import DomainError
from api.models.calendar import CalendarRevision
from api.models.case import ApplicantType, Case, CaseAction, CaseEvent, CaseNumberCounter, CaseStatus, Channel
from api.models.item import GuideRevision, Item, ItemAssignment, Power
from api.models.org import Organization, OrgKind
from api.services import catalogue, deadlines, outbox, rollup, workflow
from api.services.workflow import Move

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
QUERY_CODE_LENGTH = 8
# Columns a workflow step may change.
STEP_COLUMNS = (
    "status",
    "decision",
    "channel",
    "accepted_at",
    "accepted_on",
    "legal_limit_days",
    "promised_limit_days",
    "legal_due_date",
    "promised_due_date",
    "due_dates_estimated",
    "completed_at",
    "completed_on",
    "working_days_taken",
    "delivered_at",
    "trips_saved",
    "held_by_id",
    "status_before_pause",
    "paused_working_days",
    "calendar_revision_id",
)
DUE_DATE_ACTIONS = frozenset({CaseAction.ACCEPT, CaseAction.RESUME})
# Both run in the submission's transaction (UPDATE ... RETURNING: SQLite 3.35+, PostgreSQL).
_TAKE_NUMBER = (
    'UPDATE case_number_counter SET "last_sequence" = "last_sequence" + 1 WHERE "stem" = {} '
    'RETURNING "last_sequence"'
)
_START_COUNTER = (
    'INSERT INTO case_number_counter ("stem", "last_sequence") VALUES ({}, {}) '
    'ON CONFLICT ("stem") DO NOTHING'
)


@dataclass(frozen=True)
class Application:
    """What an applicant hands in."""

    item_id: int
    applicant_type: ApplicantType
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    channel: Channel = Channel.COUNTER
    comment: str = ""


def query_code_hash(number: str, code: str, secret: str) -> str:
    """The stored form of a case's query code: HMAC-SHA256 under the server's secret key, so a copy
    of the database alone does not let anyone try the 32^8 codes offline."""
    message = f"{number}:{code.strip().upper()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def new_query_code(choice=secrets.choice) -> str:
    return "".join(choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def query_code_matches(case: Case | None, number: str, code: str, secret: str) -> bool:
    """Whether the code opens the case; the same work whether or not the case exists."""
    expected = case.query_code_hash if case is not None and case.query_code_hash else "0" * 64
    return hmac.compare_digest(expected, query_code_hash(number, code, secret)) and case is not None


async def power_of(organization_id: int | None, item_id: int, on: date | None = None) -> Power | None:
    """The organization's power for the item (its assignment in force), or None."""
    return (await powers_of([organization_id], item_id, on)).get(organization_id)


async def powers_of(
    organization_ids: Iterable[int | None], item_id: int, on: date | None = None
) -> dict[int, Power]:
    """The powers of the organizations that have an assignment in force for the item."""
    wanted = sorted({o for o in organization_ids if o is not None})
    if not wanted:
        return {}
    rows = ItemAssignment.filter(organization_id__in=wanted, item_id=item_id, active=True)
    if on is not None:
        rows = rows.filter(effective_from__lte=on)
    return {
        organization: Power(power)
        for organization, power in await rows.values_list("organization_id", "power")
    }


async def _refuse_before_the_assignment_starts(organization_id: int, item: Item, today: date) -> None:
    """An assignment that is not revoked but starts later: filing waits for that day, and says so."""
    starts = (
        await ItemAssignment.filter(organization_id=organization_id, item_id=item.id, active=True)
        .order_by("effective_from")
        .first()
        .values_list("effective_from", flat=True)
    )
    if starts is not None and starts > today:
        raise DomainError(
            "FORBIDDEN",
            f"the assignment of item {item.code} to your organization starts on {starts.isoformat()}: "
            "cases can be filed for it from that day",
            field="item",
        )


async def route(organization_id: int, item_id: int, on: date) -> int:
    """The organization that handles an application filed here: this one or the nearest above it
    with FULL power for the item (小事到社区, 大事到中心)."""
    current: int | None = organization_id
    seen = set()
    while current is not None and current not in seen:
        seen.add(current)
        if await power_of(current, item_id, on) == Power.FULL:
            return current
        current = await Organization.filter(id=current).first().values_list("parent_id", flat=True)
    raise DomainError(
        "VALIDATION_FAILED",
        "no organization at or above the one the application is filed at handles this item with FULL power",
        field="item",
    )


async def latest_calendar_revision() -> int | None:
    return await CalendarRevision.all().order_by("-id").first().values_list("id", flat=True)


async def next_number(prefix: str, day: date) -> str:
    """The next case number of the district and day; call it in the transaction that inserts the case.

    The counter row's UPDATE is atomic and, on PostgreSQL, holds the row until the transaction
    ends: concurrent submitters of one district and day wait for each other instead of colliding,
    and a rolled-back submission gives its number back.
    """
    stem = f"{prefix}{day:%Y%m%d}"
    connection = CaseNumberCounter._meta.db
    take = dialect_sql(_TAKE_NUMBER, connection.query_class)
    rows = await connection.execute_query_dict(take, [stem])
    if not rows:  # the day's first number, or a day whose cases were written without the counter
        start = dialect_sql(_START_COUNTER, connection.query_class)
        await connection.execute_query(start, [stem, await _highest_sequence(stem)])
        rows = await connection.execute_query_dict(take, [stem])
    return f"{stem}{rows[0]['last_sequence']:04d}"


async def _highest_sequence(stem: str) -> int:
    """The highest sequence among the stored numbers of the stem (cases from before the counter,
    or loaded in bulk like the fixture); 0 when there is none."""
    numbers = await Case.filter(number__startswith=stem).values_list("number", flat=True)
    sequences = [int(number[len(stem) :]) for number in numbers if number[len(stem) :].isdigit()]
    return max(sequences, default=0)


async def district_code(organization_id: int) -> str:
    """The code of the district the organization lies in (the REGION of kind DISTRICT on its path,
    else its root): the prefix of its case numbers, so numbers stay unique per district."""
    path = await Organization.get(id=organization_id).values_list("path", flat=True)
    chain = [int(pk) for pk in path.strip("/").split("/")]
    rows = await Organization.filter(id__in=chain).values_list("id", "code", "kind")
    by_id = {pk: (code, kind) for pk, code, kind in rows}
    districts = [by_id[pk][0] for pk in chain if by_id[pk][1] == OrgKind.DISTRICT]
    code = districts[-1] if districts else by_id[chain[0]][0]
    return code.replace("-", "")[:12]


@dataclass(frozen=True)
class Filed:
    case: Case
    query_code: str  # shown once, to hand to the applicant


async def submit(
    application: Application, organization_id: int, actor: Caller, when: datetime, secret: str
) -> Filed:
    """File an application at an organization; returns the case and its query code (shown once).

    `secret` keys the stored hash of the query code (the server's secret key)."""
    item = await Item.get_or_none(id=application.item_id)
    if item is None or not item.in_force:
        raise DomainError("NOT_FOUND", "the item does not exist or is not in force", field="item")
    today = deadlines.local_date(when)
    if application.channel in (Channel.AGENCY,):
        raise DomainError(
            "VALIDATION_FAILED",
            "AGENCY is set by the platform when the papers travel; "
            "file as COUNTER, ONLINE or PROACTIVE_AGENCY",
            field="channel",
        )
    power = await power_of(organization_id, item.id, today)
    if power is None and actor.role in workflow.BY_ACTION[CaseAction.SUBMIT].roles:
        await _refuse_before_the_assignment_starts(organization_id, item, today)
    handling = await route(organization_id, item.id, today) if power is not None else organization_id
    # The guide in force that day; an item whose first guide starts later uses that first one.
    revisions = GuideRevision.filter(item_id=item.id)
    revision = await revisions.filter(effective_from__lte=today).order_by("-effective_from").first()
    revision = revision or await revisions.order_by("effective_from").first()
    if revision is None:
        raise DomainError("VALIDATION_FAILED", "the item has no service guide yet", field="item")
    if not application.applicant_name.strip():
        raise DomainError("VALIDATION_FAILED", "the applicant's name is required", field="applicant_name")
    prefix = await district_code(organization_id)
    code = new_query_code()
    async with in_transaction():
        case = Case(
            number=await next_number(prefix, today),
            item_id=item.id,
            guide_revision_id=revision.id,
            applicant_type=application.applicant_type,
            applicant_name=application.applicant_name.strip(),
            applicant_id_number=application.applicant_id_number,
            applicant_phone=application.applicant_phone,
            channel=application.channel,
            submitted_at=when,
            submitted_at_organization_id=organization_id,
            handling_organization_id=handling,
            status=CaseStatus.SUBMITTED,
        )
        event = workflow.apply(
            case, item, Move(CaseAction.SUBMIT, actor, when, application.comment), power, {}
        )
        case.query_code_hash = query_code_hash(case.number, code, secret)
        await case.save()
        await rollup.shift(None, rollup.share(case))
        event.case_id = case.id
        await record(case, event)
    return Filed(case, code)


async def history(case_id: int) -> list[CaseEvent]:
    return await CaseEvent.filter(case_id=case_id).order_by("occurred_at", "id")


async def perform(case_id: int, move: Move, version: int | None = None) -> Case:
    """Take one step on a stored case in one transaction; CONFLICT if it changed since `version`."""
    async with in_transaction():
        case = await Case.get_or_none(id=case_id)
        if case is None:
            raise DomainError("NOT_FOUND", "the case does not exist", field="id")
        if version is not None and case.version != version:
            raise DomainError(
                "CONFLICT",
                f"case {case.number} changed since you read it (now version {case.version}, {case.status})",
                field="version",
            )
        await record(case, await step(case, move))
    return case


async def record(case: Case, event: CaseEvent) -> None:
    """Save a step's event and write it to the outbox (in the step's transaction): every way a
    case moves goes through here."""
    await event.save()
    await outbox.case_step(case, event)


async def step(case: Case, move: Move) -> CaseEvent:
    """Apply one move to a loaded case and write the case back with its statistics (inside the
    caller's transaction)."""
    item = await Item.get(id=case.item_id)
    if case.accepted_on is None:  # acceptance takes the handling district's promised limit
        await catalogue.localize(item, case.handling_organization_id)
    before = rollup.share(case)
    today = deadlines.local_date(move.when)
    # The case's organizations too: a refusal says who else can move the case when the actor cannot.
    powers = await powers_of((move.actor.organization_id, *workflow.involved(case)), item.id, today)
    events = await history(case.id)
    start = case.accepted_on or today
    workdays = await deadlines.calendar_for(min(start, today))
    old_version = case.version
    power = powers.get(move.actor.organization_id)
    event = workflow.apply(case, item, move, power, workdays, events, powers)
    if move.action in DUE_DATE_ACTIONS:
        case.calendar_revision_id = await latest_calendar_revision()
    case.version = old_version + 1
    values = {name: getattr(case, name) for name in STEP_COLUMNS}
    changed = await Case.filter(id=case.id, version=old_version).update(**values, version=case.version)
    if not changed:
        raise DomainError(
            "CONFLICT",
            f"case {case.number} was changed by someone else at the same moment; read it again",
            field="version",
        )
    await rollup.shift(before, rollup.share(case))
    return event


async def recompute_after_calendar_change(first_day: date, last_day: date, revision_id: int) -> int:
    """Recompute the stored due dates (and working days taken) of accepted cases whose span touches
    the changed days; returns how many changed. Each write is a compare-and-set on `version`, so a
    step that read the case before the correction gets CONFLICT instead of writing old dates back."""
    spans = (
        Q(legal_due_date__gte=first_day)
        | Q(promised_due_date__gte=first_day)
        | Q(completed_on__gte=first_day)
    )
    touched = Case.filter(accepted_on__isnull=False, accepted_on__lt=last_day).filter(
        spans | Q(status=CaseStatus.SUPPLEMENT_REQUESTED)
    )
    changed = 0
    for case_id in await touched.order_by("id").values_list("id", flat=True):
        changed += await _recompute(case_id, revision_id)
    return changed


async def _recompute(case_id: int, revision_id: int, attempts: int = 5) -> int:
    for _ in range(attempts):
        case = await Case.get(id=case_id)
        item = await Item.get(id=case.item_id)
        workdays = await deadlines.calendar_for(case.accepted_on)
        before = rollup.share(case)
        moved = workflow.recompute_due_dates(case, item, workdays, await history(case.id))
        async with in_transaction():  # the new dates and the statistics they move, together
            written = await Case.filter(id=case.id, version=case.version).update(
                legal_due_date=case.legal_due_date,
                promised_due_date=case.promised_due_date,
                due_dates_estimated=case.due_dates_estimated,
                working_days_taken=case.working_days_taken,
                paused_working_days=case.paused_working_days,
                calendar_revision_id=revision_id,
                version=case.version + 1,
            )
            if written:
                await rollup.shift(before, rollup.share(case))
                case.version += 1
                await outbox.due_dates_changed(case, datetime.now(UTC))
                return int(moved)
    raise DomainError("CONFLICT", f"case {case.number} kept changing; recompute the calendar again")
