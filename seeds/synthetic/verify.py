"""Replays stored cases through the workflow itself and names every difference from what is stored.

Each case is filed afresh and its stored events are taken again, in order, by `workflow.apply`
(the state machine, its checks and its effects), as the stored actor with its organization's
power for the item that day; the result must be the stored case, column for column, and its events'
states. A rating must be what `ratings.evaluation` gives. The synthetic loader replays a sample of
what it wrote before committing; the tests replay every case.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.case import Case, CaseAction, CaseEvent, CaseStatus, Channel, Evaluation
from api.models.item import Item, ItemAssignment, Power
from api.models.user import User
from api.services import deadlines, ratings, workflow
from api.services.cases import DUE_DATE_ACTIONS, STEP_COLUMNS, latest_calendar_revision
from api.services.workflow import Move

COMPARED = (*STEP_COLUMNS, "submitted_at", "version")


async def replay(case_ids: list[int]) -> list[str]:
    """What differs, one line per difference (empty: every case is what the workflow makes)."""
    cases = await Case.filter(id__in=case_ids).order_by("id")
    if not cases:
        return []
    history: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in await CaseEvent.filter(case_id__in=case_ids).order_by("occurred_at", "id"):
        history[event.case_id].append(event)
    items = {item.id: item for item in await Item.filter(id__in={c.item_id for c in cases})}
    actors = {
        pk: (role, staff)
        for pk, role, staff in await User.filter(
            id__in={e.actor_id for events in history.values() for e in events}
        ).values_list("id", "role", "staff_id")
    }
    powers = await _powers({e.organization_id for events in history.values() for e in events}, set(items))
    first, last = (deadlines.local_date(f(c.submitted_at for c in cases)) for f in (min, max))
    workdays = await deadlines.workday_map(first, last + deadlines.CALENDAR_MARGIN)
    world = _World(items, actors, powers, workdays, await latest_calendar_revision())
    rated = {r.case_id: r for r in await Evaluation.filter(case_id__in=case_ids)}
    problems: list[str] = []
    for case in cases:
        problems += world.replay(case, history[case.id], rated.get(case.id))
    return problems


async def _powers(
    organizations: set[int], items: set[int]
) -> dict[tuple[int, int], list[tuple[date, Power]]]:
    found: dict[tuple[int, int], list[tuple[date, Power]]] = defaultdict(list)
    rows = await ItemAssignment.filter(organization_id__in=organizations, item_id__in=items, active=True)
    for row in rows:
        found[(row.organization_id, row.item_id)].append((row.effective_from, Power(row.power)))
    return found


class _World:
    def __init__(self, items, actors, powers, workdays, revision) -> None:
        self.items, self.actors, self.powers = items, actors, powers
        self.workdays, self.revision = workdays, revision

    def power(self, organization: int, item: int, on: date) -> Power | None:
        """As api.services.cases.powers_of: the assignment in force that day."""
        return next((p for since, p in self.powers.get((organization, item), []) if since <= on), None)

    def replay(self, stored: Case, events: list[CaseEvent], rating: Evaluation | None) -> list[str]:
        item = self.items[stored.item_id]
        case = Case(
            number=stored.number,
            item_id=stored.item_id,
            guide_revision_id=stored.guide_revision_id,
            applicant_type=stored.applicant_type,
            applicant_name=stored.applicant_name,
            applicant_id_number=stored.applicant_id_number,
            applicant_phone=stored.applicant_phone,
            # The workflow turns COUNTER into AGENCY when the papers travel.
            channel=Channel.COUNTER if stored.channel == Channel.AGENCY else stored.channel,
            submitted_at_organization_id=stored.submitted_at_organization_id,
            handling_organization_id=stored.handling_organization_id,
            status=CaseStatus.SUBMITTED,
        )
        taken: list[CaseEvent] = []
        problems = []
        for event in events:
            role, _staff = self.actors.get(event.actor_id, ("", None))
            actor = Caller(role, event.organization_id, event.actor_id, event.actor_name)
            decision = stored.decision if event.action == CaseAction.DECIDE else None
            move = Move(event.action, actor, event.occurred_at, event.comment, decision, event.batch_id)
            on = deadlines.local_date(event.occurred_at)
            try:
                step = workflow.apply(
                    case, item, move, self.power(event.organization_id, item.id, on), self.workdays, taken
                )
            except DomainError as error:
                return [f"{stored.number}: {event.action} refused: {error.message}"]
            if event.action in DUE_DATE_ACTIONS:
                case.calendar_revision_id = self.revision
            if (step.from_status, step.to_status) != (event.from_status, event.to_status):
                problems.append(
                    f"{stored.number}: {event.action} goes {step.from_status} → {step.to_status}, "
                    f"stored {event.from_status} → {event.to_status}"
                )
            taken.append(step)
        case.version = len(taken)
        for column in COMPARED:
            if getattr(case, column) != getattr(stored, column):
                problems.append(
                    f"{stored.number}: {column} is {getattr(stored, column)!r}, "
                    f"the workflow gives {getattr(case, column)!r}"
                )
        if rating is not None:
            problems += self.check_rating(stored, taken, rating)
        return problems

    def check_rating(self, stored: Case, taken: list[CaseEvent], rating: Evaluation) -> list[str]:
        decider = next((e.actor_id for e in reversed(taken) if e.action == CaseAction.DECIDE), None)
        staff = self.actors.get(decider, ("", None))[1]
        try:
            expected = ratings.evaluation(
                stored, ratings.Level(rating.score), rating.reason, rating.rated_at, self.workdays, staff
            )
        except DomainError as error:
            return [f"{stored.number}: its rating is refused: {error.message}"]
        got = (rating.staff_id, rating.rectification_due_date)
        if got != (expected.staff_id, expected.rectification_due_date):
            return [f"{stored.number}: rating (staff, rectification due) {got}, expected "
                    f"{(expected.staff_id, expected.rectification_due_date)}"]  # fmt: skip
        return []
