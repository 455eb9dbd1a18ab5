"""Agency (代办): papers collected at a room or hall (受理接件) are grouped by destination (分类集中)
and carried there by a named staff member (专人代办); each handoff is a step of every case carried."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.case import AgencyBatch, AgencyBatchCase, Case, CaseAction
from api.models.org import Organization
from api.models.staff import Staff
from api.services import cases as case_service
from api.services import workflow
from api.services.deadlines import local_date
from api.services.workflow import Move


async def waiting(organization_id: int) -> list[int]:
    """Cases whose papers the organization holds for a handler elsewhere, in no batch yet."""
    dispatch = workflow.BY_ACTION[CaseAction.DISPATCH]
    batched = AgencyBatchCase.filter(batch__dispatched_at__isnull=True).values("case_id")
    rows = (
        Case.filter(held_by_id=organization_id, status__in=[s.value for s in dispatch.sources])
        .exclude(handling_organization_id=organization_id)
        .exclude(id__in=Subquery(batched))
    )
    return list(await rows.order_by("id").values_list("id", flat=True))


async def group(case_ids: list[int] | None, actor: Caller, when: datetime) -> list[AgencyBatch]:
    """Put cases whose papers the actor's organization holds into one new batch per destination
    (all that are waiting when `case_ids` is None)."""
    if case_ids is None:
        case_ids = await waiting(actor.organization_id)
    if not case_ids:
        raise DomainError(
            "VALIDATION_FAILED", "no case to batch: name the cases, or none is waiting", field="cases"
        )
    async with in_transaction():
        found = {case.id: case for case in await Case.filter(id__in=sorted(set(case_ids)))}
        missing = sorted(set(case_ids) - set(found))
        if missing:
            raise DomainError("NOT_FOUND", f"cases {missing} do not exist", field="cases")
        pending = set(
            await AgencyBatchCase.filter(
                case_id__in=list(found), batch__dispatched_at__isnull=True
            ).values_list("case_id", flat=True)
        )
        by_destination: dict[int, list[Case]] = defaultdict(list)
        dispatch = workflow.BY_ACTION[CaseAction.DISPATCH]
        for case in found.values():
            if case.id in pending:
                raise DomainError("CONFLICT", f"case {case.number} already waits in a batch", field="cases")
            if case.status not in dispatch.sources or not workflow.at_place(
                dispatch.place, case, actor.organization_id
            ):
                raise DomainError(
                    "INVALID_TRANSITION",
                    f"case {case.number} ({case.status}) is not waiting here to be carried to its handler",
                    field="cases",
                )
            by_destination[case.handling_organization_id].append(case)
        origin = await Organization.get(id=actor.organization_id)
        batches = []
        for destination_id, batch_cases in sorted(by_destination.items()):
            try:
                batch = await AgencyBatch.create(
                    number=await _batch_number(origin.code, when),
                    origin_id=origin.id,
                    destination_id=destination_id,
                )
            except IntegrityError:  # another batch took the number at the same moment
                raise DomainError(
                    "CONFLICT", "another batch was made here at the same moment; try again", field="cases"
                ) from None
            await AgencyBatchCase.bulk_create([AgencyBatchCase(batch=batch, case=c) for c in batch_cases])
            batches.append(batch)
        return batches


async def _batch_number(origin_code: str, when: datetime) -> str:
    stem = f"DB-{origin_code}-{local_date(when):%Y%m%d}"
    taken = await AgencyBatch.filter(number__startswith=stem).count()
    return f"{stem}-{taken + 1:02d}"


async def dispatch(batch_id: int, carrier_id: int, actor: Caller, when: datetime) -> AgencyBatch:
    """The carrier sets off: every case in the batch leaves the origin (DISPATCH)."""
    async with in_transaction():
        batch = await _batch(batch_id)
        if batch.origin_id != actor.organization_id:
            raise DomainError("FORBIDDEN", "only the batch's origin dispatches it", field="batch")
        if batch.dispatched_at is not None:
            raise DomainError(
                "INVALID_TRANSITION", f"batch {batch.number} is already dispatched", field="batch"
            )
        carrier = await Staff.get_or_none(id=carrier_id)
        if carrier is None or carrier.organization_id != batch.origin_id or not carrier.active:
            raise DomainError(
                "VALIDATION_FAILED",
                "the carrier must be an active staff member of the origin",
                field="carrier",
            )
        changed = await AgencyBatch.filter(id=batch.id, dispatched_at__isnull=True).update(
            dispatched_at=when, carrier_id=carrier.id
        )
        if not changed:
            raise DomainError(
                "CONFLICT", f"batch {batch.number} was dispatched at the same moment", field="batch"
            )
        await _drop_unmovable(batch)
        await _move_all(
            batch, Move(CaseAction.DISPATCH, actor, when, f"专人代办：{carrier.name}", batch_id=batch.id)
        )
        await batch.refresh_from_db()
        return batch


async def receive(batch_id: int, actor: Caller, when: datetime) -> AgencyBatch:
    """The destination takes the papers in (RECEIVE); the cases are then held there."""
    async with in_transaction():
        batch = await _batch(batch_id)
        if batch.destination_id != actor.organization_id:
            raise DomainError("FORBIDDEN", "only the batch's destination receives it", field="batch")
        if batch.dispatched_at is None or batch.received_at is not None:
            state = "not dispatched yet" if batch.dispatched_at is None else "already received"
            raise DomainError("INVALID_TRANSITION", f"batch {batch.number} is {state}", field="batch")
        if when < batch.dispatched_at:
            raise DomainError("VALIDATION_FAILED", "a batch cannot arrive before it left", field="when")
        changed = await AgencyBatch.filter(id=batch.id, received_at__isnull=True).update(received_at=when)
        if not changed:
            raise DomainError(
                "CONFLICT", f"batch {batch.number} was received at the same moment", field="batch"
            )
        await _move_all(batch, Move(CaseAction.RECEIVE, actor, when, batch_id=batch.id))
        await batch.refresh_from_db()
        return batch


async def unbatch(batch_id: int, case_ids: list[int], actor: Caller) -> tuple[AgencyBatch, bool, list[str]]:
    """Take cases out of a batch that has not set off (they wait to be batched again); a batch left
    with no case is deleted. Returns the batch, whether it was deleted, and the numbers taken out."""
    if not case_ids:
        raise DomainError("VALIDATION_FAILED", "name the cases to take out of the batch", field="cases")
    async with in_transaction():
        batch = await _batch(batch_id)
        if batch.origin_id != actor.organization_id:
            raise DomainError("FORBIDDEN", "only the batch's origin changes it", field="batch")
        # Lock the batch while it is still at home: a dispatch at the same moment waits for this
        # change or, if it came first, leaves nothing to change (PostgreSQL; SQLite has one writer).
        home = await AgencyBatch.filter(id=batch.id, dispatched_at__isnull=True).select_for_update().first()
        if home is None:
            raise DomainError(
                "INVALID_TRANSITION",
                f"batch {batch.number} has set off: its cases travel with it",
                field="batch",
            )
        inside = dict(await AgencyBatchCase.filter(batch_id=batch.id).values_list("case_id", "case__number"))
        strangers = sorted(set(case_ids) - set(inside))
        if strangers:
            raise DomainError(
                "VALIDATION_FAILED", f"cases {strangers} are not in batch {batch.number}", field="cases"
            )
        await AgencyBatchCase.filter(batch_id=batch.id, case_id__in=sorted(set(case_ids))).delete()
        emptied = not await AgencyBatchCase.exists(batch_id=batch.id)
        if emptied:
            await AgencyBatch.filter(id=batch.id).delete()
        return batch, emptied, sorted(inside[i] for i in set(case_ids))


async def _drop_unmovable(batch: AgencyBatch) -> None:
    """Cases that cannot travel any more (withdrawn, rejected, waiting for papers) stay behind and
    leave the batch; a batch with nothing left does not set off."""
    dispatch = workflow.BY_ACTION[CaseAction.DISPATCH]
    in_batch = AgencyBatchCase.filter(batch_id=batch.id).values("case_id")
    movable = Q(status__in=[s.value for s in dispatch.sources], held_by_id=batch.origin_id)
    stuck = await Case.filter(id__in=Subquery(in_batch)).exclude(movable).values_list("id", flat=True)
    if stuck:
        await AgencyBatchCase.filter(batch_id=batch.id, case_id__in=list(stuck)).delete()
    if not await AgencyBatchCase.exists(batch_id=batch.id):
        raise DomainError(
            "INVALID_TRANSITION", f"batch {batch.number} has no case left that can travel", field="batch"
        )


async def _batch(batch_id: int) -> AgencyBatch:
    batch = await AgencyBatch.get_or_none(id=batch_id)
    if batch is None:
        raise DomainError("NOT_FOUND", "the batch does not exist", field="batch")
    return batch


async def _move_all(batch: AgencyBatch, move: Move) -> None:
    case_ids = await AgencyBatchCase.filter(batch_id=batch.id).values_list("case_id", flat=True)
    steps = []
    for case in await Case.filter(id__in=list(case_ids)).order_by("id"):
        steps.append((case, await case_service.step(case, move)))
    for case, event in steps:
        await case_service.record(case, event)
