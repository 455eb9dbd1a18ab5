"""Every state × step × role × organization power, against the rules as the domain states them.

The expectations below are written from DOMAIN.md and the issue, not read from the code's table:
a room with ACCEPT_AND_PRE_REVIEW accepts and pre-reviews; an AGENCY_ONLY organization only
takes papers in and carries them on; only a FULL-power organization reviews and decides; clerks
and agents move cases, integrators only file online applications.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from api.auth.caller import Caller
from api.auth.permissions import ROLES
from api.errors import DomainError
from api.models.case import ApplicantType, Case, CaseAction, CaseStatus, Channel, Decision
from api.models.item import Item, Power
from api.services import workflow
from api.services.workflow import Move

S, A, P = CaseStatus, CaseAction, Power
STAFF = {"CLERK", "AGENT"}
EVERY_POWER = {P.FULL, P.ACCEPT_AND_PRE_REVIEW, P.AGENCY_ONLY}
OPEN = {S.SUBMITTED, S.ACCEPTED, S.PRE_REVIEWED, S.SUPPLEMENT_REQUESTED, S.REVIEWED}
CARRIED = {S.SUBMITTED, S.ACCEPTED, S.PRE_REVIEWED}

# step: (states it starts from, roles, powers of the acting organization)
RULES = {
    A.ACCEPT: ({S.SUBMITTED}, STAFF, {P.FULL, P.ACCEPT_AND_PRE_REVIEW}),
    A.REJECT: ({S.SUBMITTED}, STAFF, {P.FULL, P.ACCEPT_AND_PRE_REVIEW}),
    A.PRE_REVIEW: ({S.ACCEPTED}, STAFF, {P.FULL, P.ACCEPT_AND_PRE_REVIEW}),
    A.REQUEST_SUPPLEMENT: (
        {S.ACCEPTED, S.PRE_REVIEWED, S.REVIEWED},
        STAFF,
        {P.FULL, P.ACCEPT_AND_PRE_REVIEW},
    ),
    A.RESUME: ({S.SUPPLEMENT_REQUESTED}, STAFF, {P.FULL, P.ACCEPT_AND_PRE_REVIEW}),
    A.REVIEW: ({S.ACCEPTED, S.PRE_REVIEWED}, {"CLERK"}, {P.FULL}),
    A.DECIDE: ({S.REVIEWED}, {"CLERK"}, {P.FULL}),
    A.COMPLETE: ({S.DECIDED}, {"CLERK"}, {P.FULL}),
    A.DELIVER: ({S.COMPLETED}, STAFF, EVERY_POWER),
    A.WITHDRAW: (OPEN, STAFF, EVERY_POWER),
    A.DISPATCH: (CARRIED, STAFF, EVERY_POWER),
    A.RECEIVE: (CARRIED, STAFF, {P.FULL}),
    A.PROXY_DECLARE: ({S.SUBMITTED}, {"CLERK"}, {P.FULL}),
}
ROOM, HALL, ELSEWHERE = 30, 20, 99
ITEM = Item(id=1, promised_limit_days=5, legal_limit_days=20, visits_required=1)


def case_at_the_right_place(action: CaseAction, status: CaseStatus) -> Case:
    """A case placed so that the acting organization (the room) stands where the step is taken."""
    handling, held = {
        A.REVIEW: (ROOM, ROOM),
        A.DECIDE: (ROOM, ROOM),
        A.COMPLETE: (ROOM, ROOM),
        A.RECEIVE: (ROOM, None),
        A.DISPATCH: (HALL, ROOM),
    }.get(action, (HALL, ROOM))
    return Case(
        id=7,
        number="QJL202610010001",
        status=status,
        applicant_type=ApplicantType.COMPANY,
        channel=Channel.PROACTIVE_AGENCY,
        submitted_at_organization_id=ROOM,
        handling_organization_id=handling,
        held_by_id=held,
        accepted_on=date(2026, 9, 28),
        status_before_pause=S.ACCEPTED if status == S.SUPPLEMENT_REQUESTED else None,
        version=1,
    )


def move(action: CaseAction, role: str) -> Move:
    return Move(
        action,
        Caller(role, ROOM, 1, "测试"),
        datetime(2026, 10, 9, 2, tzinfo=UTC),
        comment="理由",
        decision=Decision.APPROVED,
        batch_id=3,
    )


CELLS = list(itertools.product(RULES, list(CaseStatus), ROLES, [*Power, None]))


@pytest.fixture(scope="module", autouse=True)
def models():
    """The models' relations (case.held_by_id, ...) without a database."""
    from tortoise import Tortoise
    from tortoise.context import TortoiseContext

    from api.db import APP_LABEL, use_context
    from api.models import MODEL_MODULES

    with use_context(TortoiseContext()):
        Tortoise.init_models(MODEL_MODULES, APP_LABEL)


@pytest.mark.parametrize(("action", "status"), list(itertools.product(RULES, list(CaseStatus))))
def test_every_role_and_power_in_every_state(action, status):
    """One parametrized case per step and state; inside, every role × power (6 × 4)."""
    sources, roles, powers = RULES[action]
    for role, power in itertools.product(ROLES, [*Power, None]):
        case = case_at_the_right_place(action, status)
        allowed = status in sources and role in roles and power in powers
        try:
            event = workflow.apply(case, ITEM, move(action, role), power, {}, history=_history(action))
        except Exception as error:
            assert not allowed, f"{action} {status} {role} {power}: refused: {error}"
            expected = "INVALID_TRANSITION" if status not in sources else "FORBIDDEN"
            assert error.code == expected, (action, status, role, power, error.message)
            if expected == "INVALID_TRANSITION":
                _lists_only_what_would_succeed(error, action, status, role, power)
            continue
        assert allowed, f"{action} from {status} by {role} with {power} should be refused"
        assert (event.action, event.from_status) == (action, status)


def _lists_only_what_would_succeed(error, action, status, role, power) -> None:
    """The steps a refusal offers are exactly those this actor could take on this case: each
    offered one succeeds when tried, within the rules above, and every other one is refused."""
    offered = error.extensions()["allowedSteps"]
    succeeds = []
    for other in RULES:
        sources, roles, powers = RULES[other]
        try:
            workflow.apply(
                case_at_the_right_place(action, status), ITEM, move(other, role), power, {}, _history(action)
            )
        except DomainError:
            continue
        assert status in sources and role in roles and power in powers, (other, status, role, power)
        succeeds.append(str(other))
    assert sorted(offered) == sorted(succeeds), (action, status, role, power, error.message)
    assert str(status) in error.message
    if offered:
        assert error.message.endswith(f"Allowed next steps for you: {', '.join(offered)}")
    else:
        assert "no step" in error.message


def _history(action: CaseAction):
    if action != A.RESUME:
        return []
    from api.models.case import CaseEvent

    return [CaseEvent(action=A.REQUEST_SUPPLEMENT, occurred_at=datetime(2026, 9, 30, 2, tzinfo=UTC))]


def test_the_matrix_covers_every_step_but_filing():
    assert set(RULES) == set(CaseAction) - {A.SUBMIT}
    assert len(CELLS) == 13 * 10 * 6 * 4  # six roles (PUBLIC and the five of Role), four powers (or none)


@pytest.mark.parametrize(
    ("action", "handling", "held", "ok"),
    [
        (A.ACCEPT, HALL, HALL, False),  # the papers are at the hall, not here
        (A.REVIEW, HALL, ROOM, False),  # the room holds them but does not handle the case
        (A.REVIEW, ROOM, None, False),  # still on the way
        (A.DISPATCH, ROOM, ROOM, False),  # nothing to carry: the case is handled here
        (A.RECEIVE, ROOM, HALL, False),  # not on its way: held elsewhere
        (A.DELIVER, ELSEWHERE, ELSEWHERE, True),  # the room the application was filed at hands it over
        (A.WITHDRAW, ELSEWHERE, ELSEWHERE, True),  # ... and may withdraw it for the applicant
    ],
)
def test_a_step_is_taken_only_where_the_case_stands(action, handling, held, ok):
    status = next(iter(RULES[action][0]))
    if action == A.DELIVER:
        status = S.COMPLETED
    case = case_at_the_right_place(action, status)
    case.handling_organization_id, case.held_by_id = handling, held
    error = workflow.refusal(workflow.BY_ACTION[action], case, Caller("CLERK", ROOM), P.FULL)
    assert (error is None) == ok, error and error.message
    if not ok:
        assert error.code == "FORBIDDEN" and "only" in error.message
