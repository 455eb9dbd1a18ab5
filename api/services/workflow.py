"""The case workflow as data: every step names its states, the roles and the organization power it needs.

`STEPS` is the whole state machine (drawn in docs/workflow.md). `apply` is its pure core: it checks
one step against a case, the actor and the actor's power for the item, changes the case in memory
and returns the step's `CaseEvent`. The database service (api/services/cases.py) and the fixture
(seeds/qujialing/cases.py) both move cases only through it. A refusal for the wrong state names the
steps the same checks let this actor take instead (`open_steps`), or who else can move the case.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.case import ApplicantType, Case, CaseAction, CaseEvent, CaseStatus, Channel, Decision
from api.models.item import Item, Power
from api.models.user import Role
from api.services import deadlines
from api.services.deadlines import Pause

S = CaseStatus
A = CaseAction


class Place(StrEnum):
    """Where the actor's organization must stand to take a step."""

    SUBMISSION = "SUBMISSION"  # the organization the application is filed at
    HOLDER = "HOLDER"  # holds the case's papers
    HANDLER = "HANDLER"  # handles the case and holds its papers
    HOLDER_NOT_HANDLER = "HOLDER_NOT_HANDLER"  # holds the papers of a case handled elsewhere (代办)
    DESTINATION = "DESTINATION"  # handles the case whose papers are on their way to it
    ENDS = "ENDS"  # handles the case or received the application (hands the result over)
    INVOLVED = "INVOLVED"  # any of the above, while the papers are not on the road


PLACE_TEXT = {
    Place.SUBMISSION: "the organization the application is filed at",
    Place.HOLDER: "the organization holding the case's papers",
    Place.HANDLER: "the handling organization, once the papers are there",
    Place.HOLDER_NOT_HANDLER: "the organization holding the papers of a case handled elsewhere",
    Place.DESTINATION: "the handling organization, for papers on their way to it",
    Place.ENDS: "the handling organization or the one the application was filed at",
    Place.INVOLVED: "an organization the case was filed at, is handled at or whose papers it holds "
    "(not while an agency batch carries them)",
}

ANY_POWER = frozenset(Power)
ACCEPTING = frozenset({Power.FULL, Power.ACCEPT_AND_PRE_REVIEW})
FULL = frozenset({Power.FULL})
STAFF = frozenset({Role.CLERK, Role.AGENT})
CLERKS = frozenset({Role.CLERK})
OPEN = frozenset({S.SUBMITTED, S.ACCEPTED, S.PRE_REVIEWED, S.SUPPLEMENT_REQUESTED, S.REVIEWED})
CLOSED = frozenset({S.REJECTED, S.COMPLETED, S.DELIVERED, S.WITHDRAWN})
RUNNING = frozenset({S.ACCEPTED, S.PRE_REVIEWED, S.REVIEWED, S.DECIDED})  # the clock runs
MOVABLE = frozenset({S.SUBMITTED, S.ACCEPTED, S.PRE_REVIEWED})  # papers may travel (代办)


@dataclass(frozen=True)
class Step:
    action: CaseAction
    sources: frozenset[CaseStatus]  # empty: creates the case
    target: CaseStatus | None  # None: the state stays (handoffs); RESUME returns to the paused state
    roles: frozenset[str]
    powers: frozenset[Power]
    place: Place
    label: str
    needs_comment: bool = False


STEPS: tuple[Step, ...] = (
    Step(A.SUBMIT, frozenset(), S.SUBMITTED, STAFF | {Role.INTEGRATOR}, ANY_POWER, Place.SUBMISSION, "申请"),
    Step(
        A.PROXY_DECLARE,
        frozenset({S.SUBMITTED}),
        None,
        CLERKS,
        FULL,
        Place.HOLDER,
        "代为申报",
    ),
    Step(A.ACCEPT, frozenset({S.SUBMITTED}), S.ACCEPTED, STAFF, ACCEPTING, Place.HOLDER, "受理"),
    Step(A.REJECT, frozenset({S.SUBMITTED}), S.REJECTED, STAFF, ACCEPTING, Place.HOLDER, "不予受理", True),
    Step(A.PRE_REVIEW, frozenset({S.ACCEPTED}), S.PRE_REVIEWED, STAFF, ACCEPTING, Place.HOLDER, "初审"),
    Step(
        A.REQUEST_SUPPLEMENT,
        frozenset({S.ACCEPTED, S.PRE_REVIEWED, S.REVIEWED}),
        S.SUPPLEMENT_REQUESTED,
        STAFF,
        ACCEPTING,
        Place.HOLDER,
        "补正告知",
        True,
    ),
    Step(A.RESUME, frozenset({S.SUPPLEMENT_REQUESTED}), None, STAFF, ACCEPTING, Place.HOLDER, "补正后续办"),
    Step(A.DISPATCH, MOVABLE, None, STAFF, ANY_POWER, Place.HOLDER_NOT_HANDLER, "专人代办送出"),
    Step(A.RECEIVE, MOVABLE, None, STAFF, FULL, Place.DESTINATION, "接收代办件"),
    Step(
        A.REVIEW,
        frozenset({S.ACCEPTED, S.PRE_REVIEWED}),
        S.REVIEWED,
        CLERKS,
        FULL,
        Place.HANDLER,
        "审查",
    ),
    Step(A.DECIDE, frozenset({S.REVIEWED}), S.DECIDED, CLERKS, FULL, Place.HANDLER, "决定"),
    Step(A.COMPLETE, frozenset({S.DECIDED}), S.COMPLETED, CLERKS, FULL, Place.HANDLER, "办结"),
    Step(A.DELIVER, frozenset({S.COMPLETED}), S.DELIVERED, STAFF, ANY_POWER, Place.ENDS, "送达"),
    Step(A.WITHDRAW, OPEN, S.WITHDRAWN, STAFF, ANY_POWER, Place.INVOLVED, "撤回", True),
)
BY_ACTION: Mapping[CaseAction, Step] = {step.action: step for step in STEPS}
MOVES = tuple(step for step in STEPS if step.sources)  # the steps of a case once filed


def next_steps(status: CaseStatus | None) -> list[CaseAction]:
    """The steps a case in this state may take next (whoever takes them)."""
    if status is None:
        return [A.SUBMIT]
    return [step.action for step in STEPS if status in step.sources]


def _declarable(case: Case, history: Sequence[CaseEvent]) -> str | None:
    if case.channel != Channel.PROACTIVE_AGENCY or case.applicant_type != ApplicantType.COMPANY:
        return "only a company's proactive-agency case (PROACTIVE_AGENCY) is declared by staff on its behalf"
    if any(e.action == A.PROXY_DECLARE for e in history):
        return "already declared"
    return None


# What a step needs of the case itself besides its state (checked like the state: INVALID_TRANSITION).
CONDITIONS: Mapping[CaseAction, Callable[[Case, Sequence[CaseEvent]], str | None]] = {
    A.PROXY_DECLARE: _declarable,
}


def _first_failure(
    step: Step, case: Case, actor: Caller, power: Power | None, history: Sequence[CaseEvent]
) -> tuple[str, str] | None:
    """The code and reason of the first check the step fails, or None: the state, the case's own
    condition, then role, power and place."""
    status = None if step.action == A.SUBMIT else case.status
    if step.sources and status not in step.sources:
        return (
            "INVALID_TRANSITION",
            f"case {case.number} is {status}; {step.action} is not possible from there",
        )
    condition = CONDITIONS.get(step.action)
    unmet = condition(case, history) if condition else None
    if unmet:
        return "INVALID_TRANSITION", f"case {case.number}: {unmet}"
    if actor.role not in step.roles:
        return (
            "FORBIDDEN",
            f"role {actor.role} may not {step.action} a case (roles: {', '.join(sorted(step.roles))})",
        )
    if power not in step.powers:
        held = f"power {power}" if power else "no assignment"
        needed = " or ".join(sorted(step.powers))
        return "FORBIDDEN", f"your organization has {held} for this item; {step.action} needs {needed}"
    if not at_place(step.place, case, actor.organization_id):
        return "FORBIDDEN", f"only {PLACE_TEXT[step.place]} may {step.action} case {case.number}"
    return None


def open_steps(
    case: Case, actor: Caller, power: Power | None, history: Sequence[CaseEvent] = ()
) -> list[CaseAction]:
    """The steps this actor may take on the case now: those that pass every check of `refusal`."""
    return [s.action for s in MOVES if _first_failure(s, case, actor, power, history) is None]


@dataclass(frozen=True)
class OtherStep:
    """A step someone else may take on the case now: which roles, at which of its organizations."""

    action: CaseAction
    roles: tuple[str, ...]
    organization_id: int


def involved(case: Case) -> tuple[int, ...]:
    """The case's organizations, each once: the one holding the papers, the handling one, and the one
    the application was filed at."""
    found = (case.held_by_id, case.handling_organization_id, case.submitted_at_organization_id)
    return tuple(dict.fromkeys(o for o in found if o is not None))


def steps_of_others(
    case: Case, actor: Caller, powers: Mapping[int, Power], history: Sequence[CaseEvent] = ()
) -> list[OtherStep]:
    """The steps the staff of the case's organizations may take now (`powers`: each one's power for
    the item), leaving out the actor's own role at the actor's organization."""
    out = []
    for organization_id, step in itertools.product(involved(case), MOVES):
        power = powers.get(organization_id)
        roles = tuple(
            role
            for role in sorted(step.roles)
            if (role, organization_id) != (actor.role, actor.organization_id)
            and _first_failure(step, case, Caller(role, organization_id), power, history) is None
        )
        if roles:
            out.append(OtherStep(step.action, roles, organization_id))
    return out


class InvalidTransition(DomainError):
    """A step the case cannot take now. The message and `extensions.allowedSteps` name the steps
    this caller can take instead; `extensions.otherSteps` those that others can take, which the
    message spells out (who, where) when the caller can take none."""

    def __init__(self, case: Case, reason: str, allowed: list[CaseAction], others: list[OtherStep]) -> None:
        self.allowed = allowed
        self.others = [step.action for step in MOVES if any(o.action == step.action for o in others)]
        if allowed:
            tail = f"Allowed next steps for you: {', '.join(allowed)}"
        elif not next_steps(case.status):
            tail = "The case is closed: no step is possible"
        elif others:
            tail = f"You can take no step on it now; others can: {_who_else(case, others)}"
        else:
            tail = "You can take no step on it now"
        super().__init__("INVALID_TRANSITION", f"{reason}. {tail}", field="id")

    def extensions(self) -> dict[str, str | list[str]]:
        return {
            **super().extensions(),
            "allowedSteps": [str(a) for a in self.allowed],
            "otherSteps": [str(a) for a in self.others],
        }


def _who_else(case: Case, others: list[OtherStep]) -> str:
    """`ACCEPT, REJECT (CLERK or AGENT of the organization holding the papers); ...`"""
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for other in others:
        if other.organization_id == case.held_by_id:
            where = "the organization holding the papers"
        elif other.organization_id == case.handling_organization_id:
            where = "the handling organization"
        else:
            where = "the organization the application was filed at"
        groups.setdefault((other.roles, where), []).append(other.action)
    return "; ".join(
        f"{', '.join(steps)} ({' or '.join(roles)} of {where})" for (roles, where), steps in groups.items()
    )


def refusal(
    step: Step,
    case: Case,
    actor: Caller,
    power: Power | None,
    history: Sequence[CaseEvent] = (),
    powers: Mapping[int, Power] | None = None,
) -> DomainError | None:
    """Why the actor may not take the step now, or None. A step the case cannot take
    (INVALID_TRANSITION) names the steps the actor can take instead and, given `powers` (the case's
    organizations' powers for the item), those others can take."""
    failure = _first_failure(step, case, actor, power, history)
    if failure is None:
        return None
    code, reason = failure
    if code != "INVALID_TRANSITION":
        return DomainError(code, reason)
    allowed = open_steps(case, actor, power, history)
    others = steps_of_others(case, actor, powers, history) if powers is not None else []
    return InvalidTransition(case, reason, allowed, others)


def at_place(place: Place, case: Case, organization_id: int | None) -> bool:
    handler, holder = case.handling_organization_id, case.held_by_id
    return {
        Place.SUBMISSION: organization_id == case.submitted_at_organization_id,
        Place.HOLDER: organization_id == holder,
        Place.HANDLER: organization_id == holder == handler,
        Place.HOLDER_NOT_HANDLER: organization_id == holder != handler,
        Place.DESTINATION: holder is None and organization_id == handler,
        Place.ENDS: organization_id in (handler, case.submitted_at_organization_id),
        Place.INVOLVED: holder is not None
        and organization_id in (handler, holder, case.submitted_at_organization_id),
    }[place]


def pauses(history: Iterable[CaseEvent]) -> list[Pause]:
    """The supplement pauses of a case from its events (the last may still be open)."""
    out: list[Pause] = []
    for event in sorted(history, key=lambda e: e.occurred_at):
        if event.action == A.REQUEST_SUPPLEMENT:
            out.append((deadlines.local_date(event.occurred_at), None))
        elif event.action == A.RESUME and out and out[-1][1] is None:
            out[-1] = (out[-1][0], deadlines.local_date(event.occurred_at))
    return out


@dataclass
class Move:
    """The arguments of one step."""

    action: CaseAction
    actor: Caller
    when: datetime
    comment: str = ""
    decision: Decision | None = None
    batch_id: int | None = None


def apply(
    case: Case,
    item: Item,
    move: Move,
    power: Power | None,
    workdays: Mapping[date, bool],
    history: Sequence[CaseEvent] = (),
    powers: Mapping[int, Power] | None = None,
) -> CaseEvent:
    """Take one step on an in-memory case: check it, change the case, return the unsaved event.
    `powers` (the case's organizations' powers for the item) lets a refusal say who else can move it."""
    step = BY_ACTION[move.action]
    error = refusal(step, case, move.actor, power, history, powers)
    if error is not None:
        raise error
    comment = move.comment.strip()
    if step.needs_comment and not comment:
        raise DomainError(
            "VALIDATION_FAILED", f"{move.action} needs a comment giving the reason", field="comment"
        )
    before = None if step.action == A.SUBMIT else case.status
    EFFECTS.get(step.action, _no_effect)(case, item, move, workdays, history)
    if step.target is not None:
        case.status = step.target
    event = CaseEvent(
        action=step.action,
        from_status=before,
        to_status=case.status,
        actor_id=move.actor.user_id,
        actor_name=move.actor.name[:50],
        organization_id=move.actor.organization_id,
        occurred_at=move.when,
        comment=comment,
        batch_id=move.batch_id,
    )
    if case.id is not None:  # a case being filed gets its id when it is saved
        event.case_id = case.id
    return event


def _no_effect(case, item, move, workdays, history) -> None:
    return None


def _submit(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.submitted_at = move.when
    case.held_by_id = case.submitted_at_organization_id
    if case.handling_organization_id != case.submitted_at_organization_id:
        case.trips_saved = max(1, item.visits_required)  # the papers travel, not the applicant
        if case.channel == Channel.COUNTER:
            case.channel = Channel.AGENCY


def _proxy_declare(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.trips_saved = max(1, item.visits_required)


def _accept(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.accepted_at = move.when
    case.accepted_on = deadlines.local_date(move.when)
    # The limits promised at acceptance stay the case's, whatever later becomes of the item.
    case.legal_limit_days, case.promised_limit_days = item.legal_limit_days, item.promised_limit_days
    _set_due_dates(case, item, workdays, [])


def _set_due_dates(case: Case, item: Item, workdays, case_pauses: list[Pause]) -> None:
    legal = case.legal_limit_days if case.legal_limit_days is not None else item.legal_limit_days
    promised = case.promised_limit_days if case.promised_limit_days is not None else item.promised_limit_days
    due = deadlines.due_dates(case.accepted_on, legal, promised, workdays, case_pauses)
    case.legal_due_date, case.promised_due_date, case.due_dates_estimated = (
        due.legal,
        due.promised,
        due.estimated,
    )


def _request_supplement(case: Case, item: Item, move: Move, workdays, history) -> None:
    if case.accepted_on is not None and deadlines.local_date(move.when) < case.accepted_on:
        raise DomainError("VALIDATION_FAILED", "a pause cannot start before acceptance", field="when")
    case.status_before_pause = case.status


def _resume(case: Case, item: Item, move: Move, workdays, history) -> None:
    case_pauses = pauses(history)
    resumed_on = deadlines.local_date(move.when)
    if case_pauses and case_pauses[-1][1] is None:
        case_pauses[-1] = (case_pauses[-1][0], resumed_on)
    # else: a pause whose request left no event (cases from before the workflow): nothing to skip
    case.status, case.status_before_pause = case.status_before_pause or S.ACCEPTED, None
    case.paused_working_days = sum(deadlines.working_days_between(s, e, workdays) for s, e in case_pauses)
    _set_due_dates(case, item, workdays, case_pauses)


def _dispatch(case: Case, item: Item, move: Move, workdays, history) -> None:
    if move.batch_id is None:
        raise DomainError("VALIDATION_FAILED", "papers travel in an agency batch", field="batch")
    case.held_by_id = None


def _receive(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.held_by_id = move.actor.organization_id


def _decide(case: Case, item: Item, move: Move, workdays, history) -> None:
    if move.decision is None:
        raise DomainError("VALIDATION_FAILED", "a decision is APPROVED or DENIED", field="decision")
    if move.decision == Decision.DENIED and not move.comment.strip():
        raise DomainError("VALIDATION_FAILED", "a denial needs its reason in the comment", field="comment")
    case.decision = move.decision


def _complete(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.completed_at = move.when
    case.completed_on = deadlines.local_date(move.when)
    case_pauses = [(s, e if e is not None else case.completed_on) for s, e in pauses(history)]
    case.working_days_taken = deadlines.working_days_between(
        case.accepted_on, case.completed_on, workdays, case_pauses
    )


def _deliver(case: Case, item: Item, move: Move, workdays, history) -> None:
    case.delivered_at = move.when


EFFECTS = {
    A.SUBMIT: _submit,
    A.PROXY_DECLARE: _proxy_declare,
    A.ACCEPT: _accept,
    A.REQUEST_SUPPLEMENT: _request_supplement,
    A.RESUME: _resume,
    A.DISPATCH: _dispatch,
    A.RECEIVE: _receive,
    A.DECIDE: _decide,
    A.COMPLETE: _complete,
    A.DELIVER: _deliver,
}


def recompute_due_dates(case: Case, item: Item, workdays, history: Sequence[CaseEvent]) -> bool:
    """Due dates of an accepted case on the given calendar (after a correction); True if they changed."""
    if case.accepted_on is None:
        return False
    before = (case.legal_due_date, case.promised_due_date, case.due_dates_estimated, case.working_days_taken)
    closed = [(s, e) for s, e in pauses(history) if e is not None]
    _set_due_dates(case, item, workdays, closed)
    case.paused_working_days = sum(deadlines.working_days_between(s, e, workdays) for s, e in closed)
    if case.completed_on is not None:
        case.working_days_taken = deadlines.working_days_between(
            case.accepted_on, case.completed_on, workdays, closed
        )
    after = (case.legal_due_date, case.promised_due_date, case.due_dates_estimated, case.working_days_taken)
    return before != after
