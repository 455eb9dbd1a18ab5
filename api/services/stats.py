"""Service statistics (三办 figures) in SQL: one grouped statement per question, on stored case columns.

Basis (documented in docs/workflow.md): a case belongs to the period in which it was accepted.
- 办结率 (completion rate) = completed / accepted
- 限时办结率 (on-time rate) = completed on or before the promised due date / completed
- overdue = open (not paused) past the promised due date on `as_of`, plus completed late
- due soon = open (not paused) and due between `as_of` and `soon` (a few working days ahead)
- average working days = acceptance to completion, supplement pauses left out
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import F, Q, RawSQL, Subquery
from tortoise.functions import Count, Sum

from api.models.case import Case, CaseStatus, Evaluation
from api.models.item import Item
from api.services.deadlines import DISTRICT_ZONE
from api.services.workflow import RUNNING
from schema.generator.aggregates import FloatAvg

OPEN_CLOCK = [s.value for s in RUNNING]  # open cases whose clock runs (not paused, not closed)
TAGS = {"IMMEDIATE": "tag_immediate", "ONLINE": "tag_online", "ONE_VISIT": "tag_one_visit"}


class Dimension(StrEnum):
    TOTAL = "TOTAL"
    ORGANIZATION = "ORGANIZATION"
    TIER = "TIER"
    ITEM = "ITEM"
    TAG = "TAG"
    MONTH = "MONTH"


class RatingDimension(StrEnum):
    TOTAL = "TOTAL"
    ORGANIZATION = "ORGANIZATION"
    STAFF = "STAFF"
    ITEM = "ITEM"


@dataclass(frozen=True)
class Period:
    first_day: date | None = None
    last_day: date | None = None


@dataclass(frozen=True)
class ServiceRow:
    key: str | None  # organization or item id, tier, tag, or the month's first day; None for TOTAL
    accepted: int
    completed: int
    completed_on_time: int
    completed_late: int
    overdue_open: int
    due_soon: int
    paused: int
    trips_saved: int
    average_working_days: float | None

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.accepted if self.accepted else None

    @property
    def on_time_rate(self) -> float | None:
        return self.completed_on_time / self.completed if self.completed else None

    @property
    def overdue(self) -> int:
        return self.overdue_open + self.completed_late


def month_sql(column: str, dialect: str) -> str:
    if dialect == "postgres":
        return f"CAST(date_trunc('month', \"{column}\") AS DATE)"
    return f"strftime('%Y-%m-01', \"{column}\")"


def _key_expression(by: Dimension) -> tuple[str | None, Any]:
    if by == Dimension.ORGANIZATION:
        return "handling_organization_id", None
    if by == Dimension.TIER:
        return "handling_organization__tier", None
    if by == Dimension.ITEM:
        return "item_id", None
    if by == Dimension.MONTH:
        dialect = Case._meta.db.capabilities.dialect
        return "month", RawSQL(month_sql("accepted_on", dialect))
    return None, None


async def service_stats(scope: Q, period: Period, by: Dimension, as_of: date, soon: date) -> list[ServiceRow]:
    """The figures of the accepted cases in `scope` and `period`, one row per key of `by`."""
    cases = Case.filter(scope, accepted_on__isnull=False)
    if period.first_day is not None:
        cases = cases.filter(accepted_on__gte=period.first_day)
    if period.last_day is not None:
        cases = cases.filter(accepted_on__lte=period.last_day)
    if by == Dimension.TAG:
        rows = []
        for tag, column in TAGS.items():
            tagged = Subquery(Item.filter(**{column: True}).values("id"))  # no join: one row per tag
            found = await _grouped(cases.filter(item_id__in=tagged), None, None, as_of, soon)
            rows += [_row(tag, r) for r in found]
        return rows
    key, expression = _key_expression(by)
    found = await _grouped(cases, key, expression, as_of, soon)
    return sorted((_row(r.get("key"), r) for r in found), key=lambda r: (r.key is None, str(r.key)))


async def _grouped(cases, key: str | None, expression, as_of: date, soon: date) -> list[dict[str, Any]]:
    open_clock = Q(status__in=OPEN_CLOCK)
    figures = dict(
        accepted=Count("id"),
        completed=Count("id", _filter=Q(completed_on__isnull=False)),
        completed_on_time=Count("id", _filter=Q(completed_on__lte=F("promised_due_date"))),
        completed_late=Count("id", _filter=Q(completed_on__gt=F("promised_due_date"))),
        overdue_open=Count("id", _filter=open_clock & Q(promised_due_date__lt=as_of)),
        due_soon=Count(
            "id", _filter=open_clock & Q(promised_due_date__gte=as_of, promised_due_date__lte=soon)
        ),
        paused=Count("id", _filter=Q(status=CaseStatus.SUPPLEMENT_REQUESTED)),
        trips_saved=Sum("trips_saved"),
        average_working_days=FloatAvg("working_days_taken"),
    )
    query, names = cases.annotate(**figures), list(figures)
    if key is None:
        return await query.values(*names)
    if expression is not None:
        query = query.annotate(**{key: expression})
    rows = await query.group_by(key).values(*names, key)
    for row in rows:
        row["key"] = row.pop(key)
    return rows


def _row(key: Any, raw: dict[str, Any]) -> ServiceRow:
    average = raw["average_working_days"]
    if key is not None and not isinstance(key, str):
        key = key.isoformat() if isinstance(key, date) else str(key)
    return ServiceRow(
        key=key,
        accepted=raw["accepted"] or 0,
        completed=raw["completed"] or 0,
        completed_on_time=raw["completed_on_time"] or 0,
        completed_late=raw["completed_late"] or 0,
        overdue_open=raw["overdue_open"] or 0,
        due_soon=raw["due_soon"] or 0,
        paused=raw["paused"] or 0,
        trips_saved=raw["trips_saved"] or 0,
        average_working_days=float(average) if average is not None else None,
    )


def overdue_cases(scope: Q, as_of: date, soon: date | None = None):
    """Open cases past their promised date on `as_of` or, with `soon`, due from `as_of` to `soon`.

    Paused cases are neither: their clock stands still.
    """
    due = (
        Q(promised_due_date__lt=as_of)
        if soon is None
        else Q(promised_due_date__gte=as_of, promised_due_date__lte=soon)
    )
    return Case.filter(scope).filter(Q(status__in=OPEN_CLOCK) & due)


@dataclass(frozen=True)
class RatingRow:
    key: str | None
    ratings: int
    average_score: float | None
    by_level: dict[int, int]
    bad: int
    rectifications_open: int
    rectifications_overdue: int
    rectifications_closed: int

    @property
    def satisfaction_rate(self) -> float | None:
        """Share of ratings that are 基本满意 or better."""
        return (self.ratings - self.bad) / self.ratings if self.ratings else None


RATING_KEYS = {
    RatingDimension.ORGANIZATION: "case__handling_organization_id",
    RatingDimension.STAFF: "staff_id",
    RatingDimension.ITEM: "case__item_id",
}


async def rating_stats(scope: Q, period: Period, by: RatingDimension, as_of: date) -> list[RatingRow]:
    ratings = Evaluation.filter(scope)
    if period.first_day is not None:
        ratings = ratings.filter(rated_at__gte=_start(period.first_day))
    if period.last_day is not None:
        ratings = ratings.filter(rated_at__lt=_start(period.last_day, 1))
    open_ = Q(rectification_due_date__isnull=False, rectified_at__isnull=True)
    figures = dict(
        ratings=Count("id"),
        average_score=FloatAvg("score"),
        bad=Count("id", _filter=Q(score__lte=2)),
        rectifications_open=Count("id", _filter=open_),
        rectifications_overdue=Count("id", _filter=open_ & Q(rectification_due_date__lt=as_of)),
        rectifications_closed=Count("id", _filter=Q(rectified_at__isnull=False)),
        **{f"level_{n}": Count("id", _filter=Q(score=n)) for n in range(1, 6)},
    )
    query, names = ratings.annotate(**figures), list(figures)
    key = RATING_KEYS.get(by)
    if key is None:
        rows = await query.values(*names)
    else:
        rows = await query.group_by(key).values(*names, key)
    out = []
    for row in rows:
        if not row["ratings"]:
            continue
        raw_key = row.get(key) if key else None
        out.append(
            RatingRow(
                key=None if raw_key is None else str(raw_key),
                ratings=row["ratings"],
                average_score=float(row["average_score"]) if row["average_score"] is not None else None,
                by_level={n: row[f"level_{n}"] or 0 for n in range(1, 6)},
                bad=row["bad"] or 0,
                rectifications_open=row["rectifications_open"] or 0,
                rectifications_overdue=row["rectifications_overdue"] or 0,
                rectifications_closed=row["rectifications_closed"] or 0,
            )
        )
    return sorted(out, key=lambda r: (r.key is None, r.key or ""))


def _start(day: date, plus_days: int = 0) -> datetime:
    # Compared in UTC: SQLite compares the stored text, and every timestamp is stored in UTC.
    return datetime.combine(day + timedelta(days=plus_days), time(0), tzinfo=DISTRICT_ZONE).astimezone(UTC)


async def service_report(
    period: Period, as_of: date | None = None
) -> list[tuple[str, list[tuple[str, ServiceRow]]]]:
    """The district's figures for `sanji report service`: overall, per tier, per 三办 tag at the
    center, per organization."""
    from api.models.org import Organization, Tier

    today = as_of or datetime.now(DISTRICT_ZONE).date()
    everything = Q()
    center_ids = await Organization.filter(tier=Tier.CENTER).values_list("id", flat=True)
    at_center = Q(handling_organization_id__in=list(center_ids) or [0])
    names = dict(await Organization.all().values_list("id", "name"))

    async def rows(scope: Q, by: Dimension) -> list[ServiceRow]:
        return await service_stats(scope, period, by, today, today)

    return [
        ("district", [("all cases", r) for r in await rows(everything, Dimension.TOTAL)]),
        ("per tier", [(r.key or "-", r) for r in await rows(everything, Dimension.TIER)]),
        ("三办 items at the center", [(r.key or "-", r) for r in await rows(at_center, Dimension.TAG)]),
        (
            "per handling organization",
            [
                (names.get(int(r.key), r.key) if r.key else "-", r)
                for r in await rows(everything, Dimension.ORGANIZATION)
            ],
        ),
    ]
