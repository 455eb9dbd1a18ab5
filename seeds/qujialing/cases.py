"""A year of cases (May 2017 – April 2018) at the center, the halls and the rooms.

Every case moves through the workflow's state machine (api/services/workflow.py: the same checks,
due dates and events as a live case), in memory, and is then written in bulk. As the article
reports, every case is completed within its promised limit (办结率 and 限时办结率 100%); a few wait
for supplementary papers (补正), their clocks paused. These cases predate Sanji's query codes, so
they have none: the public lookup serves cases filed through the platform.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from api.auth.caller import Caller
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
from api.services import cases as case_service
from api.services import deadlines, ratings, workflow
from api.services.deadlines import DISTRICT_ZONE
from api.services.workflow import Move
from seeds.qujialing.names import NameMaker
from seeds.qujialing.organizations import CENTER_CODE

FIRST_DAY = date(2017, 5, 2)
LAST_DAY = date(2018, 4, 27)
REJECT_SHARE = 0.02
DENY_SHARE = 0.03
SUPPLEMENT_SHARE = 0.04
RATED_SHARE = 0.3
SCORES = (5, 4, 3, 2)
SCORE_WEIGHTS = (720, 236, 40, 4)
BAD_REASONS = ("窗口等候时间较长", "一次性告知不够清楚")
CENTER_AGENCY_SHARE = 0.15  # of room cases: licensing papers carried to the center


@dataclass
class Draft:
    """A case and its events before they get database ids."""

    case: Case
    item: Item
    events: list[CaseEvent] = field(default_factory=list)
    batch_key: tuple[str, int, date] | None = None
    rating: tuple[int, datetime] | None = None
    decided_by: int | None = None  # the staff member rated (好差评 rates the person too)


class CaseFactory:
    def __init__(self, staff, names: NameMaker, rng: random.Random, workdays, revisions, powers) -> None:
        self.staff, self.names, self.rng = staff, names, rng
        self.workdays, self.revisions, self.powers = workdays, revisions, powers
        self.sequence: dict[date, int] = defaultdict(int)
        self.batches: dict[tuple[str, int, date], tuple[Organization, int, Staff, datetime, datetime]] = {}

    def at(self, day: date, minute: int) -> datetime:
        """A moment of a working day, Beijing time, stored in UTC like every live timestamp."""
        return (
            datetime.combine(day, time(8, 30), tzinfo=DISTRICT_ZONE) + timedelta(minutes=minute)
        ).astimezone(UTC)

    def after(self, day: date, working_days: int) -> date:
        return deadlines.add_working_days(day, working_days, self.workdays)[0]

    def number(self, day: date) -> str:
        self.sequence[day] += 1
        return f"QJL{day:%Y%m%d}{self.sequence[day]:04d}"

    def revision_for(self, item: Item, day: date) -> int:
        return max((r for r in self.revisions[item.id] if r[0] <= day), default=self.revisions[item.id][0])[1]

    def step(self, draft: Draft, action: CaseAction, org: Organization, when: datetime, **extra) -> None:
        """One move through the state machine, exactly as a live case takes it."""
        people = self.staff.get(org.code) or [None]
        person = people[self.rng.randrange(len(people))]
        role = "AGENT" if org.tier == Tier.ROOM else "CLERK"
        move = Move(action, Caller(role, org.id, None, person.name if person else ""), when, **extra)
        power = self.powers.get((org.id, draft.item.id))
        draft.events.append(workflow.apply(draft.case, draft.item, move, power, self.workdays, draft.events))
        if action == CaseAction.DECIDE and person is not None:
            draft.decided_by = person.id

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
        self, item: Item, day: date, filed_at: Organization, handling_id: int, channel: Channel
    ) -> Draft:
        company = channel == Channel.PROACTIVE_AGENCY or (
            item.type == ItemType.LICENSING and self.rng.random() < 0.4
        )
        number = self.number(day)
        case = Case(
            number=number,
            item=item,
            guide_revision_id=self.revision_for(item, day),
            applicant_phone=self.names.phone(),
            channel=channel,
            submitted_at_organization_id=filed_at.id,
            handling_organization_id=handling_id,
            status=CaseStatus.SUBMITTED,
            **self.applicant(item, company),
        )
        draft = Draft(case, item)
        self.step(draft, CaseAction.SUBMIT, filed_at, self.at(day, self.rng.randint(0, 420)))
        return draft

    def maybe_pause(self, draft: Draft, org: Organization, when: datetime) -> datetime:
        """Sometimes papers are missing: the clock stops until the applicant brings them (补正)."""
        if draft.item.promised_limit_days == 0 or self.rng.random() >= SUPPLEMENT_SHARE:
            return when
        self.step(draft, CaseAction.REQUEST_SUPPLEMENT, org, when, comment="请补充提交申请材料复印件")
        resumed = self.at(self.after(deadlines.local_date(when), self.rng.randint(1, 4)), 60)
        self.step(draft, CaseAction.RESUME, org, resumed, comment="申请人已补齐材料")
        return resumed

    def decide_and_finish(self, draft: Draft, org: Organization, earliest: datetime) -> None:
        """Review, decide, complete and deliver within the promised limit."""
        case, item = draft.case, draft.item
        earliest = self.maybe_pause(draft, org, earliest)
        start = deadlines.local_date(earliest)
        promised = item.promised_limit_days
        done_on = self.after(start, self.rng.randint(0, promised)) if promised else start
        done_on = min(done_on, case.promised_due_date)
        review_at = max(self.at(done_on, 480), earliest + timedelta(minutes=10))
        self.step(draft, CaseAction.REVIEW, org, review_at)
        denied = self.rng.random() < DENY_SHARE
        decision = Decision.DENIED if denied else Decision.APPROVED
        comment = "不符合法定条件" if denied else ""
        self.step(
            draft,
            CaseAction.DECIDE,
            org,
            review_at + timedelta(minutes=20),
            decision=decision,
            comment=comment,
        )
        completed_at = review_at + timedelta(minutes=30)
        self.step(draft, CaseAction.COMPLETE, org, completed_at)
        if self.rng.random() < 0.95:
            self.step(draft, CaseAction.DELIVER, org, completed_at + timedelta(minutes=30))
        if self.rng.random() < RATED_SHARE:
            score = self.rng.choices(SCORES, SCORE_WEIGHTS)[0]
            draft.rating = (score, completed_at + timedelta(hours=2))

    def at_window(self, item: Item, day: date, org: Organization) -> Draft:
        """A case handled where it is submitted: the center's windows or a hall."""
        channel = Channel.COUNTER
        if item.online and self.rng.random() < 0.25:
            channel = Channel.ONLINE
        elif org.tier == Tier.CENTER and item.type == ItemType.LICENSING and self.rng.random() < 0.12:
            channel = Channel.PROACTIVE_AGENCY
        draft = self.draft(item, day, org, org.id, channel)
        when = draft.case.submitted_at + timedelta(minutes=15)
        if self.rng.random() < REJECT_SHARE:
            self.step(draft, CaseAction.REJECT, org, when, comment="材料不齐全且不属于本机关受理范围")
            return draft
        if channel == Channel.PROACTIVE_AGENCY:
            self.step(draft, CaseAction.PROXY_DECLARE, org, when, comment="工作人员代为网上申报并上传资料")
            when += timedelta(minutes=20)
        self.step(draft, CaseAction.ACCEPT, org, when)
        self.decide_and_finish(draft, org, when)
        return draft

    def carried(
        self, item: Item, power: Power, day: date, filed_at: Organization, handler: Organization
    ) -> Draft:
        """A case filed at a room: pre-reviewed there or only collected (代办), carried to its handler."""
        draft = self.draft(item, day, filed_at, handler.id, Channel.COUNTER)
        when = draft.case.submitted_at + timedelta(minutes=15)
        if power == Power.ACCEPT_AND_PRE_REVIEW:
            self.step(draft, CaseAction.ACCEPT, filed_at, when)
            comment = "已入户调查" if item.needs_home_visit else "已在村（社区）公示"
            self.step(draft, CaseAction.PRE_REVIEW, filed_at, when + timedelta(minutes=40), comment=comment)
        dispatch_on = self.after(day, 1)
        dispatched = self.at(dispatch_on, 30)
        received = dispatched + timedelta(minutes=90 if handler.tier == Tier.HALL else 150)
        key = (filed_at.code, handler.id, dispatch_on)
        carrier = (self.staff.get(filed_at.code) or [None])[-1]
        self.batches.setdefault(key, (filed_at, handler.id, carrier, dispatched, received))
        draft.batch_key = key
        self.step(draft, CaseAction.DISPATCH, filed_at, dispatched, comment="分类集中，专人代办", batch_id=0)
        self.step(draft, CaseAction.RECEIVE, handler, received, batch_id=0)
        if power != Power.ACCEPT_AND_PRE_REVIEW:
            self.step(draft, CaseAction.ACCEPT, handler, received + timedelta(minutes=10))
        self.decide_and_finish(draft, handler, received + timedelta(minutes=10))
        return draft


async def generate(
    orgs, items, staff, users, names: NameMaker, rng: random.Random, say: Callable[[str], object]
) -> None:
    workdays = await deadlines.workday_map(FIRST_DAY, LAST_DAY + timedelta(days=120))
    revisions: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for item_id, effective, rev_id in await GuideRevision.all().values_list(
        "item_id", "effective_from", "id"
    ):
        revisions[item_id].append((effective, rev_id))
    items_by_id = {item.id: item for item in items.values()}
    plan, powers = await _assignment_plan(items_by_id)
    factory = CaseFactory(staff, names, rng, workdays, revisions, powers)

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
                    or rng.random() >= 0.08
                ):
                    continue
                drafts.append(room_case(factory, plan, rng, day, room, hall_by_id[room.parent_id], center))
        day += timedelta(days=1)
    say(f"writing {len(drafts)} cases")
    await _write(drafts, factory, await case_service.latest_calendar_revision())


def room_case(factory: CaseFactory, plan, rng, day, room, hall, center) -> Draft:
    """What a villager brings to the room: mostly the hall's items, sometimes a licence for the center."""
    licences = [i for i in plan[room.id][Power.AGENCY_ONLY] if i.type == ItemType.LICENSING]
    if licences and rng.random() < CENTER_AGENCY_SHARE:
        return factory.carried(rng.choice(licences), Power.AGENCY_ONLY, day, room, center)
    power = Power.ACCEPT_AND_PRE_REVIEW if rng.random() < 0.4 else Power.AGENCY_ONLY
    choices = [i for i in plan[room.id][power] if i.type != ItemType.LICENSING]
    if not choices:
        power = Power.AGENCY_ONLY
        choices = [i for i in plan[room.id][power] if i.type != ItemType.LICENSING]
    return factory.carried(rng.choice(choices), power, day, room, hall)


async def _assignment_plan(items_by_id: dict[int, Item]) -> tuple[dict, dict[tuple[int, int], Power]]:
    plan: dict = defaultdict(lambda: defaultdict(list))
    plan["since"] = defaultdict(list)
    powers: dict[tuple[int, int], Power] = {}
    rows = await ItemAssignment.filter(active=True).values_list(
        "organization_id", "item_id", "power", "effective_from"
    )
    for org_id, item_id, power, since in sorted(rows):
        plan[org_id][Power(power)].append(items_by_id[item_id])
        plan["since"][org_id].append(since)
        powers[(org_id, item_id)] = Power(power)
    return plan, powers


async def _write(drafts: list[Draft], factory: CaseFactory, calendar_revision: int | None) -> None:
    batches = factory.batches
    for draft in drafts:
        draft.case.version = len(draft.events)
        if draft.case.accepted_on is not None:
            draft.case.calendar_revision_id = calendar_revision
    await Case.bulk_create([d.case for d in drafts], batch_size=500)
    ids = dict(await Case.filter(number__in=[d.case.number for d in drafts]).values_list("number", "id"))
    await AgencyBatch.bulk_create(
        [
            AgencyBatch(
                number=_batch_number(key),
                origin=room,
                destination_id=destination_id,
                carrier=carrier,
                dispatched_at=dispatched,
                received_at=received,
            )
            for key, (room, destination_id, carrier, dispatched, received) in batches.items()
        ],
        batch_size=500,
    )
    batch_ids = dict(await AgencyBatch.all().values_list("number", "id"))
    events = []
    for draft in drafts:
        case_id = ids[draft.case.number]
        for event in draft.events:
            event.case_id = case_id
            if event.batch_id is not None:
                event.batch_id = batch_ids[_batch_number(draft.batch_key)]
            events.append(event)
    await CaseEvent.bulk_create(events, batch_size=1000)
    await AgencyBatchCase.bulk_create(
        [
            AgencyBatchCase(batch_id=batch_ids[_batch_number(d.batch_key)], case_id=ids[d.case.number])
            for d in drafts
            if d.batch_key
        ],
        batch_size=1000,
    )
    await Evaluation.bulk_create(_evaluations(drafts, ids, factory.workdays), batch_size=1000)


def _batch_number(key: tuple[str, int, date]) -> str:
    code, destination_id, day = key
    return f"DB-{code}-{day:%Y%m%d}-{destination_id:02d}"


def _evaluations(drafts: list[Draft], ids: dict[str, int], workdays) -> list[Evaluation]:
    """Ratings given as the rating rule takes them; the few bad ones rectified within their limit."""
    out = []
    for draft in drafts:
        if draft.rating is None:
            continue
        score, rated_at = draft.rating
        draft.case.id = ids[draft.case.number]
        reason = BAD_REASONS[draft.case.id % len(BAD_REASONS)] if score <= 2 else ""
        rating = ratings.evaluation(
            draft.case, ratings.Level(score), reason, rated_at, workdays, draft.decided_by
        )
        if rating.rectification_due_date is not None:
            rating.rectified_at = rated_at + timedelta(days=3)
            rating.rectification_response = "已约谈窗口负责人，优化一次性告知单"
            rating.follow_up = "已电话回访申请人，申请人表示认可"
        out.append(rating)
    return out
