"""One district's cases as rows: every case takes the workflow's steps on the fixture's schedule.

The schedule is the fixture's (seeds/qujialing/cases.py: cases at the center's windows and the
halls, papers carried up from rooms in agency batches, pauses for supplements, decisions, ratings),
with a few open, late and withdrawn cases, cut at the data set's last day: a step after it has not
happened yet. Each step goes through seeds/synthetic/steps.py, the workflow's steps on plain slots.

Runs in worker processes: plain data in, rows (or PostgreSQL COPY text) out.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from api.models.case import CaseAction, Channel, Decision
from api.models.item import Power
from seeds.qujialing.cases import (
    BAD_REASONS,
    CENTER_AGENCY_SHARE,
    DENY_SHARE,
    RATED_SHARE,
    REJECT_SHARE,
    SCORE_WEIGHTS,
    SCORES,
    SUPPLEMENT_SHARE,
)
from seeds.synthetic.applicants import Applicants
from seeds.synthetic.catalogue import Facts, Plan, assignments
from seeds.synthetic.steps import END, Draft, take
from seeds.synthetic.tables import copy_text
from seeds.synthetic.timeline import DAY, END_DAY, FIRST_DAY, OPENS, Clock
from seeds.synthetic.tree import District, Place

A = CaseAction
CENTER_SHARE = 0.35  # of a district's cases; halls take HALL_SHARE, rooms the rest
HALL_SHARE = 0.45
HALL_AGENCY_SHARE = 0.08  # of hall cases: a licence carried to the center
LATE_SHARE = 0.03  # completed after the promised due date (限时办结率 below 100%)
WITHDRAW_SHARE = 0.2  # of paused cases: the applicant withdraws instead of bringing the papers
PAUSE_AFTER = 5  # minutes between a step and the supplement request that follows it
COUNTER = Channel.COUNTER.value


@dataclass(frozen=True)
class Shared:
    """What every district's generation reads; sent once to each worker process."""

    items: tuple[Facts, ...]
    plan: Plan
    clock: Clock
    calendar_revision_id: int | None
    seed: int
    copy: bool  # return PostgreSQL COPY text instead of row tuples


@dataclass
class Output:
    index: int
    cases: int
    tables: dict[str, list[tuple] | bytes]
    counts: dict[str, int]


_shared: Shared | None = None  # one per worker process, set by start_worker


def start_worker(shared: Shared) -> None:
    """The worker pool's initializer (and the loader's, when it generates in its own process)."""
    global _shared
    _shared = shared


def generate(district: District) -> Output:
    """The district's assignments, cases, events, batches, ratings and case-number counters."""
    assert _shared is not None, "start_worker() first"
    cases = DistrictCases(district, _shared)
    cases.run()
    tables = {
        "item_assignment": assignments(district, _shared.plan, _shared.clock),
        "service_case": cases.case_rows,
        "agency_batch": cases.batch_rows(),
        "case_event": cases.event_rows,
        "agency_batch_case": cases.batch_case_rows,
        "evaluation": cases.rating_rows,
        "case_number_counter": cases.counter_rows(),
    }
    counts = {table: len(rows) for table, rows in tables.items()}
    if _shared.copy:
        tables = {table: copy_text(rows) for table, rows in tables.items()}
    return Output(district.index, district.cases, tables, counts)


class DistrictCases:
    """One district's cases, generated in order from the district's own random stream."""

    def __init__(self, district: District, shared: Shared) -> None:
        self.d, self.shared, self.clock, self.plan = district, shared, shared.clock, shared.plan
        self.rng = random.Random(f"sanji-synthetic:{shared.seed}:district:{district.index}")
        self.people = {p.id: p.people for p in (district.center, *district.halls, *district.rooms)}
        self.halls = {h.id: h for h in district.halls}
        self.next_id = district.case_base
        self.sequence: dict[int, int] = defaultdict(int)
        self.batches: dict[tuple[int, int, int], list] = {}
        self.case_rows: list[tuple] = []
        self.event_rows: list[tuple] = []
        self.batch_case_rows: list[tuple] = []
        self.rating_rows: list[tuple] = []
        self.applicants = Applicants(self.rng, district.index, district.name)

    def run(self) -> None:
        """Cases on working days of the span, ids and numbers in the order of their days."""
        working = [day.toordinal() for day in self.clock.working_days(FIRST_DAY, END_DAY)]
        days = sorted(self.rng.choices(working, k=self.d.cases))
        rooms = sorted((r for r in self.d.rooms if r.since is not None), key=lambda r: (r.since, r.id))
        opened: list[Place] = []
        for day in days:
            while len(opened) < len(rooms) and rooms[len(opened)].since.toordinal() <= day:
                opened.append(rooms[len(opened)])
            self.one_case(day, opened)

    def one_case(self, day: int, opened: list[Place]) -> None:
        rng, plan, center = self.rng, self.plan, self.d.center
        where = rng.random()
        if where < CENTER_SHARE:
            self.window(rng.choice(plan.center), day, center)
        elif where < CENTER_SHARE + HALL_SHARE or not opened:
            hall = rng.choice(self.d.halls)
            if rng.random() < HALL_AGENCY_SHARE:
                self.carried(rng.choice(plan.hall_licences), Power.AGENCY_ONLY, day, hall, center)
            else:
                self.window(rng.choice(plan.hall), day, hall)
        else:
            room = rng.choice(opened)
            if rng.random() < CENTER_AGENCY_SHARE:
                self.carried(rng.choice(plan.room_licences), Power.AGENCY_ONLY, day, room, center)
            elif rng.random() < 0.4:
                item = rng.choice(plan.room_pre_review)
                self.carried(item, Power.ACCEPT_AND_PRE_REVIEW, day, room, self.halls[room.hall_id])
            else:
                self.carried(
                    rng.choice(plan.room_agency), Power.AGENCY_ONLY, day, room, self.halls[room.hall_id]
                )

    # The fixture's schedule (seeds/qujialing/cases.py CaseFactory), step for step.

    def window(self, item: Facts, day: int, org: Place) -> None:
        """A case handled where it is filed: the center's windows or a hall."""
        rng, channel = self.rng, COUNTER
        if item.online and rng.random() < 0.25:
            channel = Channel.ONLINE.value
        elif org is self.d.center and item.licensing and rng.random() < 0.12:
            channel = Channel.PROACTIVE_AGENCY.value
        case = self.draft(item, day, org.id, org.id, channel)
        when = case.submitted_at + 15
        if rng.random() < REJECT_SHARE:
            self.step(case, A.REJECT, org.id, when, "材料不齐全且不属于本机关受理范围")
        else:
            if channel == Channel.PROACTIVE_AGENCY:
                self.step(case, A.PROXY_DECLARE, org.id, when, "工作人员代为网上申报并上传资料")
                when += 20
            self.step(case, A.ACCEPT, org.id, when)
            self.finish(case, org.id, when)
        self.write(case)

    def carried(self, item: Facts, power: Power, day: int, filed: Place, handler: Place) -> None:
        """Filed at a room (or a hall): pre-reviewed there or only collected, carried to its handler."""
        case = self.draft(item, day, filed.id, handler.id, COUNTER)
        when = case.submitted_at + 15
        if power == Power.ACCEPT_AND_PRE_REVIEW:
            self.step(case, A.ACCEPT, filed.id, when)
            note = "已入户调查" if item.home_visit else "已在村（社区）公示"
            self.step(case, A.PRE_REVIEW, filed.id, when + 40, note)
        dispatch_on = self.clock.after(day, 1)
        dispatched = dispatch_on * DAY + OPENS + 30
        received = dispatched + (90 if handler.id in self.halls else 150)
        if not case.stopped and dispatch_on <= END:
            batch = self.batch(filed, handler, dispatch_on, dispatched, received)
            self.step(case, A.DISPATCH, filed.id, dispatched, "分类集中，专人代办", batch=batch)
            self.batch_case_rows.append((batch, case.id))
            self.step(case, A.RECEIVE, handler.id, received, batch=batch)
        else:
            case.stopped = True
        if power != Power.ACCEPT_AND_PRE_REVIEW:
            self.step(case, A.ACCEPT, handler.id, received + 10)
        self.finish(case, handler.id, received + 10)
        self.write(case)

    def finish(self, case: Draft, org: int, earliest: int) -> None:
        """Maybe pause for papers; review, decide, complete and deliver, mostly within the promise."""
        rng, clock, item = self.rng, self.clock, case.item
        if case.stopped:
            return
        if item.promised and rng.random() < SUPPLEMENT_SHARE:
            self.step(case, A.REQUEST_SUPPLEMENT, org, earliest + PAUSE_AFTER, "请补充提交申请材料复印件")
            back = clock.after(earliest // DAY, rng.randint(1, 4)) * DAY + OPENS + 60
            if rng.random() < WITHDRAW_SHARE:
                self.step(case, A.WITHDRAW, org, back, "申请人撤回申请")
                return
            self.step(case, A.RESUME, org, back, "申请人已补齐材料")
            earliest = back
        if case.stopped:
            return
        start = earliest // DAY
        done = clock.after(start, rng.randint(0, item.promised)) if item.promised else start
        done = min(done, case.promised_due)
        if item.promised and rng.random() < LATE_SHARE:
            done = clock.after(case.promised_due, rng.randint(1, 5))
        review = max(done * DAY + OPENS + 480, earliest + 10)
        self.step(case, A.REVIEW, org, review)
        denied = rng.random() < DENY_SHARE
        decision, note = (Decision.DENIED, "不符合法定条件") if denied else (Decision.APPROVED, "")
        self.step(case, A.DECIDE, org, review + 20, note, decision=decision)
        if not self.step(case, A.COMPLETE, org, review + 30):
            return
        if rng.random() < 0.95:
            self.step(case, A.DELIVER, org, review + 60)
        if rng.random() < RATED_SHARE:
            self.rate(case, rng.choices(SCORES, SCORE_WEIGHTS)[0], review + 30 + 120)

    # The workflow's steps on a draft.

    def draft(self, item: Facts, day: int, filed_at: int, handler: int, channel: str) -> Draft:
        rng = self.rng
        self.sequence[day] += 1
        if self.sequence[day] > 9999:
            raise ValueError(f"district {self.d.code}: more than 9999 cases on one day")
        company = channel == Channel.PROACTIVE_AGENCY or (item.licensing and rng.random() < 0.4)
        applicant = self.applicants.applicant(company)
        number = f"{self.d.code}{self.clock.digits(day)}{self.sequence[day]:04d}"
        case = Draft(self.next_id, number, item, filed_at, handler, channel, applicant)
        self.next_id += 1
        self.step(case, A.SUBMIT, filed_at, day * DAY + OPENS + rng.randint(0, 420))
        return case

    def step(
        self,
        case: Draft,
        action: CaseAction,
        org: int,
        when: int,
        comment: str = "",
        decision: Decision | None = None,
        batch: int | None = None,
    ) -> bool:
        """Take one step and write its event; False once the case is cut off at the last day."""
        before = case.status
        if not take(case, action, org, when, self.clock, decision):
            return False
        people = self.people[org]
        person = people[self.rng.randrange(len(people))] if len(people) > 1 else people[0]
        if action == A.DECIDE:
            case.decider = person.staff_id
        stamp = self.clock.stamp(when)
        event = (
            case.id,
            action.value,
            before,
            case.status,
            person.user_id,
            person.name,
            org,
            stamp,
            comment,
            batch,
        )
        self.event_rows.append(event)
        return True

    def write(self, case: Draft) -> None:
        stamp, date_text = self.clock.stamp, self.clock.date_text
        kind, name, id_number, phone = case.applicant
        legal, promised = case.limits or (None, None)
        accepted = case.accepted_on is not None
        self.case_rows.append(
            (case.id, case.number, case.item.id, case.item.revision_id, kind, name, id_number, phone,
             case.channel, stamp(case.submitted_at), case.filed_at, case.handler, case.status,
             case.decision, stamp(case.accepted_at) if accepted else None,
             date_text(case.legal_due) if accepted else None,
             date_text(case.promised_due) if accepted else None, case.estimated,
             stamp(case.completed_at) if case.completed_at else None,
             stamp(case.delivered_at) if case.delivered_at else None, case.trips_saved, case.held_by,
             case.before_pause,
             date_text(case.accepted_on) if accepted else None, legal, promised,
             date_text(case.completed_on) if case.completed_on else None, case.taken, case.paused_days,
             self.shared.calendar_revision_id if accepted else None, None, case.steps,
             stamp(case.submitted_at), stamp(case.last))
        )  # fmt: skip

    def rate(self, case: Draft, score: int, when: int) -> None:
        """A rating as api.services.ratings.evaluation makes it; bad ones rectified three days on."""
        reason, due, rectified, response, follow_up, by = "", None, None, "", "", None
        if score <= 2:
            reason = BAD_REASONS[case.id % len(BAD_REASONS)]
            due = self.clock.date_text(self.clock.after(when // DAY, 15))
            if when // DAY + 3 <= END:
                rectified, by = self.clock.stamp(when + 3 * DAY), self.d.supervisor_id
                response, follow_up = "已约谈窗口负责人，优化一次性告知单", "已电话回访申请人，申请人表示认可"
        self.rating_rows.append(
            (
                case.id,
                case.decider,
                score,
                reason,
                self.clock.stamp(when),
                due,
                rectified,
                response,
                follow_up,
                by,
            )
        )

    def batch(self, origin: Place, destination: Place, day: int, dispatched: int, received: int) -> int:
        """The agency batch of the day from `origin` to `destination` (专人代办), made on first use."""
        key = (origin.id, destination.id, day)
        found = self.batches.get(key)
        if found is None:
            pk = self.d.batch_base + len(self.batches)
            number = f"DB-{origin.code}-{self.clock.digits(day)}-{destination.id:02d}"
            found = self.batches[key] = [
                pk,
                number,
                origin.id,
                destination.id,
                origin.carrier,
                dispatched,
                received,
            ]
        return found[0]

    def batch_rows(self) -> list[tuple]:
        stamp = self.clock.stamp
        return [
            (
                pk,
                number,
                origin,
                destination,
                carrier,
                stamp(sent),
                stamp(came) if came // DAY <= END else None,
                stamp(sent),
            )
            for pk, number, origin, destination, carrier, sent, came in self.batches.values()
        ]

    def counter_rows(self) -> list[tuple]:
        """Each day's last sequence: a submission through the API continues after it."""
        return [
            (f"{self.d.code}{self.clock.digits(day)}", last) for day, last in sorted(self.sequence.items())
        ]
