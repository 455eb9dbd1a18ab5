"""A year of cases (May 2017 – April 2018) at the center, the halls and the rooms.

Every case is completed within its promised limit, as the article reports (办结率 and 限时办结率
100%); due dates are computed on the working-day calendar and stored, never typed in.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.models.case import (
    AgencyBatch,
    AgencyBatchCase,
    ApplicantType,
    Case,
    CaseAction,
    CaseEvent,
    CaseStatus,
    Channel,
    Decision,
    Evaluation,
)
from api.models.item import GuideRevision, Item, ItemAssignment, ItemType, Power
from api.models.org import Organization, Tier
from api.models.staff import Staff
from api.services.calendar import add_working_days, workday_map
from seeds.qujialing.names import NameMaker
from seeds.qujialing.organizations import CENTER_CODE

TZ = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2017, 5, 2)
LAST_DAY = date(2018, 4, 27)
REJECT_SHARE = 0.02
DENY_SHARE = 0.03
RATED_SHARE = 0.3
SCORES = (5, 4, 3)
SCORE_WEIGHTS = (72, 24, 4)


@dataclass
class Draft:
    """A case and its events before they get database ids."""

    case: Case
    events: list[CaseEvent] = field(default_factory=list)
    batch_key: tuple[str, date] | None = None
    rating: tuple[int, datetime] | None = None


class CaseFactory:
    def __init__(self, orgs, items, staff, names: NameMaker, rng: random.Random, workdays, revisions) -> None:
        self.orgs, self.items, self.staff = orgs, items, staff
        self.names, self.rng, self.workdays = names, rng, workdays
        self.revisions = revisions
        self.sequence: dict[date, int] = defaultdict(int)
        self.batches: dict[
            tuple[str, date], tuple[Organization, Organization, Staff, datetime, datetime]
        ] = {}

    def at(self, day: date, minute: int) -> datetime:
        return datetime.combine(day, time(8, 30), tzinfo=TZ) + timedelta(minutes=minute)

    def after(self, day: date, working_days: int) -> date:
        return add_working_days(day, working_days, self.workdays)[0]

    def number(self, day: date) -> str:
        self.sequence[day] += 1
        return f"QJL{day:%Y%m%d}{self.sequence[day]:04d}"

    def revision_for(self, item: Item, day: date) -> int:
        return max((r for r in self.revisions[item.id] if r[0] <= day), default=self.revisions[item.id][0])[1]

    def applicant(self, item: Item, company: bool) -> dict:
        if company:
            return {
                "applicant_type": ApplicantType.COMPANY,
                "applicant_name": self.names.company(),
                "applicant_id_number": self.names.credit_code(),
            }
        return {
            "applicant_type": ApplicantType.PERSON,
            "applicant_name": self.names.any_person(),
            "applicant_id_number": self.names.id_number(1940, 2000),
        }

    def draft(
        self, item: Item, day: date, submitted_at: Organization, handling: Organization, channel: Channel
    ) -> Draft:
        company = channel == Channel.PROACTIVE_AGENCY or (
            item.type == ItemType.LICENSING and self.rng.random() < 0.4
        )
        case = Case(
            number=self.number(day),
            item=item,
            guide_revision_id=self.revision_for(item, day),
            applicant_phone=self.names.phone(),
            channel=channel,
            submitted_at=self.at(day, self.rng.randint(0, 420)),
            submitted_at_organization=submitted_at,
            handling_organization=handling,
            status=CaseStatus.SUBMITTED,
            **self.applicant(item, company),
        )
        draft = Draft(case)
        self.event(draft, CaseAction.SUBMIT, CaseStatus.SUBMITTED, submitted_at, case.submitted_at)
        return draft

    def event(
        self,
        draft: Draft,
        action: CaseAction,
        to: CaseStatus,
        org: Organization,
        when: datetime,
        comment: str = "",
    ) -> None:
        people = self.staff.get(org.code) or [None]
        person = people[self.rng.randrange(len(people))]
        draft.events.append(
            CaseEvent(
                action=action,
                from_status=draft.case.status if action != CaseAction.SUBMIT else None,
                to_status=to,
                actor_name=person.name if person else "",
                organization=org,
                occurred_at=when,
                comment=comment,
            )
        )
        draft.case.status = to

    def accept(self, draft: Draft, org: Organization, when: datetime) -> date:
        case, item = draft.case, draft.case.item
        self.event(draft, CaseAction.ACCEPT, CaseStatus.ACCEPTED, org, when)
        case.accepted_at = when
        day = when.date()
        case.promised_due_date = self.after(day, item.promised_limit_days)
        case.legal_due_date = self.after(day, item.legal_limit_days)
        return day

    def decide_and_finish(self, draft: Draft, org: Organization, accepted_on: date, earliest: date) -> None:
        """Review, decide, complete and deliver within the promised limit."""
        case, item = draft.case, draft.case.item
        promised = item.promised_limit_days
        done_on = self.after(accepted_on, self.rng.randint(0, promised)) if promised else accepted_on
        done_on = max(done_on, earliest)
        if done_on > case.promised_due_date:
            done_on = case.promised_due_date
        review_at = (
            self.at(done_on, 480) if done_on > accepted_on else case.accepted_at + timedelta(minutes=10)
        )
        decided_at = review_at + timedelta(minutes=20)
        self.event(draft, CaseAction.REVIEW, CaseStatus.REVIEWED, org, review_at)
        case.decision = Decision.DENIED if self.rng.random() < DENY_SHARE else Decision.APPROVED
        self.event(draft, CaseAction.DECIDE, CaseStatus.DECIDED, org, decided_at, case.decision.value)
        case.completed_at = decided_at + timedelta(minutes=10)
        self.event(draft, CaseAction.COMPLETE, CaseStatus.COMPLETED, org, case.completed_at)
        if self.rng.random() < 0.95:
            case.delivered_at = case.completed_at + timedelta(minutes=30)
            self.event(draft, CaseAction.DELIVER, CaseStatus.DELIVERED, org, case.delivered_at)
        if self.rng.random() < RATED_SHARE:
            score = self.rng.choices(SCORES, SCORE_WEIGHTS)[0]
            draft.rating = (score, case.completed_at + timedelta(hours=2))

    def at_window(self, item: Item, day: date, org: Organization) -> Draft:
        """A case handled where it is submitted: the center's windows or a hall."""
        channel = Channel.COUNTER
        if item.online and self.rng.random() < 0.25:
            channel = Channel.ONLINE
        elif org.tier == Tier.CENTER and item.type == ItemType.LICENSING and self.rng.random() < 0.12:
            channel = Channel.PROACTIVE_AGENCY
        draft = self.draft(item, day, org, org, channel)
        when = draft.case.submitted_at + timedelta(minutes=15)
        if self.rng.random() < REJECT_SHARE:
            self.event(
                draft, CaseAction.REJECT, CaseStatus.REJECTED, org, when, "材料不齐全且不属于本机关受理范围"
            )
            return draft
        if channel == Channel.PROACTIVE_AGENCY:
            self.event(
                draft,
                CaseAction.PROXY_DECLARE,
                CaseStatus.SUBMITTED,
                org,
                when,
                "工作人员代为网上申报并上传资料",
            )
            draft.case.trips_saved = max(1, item.visits_required)
            when += timedelta(minutes=20)
        accepted_on = self.accept(draft, org, when)
        self.decide_and_finish(draft, org, accepted_on, accepted_on)
        return draft

    def from_room(self, item: Item, power: Power, day: date, room: Organization, hall: Organization) -> Draft:
        """A room case: pre-reviewed at the room, or only collected (代办); both carried to the hall."""
        channel = Channel.COUNTER if power == Power.ACCEPT_AND_PRE_REVIEW else Channel.AGENCY
        draft = self.draft(item, day, room, hall, channel)
        case = draft.case
        case.trips_saved = max(1, item.visits_required)
        when = case.submitted_at + timedelta(minutes=15)
        if power == Power.ACCEPT_AND_PRE_REVIEW:
            accepted_on = self.accept(draft, room, when)
            comment = "已入户调查" if item.needs_home_visit else "已在村（社区）公示"
            self.event(
                draft,
                CaseAction.PRE_REVIEW,
                CaseStatus.PRE_REVIEWED,
                room,
                when + timedelta(minutes=40),
                comment,
            )
        dispatch_on = self.after(day, 1)
        dispatched = self.at(dispatch_on, 30)
        received = dispatched + timedelta(minutes=90)
        key = (room.code, dispatch_on)
        carrier = (self.staff.get(room.code) or [None])[-1]
        self.batches.setdefault(key, (room, hall, carrier, dispatched, received))
        draft.batch_key = key
        self.event(draft, CaseAction.DISPATCH, case.status, room, dispatched, "分类集中，专人代办")
        self.event(draft, CaseAction.RECEIVE, case.status, hall, received)
        if power != Power.ACCEPT_AND_PRE_REVIEW:
            accepted_on = self.accept(draft, hall, received + timedelta(minutes=10))
        self.decide_and_finish(draft, hall, accepted_on, dispatch_on)
        return draft


async def generate(
    orgs, items, staff, users, names: NameMaker, rng: random.Random, say: Callable[[str], object]
) -> None:
    workdays = await workday_map(FIRST_DAY, LAST_DAY + timedelta(days=90))
    revisions: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for item_id, effective, rev_id in await GuideRevision.all().values_list(
        "item_id", "effective_from", "id"
    ):
        revisions[item_id].append((effective, rev_id))
    factory = CaseFactory(orgs, items, staff, names, rng, workdays, revisions)
    items_by_id = {item.id: item for item in items.values()}
    plan = await _assignment_plan(items_by_id)

    drafts: list[Draft] = []
    center = orgs[CENTER_CODE]
    halls = [o for o in orgs.values() if o.tier == Tier.HALL]
    rooms = [o for o in orgs.values() if o.tier == Tier.ROOM]
    hall_by_id = {h.id: h for h in halls}
    day = FIRST_DAY
    while day <= LAST_DAY:
        if workdays.get(day, day.weekday() < 5):
            for _ in range(rng.randint(4, 9)):
                drafts.append(factory.at_window(rng.choice(plan[center.id][Power.FULL]), day, center))
            for hall in halls:
                if plan[hall.id][Power.FULL] and day >= min(a for a in plan["since"][hall.id]):
                    for _ in range(rng.randint(1, 4)):
                        drafts.append(factory.at_window(rng.choice(plan[hall.id][Power.FULL]), day, hall))
            for room in rooms:
                if (
                    room.built_on is None
                    or room.built_on > day
                    or day < min(plan["since"].get(room.id, [LAST_DAY]))
                ):
                    continue
                if rng.random() < 0.08:
                    power = Power.ACCEPT_AND_PRE_REVIEW if rng.random() < 0.4 else Power.AGENCY_ONLY
                    if plan[room.id][power]:
                        item = rng.choice(plan[room.id][power])
                        drafts.append(factory.from_room(item, power, day, room, hall_by_id[room.parent_id]))
        day += timedelta(days=1)
    say(f"writing {len(drafts)} cases")
    await _write(drafts, factory.batches)


async def _assignment_plan(items_by_id: dict[int, Item]) -> dict:
    plan: dict = defaultdict(lambda: defaultdict(list))
    plan["since"] = defaultdict(list)
    rows = await ItemAssignment.filter(active=True).values_list(
        "organization_id", "item_id", "power", "effective_from"
    )
    for org_id, item_id, power, since in sorted(rows):
        plan[org_id][Power(power)].append(items_by_id[item_id])
        plan["since"][org_id].append(since)
    return plan


async def _write(drafts: list[Draft], batches: dict) -> None:
    await Case.bulk_create([d.case for d in drafts], batch_size=500)
    ids = dict(await Case.filter(number__in=[d.case.number for d in drafts]).values_list("number", "id"))
    events = []
    for draft in drafts:
        case_id = ids[draft.case.number]
        for event in draft.events:
            event.case_id = case_id
            events.append(event)
    await CaseEvent.bulk_create(events, batch_size=1000)
    await AgencyBatch.bulk_create(
        [
            AgencyBatch(
                number=f"DB-{room.code}-{day:%Y%m%d}",
                origin=room,
                destination=hall,
                carrier=carrier,
                dispatched_at=dispatched,
                received_at=received,
            )
            for (_code, day), (room, hall, carrier, dispatched, received) in batches.items()
        ],
        batch_size=500,
    )
    batch_ids = dict(await AgencyBatch.all().values_list("number", "id"))
    await AgencyBatchCase.bulk_create(
        [
            AgencyBatchCase(
                batch_id=batch_ids[f"DB-{d.batch_key[0]}-{d.batch_key[1]:%Y%m%d}"], case_id=ids[d.case.number]
            )
            for d in drafts
            if d.batch_key
        ],
        batch_size=1000,
    )
    await Evaluation.bulk_create(
        [
            Evaluation(case_id=ids[d.case.number], score=score, rated_at=rated_at, reason="")
            for d in drafts
            if d.rating
            for score, rated_at in [d.rating]
        ],
        batch_size=1000,
    )
