"""The workflow's steps on plain slots: what `api.services.workflow.apply` does to a case, for a
generator that takes six million of them.

`workflow.apply` builds a model object per event (~25 µs a step): a province's six million events
would take minutes. Here a step is checked against the same state machine (its sources and targets
are read from `workflow.STEPS`) and changes the same columns the same way, with the deadline
service's own functions (through `Clock`); seeds/synthetic/verify.py replays stored cases through
`workflow.apply` itself and names any difference (the tests replay every case, the loader a sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.models.case import CaseAction, CaseStatus, Channel, Decision
from api.services.workflow import STEPS
from seeds.synthetic.catalogue import Facts
from seeds.synthetic.timeline import DAY, END_DAY, Clock

A = CaseAction
END = END_DAY.toordinal()
# The state machine as plain strings: the states a step starts from and the state it leads to.
SOURCES = {step.action: frozenset(s.value for s in step.sources) for step in STEPS}
TARGET = {step.action: step.target.value if step.target else None for step in STEPS}
COUNTER, AGENCY = Channel.COUNTER.value, Channel.AGENCY.value
ACCEPTED = CaseStatus.ACCEPTED.value


@dataclass(slots=True)
class Draft:
    """A case being moved; the slots are its columns (times as minutes, days as ordinals)."""

    id: int
    number: str
    item: Facts
    filed_at: int
    handler: int
    channel: str
    applicant: tuple[str, str, str, str]  # type, name, id number, phone
    status: str | None = None
    decision: str | None = None
    submitted_at: int = 0
    accepted_at: int | None = None
    accepted_on: int | None = None
    legal_due: int | None = None
    promised_due: int | None = None
    estimated: bool = False
    completed_at: int | None = None
    completed_on: int | None = None
    delivered_at: int | None = None
    taken: int | None = None
    trips_saved: int = 0
    held_by: int | None = None
    before_pause: str | None = None
    paused_days: int = 0
    paused_on: int = 0
    pauses: list[tuple[int, int]] = field(default_factory=list)
    limits: tuple[int, int] | None = None
    last: int = 0
    steps: int = 0
    stopped: bool = False  # the next step falls after the data set's last day
    decider: int | None = None  # staff id of who decided: the person a rating rates


def take(
    case: Draft, action: CaseAction, org: int, when: int, clock: Clock, decision: Decision | None = None
) -> bool:
    """Take the step at `when` (minutes, Beijing time) as `workflow.apply` does; False, and the
    case stops there, when it falls after the data set's last day."""
    if case.stopped or when // DAY > END:
        case.stopped = True
        return False
    before = case.status
    if action != A.SUBMIT and before not in SOURCES[action]:
        raise AssertionError(f"{case.number}: {action} from {before}")
    day, item = when // DAY, case.item
    if action == A.SUBMIT:
        case.submitted_at, case.held_by = when, case.filed_at
        if case.handler != case.filed_at:
            case.trips_saved = max(1, item.visits)
            if case.channel == COUNTER:
                case.channel = AGENCY
    elif action == A.PROXY_DECLARE:
        case.trips_saved = max(1, item.visits)
    elif action == A.ACCEPT:
        case.accepted_at, case.accepted_on, case.limits = when, day, (item.legal, item.promised)
        case.legal_due, case.promised_due, case.estimated = clock.due(day, item.legal, item.promised)
    elif action == A.REQUEST_SUPPLEMENT:
        case.before_pause, case.paused_on = before, day
    elif action == A.RESUME:
        case.pauses.append((case.paused_on, day))
        case.status, case.before_pause = case.before_pause or ACCEPTED, None
        case.paused_days = sum(clock.between(s, e) for s, e in case.pauses)
        legal, promised = case.limits
        due = clock.paused_due(case.accepted_on, legal, promised, case.pauses)
        case.legal_due, case.promised_due, case.estimated = due
    elif action == A.DISPATCH:
        case.held_by = None
    elif action == A.RECEIVE:
        case.held_by = org
    elif action == A.DECIDE:
        case.decision = decision.value
    elif action == A.COMPLETE:
        case.completed_at, case.completed_on = when, day
        case.taken = clock.between(case.accepted_on, day, case.pauses)
    elif action == A.DELIVER:
        case.delivered_at = when
    target = TARGET[action]
    if target is not None:
        case.status = target
    case.last, case.steps = when, case.steps + 1
    return True
