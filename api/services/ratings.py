"""Ratings (好差评, 国办发〔2019〕51号): one per completed case on five levels; bad ones are rectified.

A 不满意 or 非常不满意 rating needs a reason and opens a rectification (整改) due 15 working days
later, which a supervisor closes with the response and the follow-up given to the applicant (回访).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.errors import DomainError
from api.models.case import Case, CaseAction, CaseEvent, CaseStatus, Evaluation
from api.models.user import User
from api.services import deadlines, outbox, rating_rollup


class Level(IntEnum):
    """The five national levels; the value is the stored score."""

    VERY_SATISFIED = 5  # 非常满意
    SATISFIED = 4  # 满意
    BASICALLY_SATISFIED = 3  # 基本满意
    DISSATISFIED = 2  # 不满意
    VERY_DISSATISFIED = 1  # 非常不满意


RATEABLE = frozenset({CaseStatus.COMPLETED, CaseStatus.DELIVERED})
# The step whose staff member is rated: the one who decided the case.
RATED_STEP = CaseAction.DECIDE


def evaluation(
    case: Case, level: Level, reason: str, when: datetime, workdays, staff_id: int | None
) -> Evaluation:
    """The rating of a case (unsaved), with its rectification deadline when it is a bad one."""
    if case.status not in RATEABLE:
        raise DomainError(
            "INVALID_TRANSITION",
            f"case {case.number} is {case.status}; it can be rated once completed",
            field="case",
        )
    reason = reason.strip()
    if level <= Level.DISSATISFIED and not reason:
        raise DomainError("VALIDATION_FAILED", "a 不满意 or 非常不满意 rating needs a reason", field="reason")
    due = None
    if level <= Level.DISSATISFIED:
        due, _ = deadlines.add_working_days(
            deadlines.local_date(when), deadlines.RECTIFICATION_WORKING_DAYS, workdays
        )
    return Evaluation(
        case_id=case.id,
        staff_id=staff_id,
        score=int(level),
        reason=reason,
        rated_at=when,
        rectification_due_date=due,
    )


async def rated_staff(case_id: int) -> int | None:
    """The staff member who decided the case (through the deciding user's staff record)."""
    user_id = (
        await CaseEvent.filter(case_id=case_id, action=RATED_STEP)
        .order_by("-occurred_at")
        .first()
        .values_list("actor_id", flat=True)
    )
    if user_id is None:
        return None
    return await User.filter(id=user_id).first().values_list("staff_id", flat=True)


async def rate(case: Case, level: Level, reason: str, when: datetime) -> Evaluation:
    workdays = await deadlines.calendar_for(deadlines.local_date(when))
    rating = evaluation(case, level, reason, when, workdays, await rated_staff(case.id))
    try:
        async with in_transaction():
            await rating.save()
            await rating_rollup.shift(None, rating_rollup.share(rating))
            await outbox.rated(case, rating)
    except IntegrityError:
        raise DomainError(
            "CONFLICT", f"case {case.number} is already rated; one rating per case", field="case"
        ) from None
    return rating


@dataclass(frozen=True)
class Closure:
    response: str
    follow_up: str


async def close_rectification(
    evaluation_id: int, closure: Closure, user_id: int | None, when: datetime
) -> Evaluation:
    if not closure.response.strip():
        raise DomainError("VALIDATION_FAILED", "say what was rectified (response)", field="response")
    if not closure.follow_up.strip():
        raise DomainError(
            "VALIDATION_FAILED", "say how the applicant was followed up (followUp)", field="follow_up"
        )
    async with in_transaction():
        rating = await Evaluation.get_or_none(id=evaluation_id)
        if rating is None:
            raise DomainError("NOT_FOUND", "the rating does not exist", field="id")
        if rating.rectification_due_date is None:
            raise DomainError("INVALID_TRANSITION", "only a bad rating has a rectification", field="id")
        before = rating_rollup.share(rating)
        changed = await Evaluation.filter(id=rating.id, rectified_at__isnull=True).update(
            rectified_at=when,
            rectification_response=closure.response.strip(),
            follow_up=closure.follow_up.strip(),
            rectified_by_id=user_id,
        )
        if not changed:
            raise DomainError("INVALID_TRANSITION", "the rectification is already closed", field="id")
        await rating.refresh_from_db()
        await rating_rollup.shift(before, rating_rollup.share(rating))
        await outbox.rectification_closed(await Case.get(id=rating.case_id), rating)
        return rating
