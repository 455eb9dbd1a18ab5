"""Service statistics (三办 figures) in SQL: one grouped statement per question, on stored case columns.

Basis (documented in docs/workflow.md): a case belongs to the period in which it was accepted.
- 办结率 (completion rate) = completed / accepted
- 限时办结率 (on-time rate) = completed on or before the promised due date / completed
- overdue = open (not paused) past the promised due date on `as_of`, plus completed late
- due soon = open (not paused) and due between `as_of` and `soon` (a few working days ahead)
- average working days = acceptance to completion, supplement pauses left out
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import F, Q, RawSQL
from tortoise.functions import Count, Sum

from api.models.case import (
    Case,
    CaseRollup,
    CaseStatus,
    ClockState,
    DayRollup,
    Evaluation,
    Finish,
    HandlingRollup,
    ItemRollup,
    RatingRollup,
    Rectification,
)
from api.models.item import Item
from api.services.deadlines import DISTRICT_ZONE
from api.services.workflow import RUNNING

OPEN_CLOCK = [s.value for s in RUNNING]  # open cases whose clock runs (not paused, not closed)
TAGS = {"IMMEDIATE": "tag_immediate", "ONLINE": "tag_online", "ONE_VISIT": "tag_one_visit"}


class Dimension(StrEnum):
    TOTAL = "TOTAL"
    ORGANIZATION = "ORGANIZATION"
    TIER = "TIER"
    ITEM = "ITEM"
    TAG = "TAG"
    MONTH = "MONTH"


# The groupings the day rollup answers for a period's end days (its rows are per day, tier and tags).
DAY_ROLLUP_ANSWERS = (Dimension.TOTAL, Dimension.MONTH, Dimension.TIER, Dimension.TAG)


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
    working_days: int  # the sum of working days taken by the completed cases that have it
    timed: int  # how many have it

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.accepted if self.accepted else None

    @property
    def on_time_rate(self) -> float | None:
        return self.completed_on_time / self.completed if self.completed else None

    @property
    def overdue(self) -> int:
        return self.overdue_open + self.completed_late

    @property
    def average_working_days(self) -> float | None:
        return self.working_days / self.timed if self.timed else None


FIGURES = tuple(f.name for f in fields(ServiceRow) if f.name != "key")


@dataclass(frozen=True)
class Scope:
    """The cases a caller's figures cover: as a condition on the cases, the same area as a condition
    on `case_rollup` rows, and whether it is every case (then the smaller `handling_rollup` and
    `item_rollup` answer, per-item figures included)."""

    cases: Q
    rollup: Q
    everywhere: bool

    @classmethod
    def all(cls) -> Scope:
        return cls(Q(), Q(), True)


def month_sql(column: str, dialect: str) -> str:
    if dialect == "postgres":
        return f"CAST(date_trunc('month', \"{column}\") AS DATE)"
    return f"strftime('%Y-%m-01', \"{column}\")"


def _key_expression(by: Dimension) -> tuple[str | None, Any]:
    if by == Dimension.ORGANIZATION:
        return "handling_organization_id", None
    if by == Dimension.ITEM:
        return "item_id", None
    if by == Dimension.MONTH:
        dialect = Case._meta.db.capabilities.dialect
        return "month", RawSQL(month_sql("accepted_on", dialect))
    return None, None


def split(period: Period) -> tuple[Period | None, list[Period]]:
    """The period as the whole months in it (the rollups answer those: their rows are per month)
    and the days at its ends outside them (counted from the cases), e.g. 03-15..06-10 as
    04-01..05-31 and [03-15..03-31, 06-01..06-10]."""
    first, last = period.first_day, period.last_day
    start = first if first is None or first.day == 1 else _next_month(first)
    if last is None:
        end = None
    elif _next_month(last) - timedelta(1) == last:  # the last day of its month
        end = _next_month(last)
    else:
        end = last.replace(day=1)
    if start is not None and end is not None and start >= end:
        return None, [period]
    edges = []
    if first is not None and start is not None and first < start:
        edges.append(Period(first, start - timedelta(1)))
    if last is not None and end is not None and end <= last:
        edges.append(Period(end, last))
    return Period(start, None if end is None else end - timedelta(1)), edges


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


async def service_stats(
    scope: Scope, period: Period, by: Dimension, as_of: date, soon: date
) -> list[ServiceRow]:
    """The figures of the accepted cases in `scope` and `period`, one row per key of `by`: the whole
    months from the rollups, the days at the period's ends from the day rollup (in total, per month,
    tier or tag, for a caller who reads every case) or counted from the cases (per organization or
    item, an area's, and an area's per-item figures, which no rollup holds)."""
    rollup = _rollup_for(scope, by)
    if rollup is None:
        return await recount(scope.cases, period, by, as_of, soon)
    months, edges = split(period)
    found = []
    if months is not None:
        found += await _figures(_in_months(rollup, months), by, as_of, soon, _rolled_up)
    for edge in edges:
        if scope.everywhere and by in DAY_ROLLUP_ANSWERS:
            days = DayRollup.filter(day__gte=edge.first_day, day__lte=edge.last_day)
            found += await _figures(days, by, as_of, soon, _rolled_up)
        else:
            found += await recount(scope.cases, edge, by, as_of, soon)
    return _merged(found, by)


def _rollup_for(scope: Scope, by: Dimension):
    """The rollup rows that answer `by` for `scope` (the smallest that can), or None: count the cases."""
    if scope.everywhere:
        if by in (Dimension.ORGANIZATION, Dimension.TIER):
            return HandlingRollup.all()
        return ItemRollup.all()  # every case is in one item's rows
    if by in (Dimension.ITEM, Dimension.TAG):
        return None  # no rollup is per area and item
    return CaseRollup.filter(scope.rollup)


async def recount(scope: Q, period: Period, by: Dimension, as_of: date, soon: date) -> list[ServiceRow]:
    """`service_stats` counted from the cases alone (the rollups are held to it)."""
    cases = Case.filter(scope, accepted_on__isnull=False)
    if period.first_day is not None:
        cases = cases.filter(accepted_on__gte=period.first_day)
    if period.last_day is not None:
        cases = cases.filter(accepted_on__lte=period.last_day)
    return await _figures(cases, by, as_of, soon, _counted)


def _in_months(rows, months: Period):
    if months.first_day is not None:
        rows = rows.filter(month__gte=months.first_day)
    if months.last_day is not None:
        rows = rows.filter(month__lte=months.last_day)
    return rows


async def _figures(rows, by: Dimension, as_of: date, soon: date, figures) -> list[ServiceRow]:
    """The figures of `rows` (cases or rollup rows, whose `figures` say how to sum them) per key."""
    if by == Dimension.TAG:
        return await _per_tag(rows, figures(as_of, soon))
    if by == Dimension.TIER:
        found = await _per_tier(rows, figures(as_of, soon))
    else:
        key, expression = _key_expression(by)
        if by == Dimension.MONTH and rows.model is not Case:
            expression = None  # the rollups keep the month as a column
        found = await _grouped(rows, key, expression, figures(as_of, soon))
    return sorted((_row(r.get("key"), r) for r in found), key=lambda r: (r.key is None, str(r.key)))


async def _per_tag(rows, figures: dict[str, Any]) -> list[ServiceRow]:
    """The figures per 三办 tag (an item with two tags counts in both): summed per item (or, in the
    day rollup, per set of tags) in one statement, then each tag's sums added up here, instead of
    one pass over the rows per tag (a province's period ends: six statements over the cases
    become two)."""
    if rows.model is DayRollup:
        columns = list(TAGS.values())
        found = await _fetched(rows.annotate(**figures).group_by(*columns).values(*figures, *columns))
        flagged = [(dict(zip(TAGS, (r[c] for c in columns), strict=True)), r) for r in found]
    else:
        found = await _grouped(rows, "item_id", None, figures)
        ids = [r["key"] for r in found]
        flags = await Item.filter(id__in=ids).values_list("id", *TAGS.values()) if ids else []
        tagged = {item: dict(zip(TAGS, tags, strict=True)) for item, *tags in flags}
        flagged = [(tagged[r["key"]], r) for r in found]
    empty = [_row(tag, dict.fromkeys(FIGURES, 0)) for tag in TAGS]  # every tag has its row
    return _merged(
        empty + [_row(tag, r) for flags, r in flagged for tag in TAGS if flags[tag]], Dimension.TAG
    )


async def _per_tier(rows, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures per tier of the handling organization: the day rollup keeps the tier; other
    rows are summed per organization first, then the organizations' sums per tier, so the join
    reads one row per organization instead of one per case or rollup row (the province's rollup:
    45 → 29 ms; a period's end: 35 → 20 ms)."""
    if rows.model is DayRollup:
        return await _grouped(rows, "tier", None, figures)
    inner = _values(rows, "handling_organization_id", None, figures)
    sql, parameters = _statement(inner)
    sums = ", ".join(f'SUM(per_org."{name}") AS "{name}"' for name in figures)
    statement = (
        f'SELECT org."tier" AS "key", {sums} FROM ({sql}) AS per_org '
        'JOIN "organization" AS org ON org."id" = per_org."handling_organization_id" GROUP BY org."tier"'
    )
    return await inner._db.execute_query_dict(statement, parameters)


def _counted(as_of: date, soon: date) -> dict[str, Any]:
    open_clock = Q(status__in=OPEN_CLOCK)
    return dict(
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
        working_days=Sum("working_days_taken"),
        timed=Count("id", _filter=Q(working_days_taken__isnull=False)),
    )


def _rolled_up(as_of: date, soon: date) -> dict[str, Any]:
    running = Q(clock=ClockState.RUNNING)
    return dict(
        accepted=Sum("cases"),
        completed=Sum("cases", _filter=~Q(finish=Finish.NONE)),
        completed_on_time=Sum("cases", _filter=Q(finish=Finish.ON_TIME)),
        completed_late=Sum("cases", _filter=Q(finish=Finish.LATE)),
        overdue_open=Sum("cases", _filter=running & Q(due_date__lt=as_of)),
        due_soon=Sum("cases", _filter=running & Q(due_date__gte=as_of, due_date__lte=soon)),
        paused=Sum("cases", _filter=Q(clock=ClockState.PAUSED)),
        trips_saved=Sum("trips_saved"),
        working_days=Sum("working_days"),
        timed=Sum("timed"),
    )


def _values(rows, key: str | None, expression, figures: dict[str, Any]):
    """The values query of `figures` over `rows`, per `key` (an expression's name, or a column)."""
    query = rows.annotate(**figures)
    if key is None:
        return query.values(*figures)
    if expression is not None:
        query = query.annotate(**{key: expression})
    return query.group_by(key).values(*figures, key)


async def _grouped(rows, key: str | None, expression, figures: dict[str, Any]) -> list[dict[str, Any]]:
    found = await _fetched(_values(rows, key, expression, figures))
    if key is not None:
        for row in found:
            row["key"] = row.pop(key)
    return found


def _statement(values) -> tuple[str, list[Any]]:
    """The SQL and parameters of a Tortoise values query (built by Tortoise, run by the caller)."""
    values._choose_db_if_not_chosen()
    values._make_query()
    return values.query.get_parameterized_sql()


async def _fetched(values) -> list[dict[str, Any]]:
    """A values query's rows as the driver gives them: counts and sums stay ints, where Tortoise's
    own reading of its annotations would make every sum a Decimal, field by field (a province's
    1,111 organizations' rows: a tenth of the request)."""
    sql, parameters = _statement(values)  # (chooses the query's database)
    return await values._db.execute_query_dict(sql, parameters)


def _row(key: Any, raw: dict[str, Any]) -> ServiceRow:
    if key is not None and not isinstance(key, str):
        key = key.isoformat() if isinstance(key, date) else str(key)
    return ServiceRow(key=key, **{name: int(raw[name] or 0) for name in FIGURES})


def _merged(rows: list[ServiceRow], by: Dimension) -> list[ServiceRow]:
    """Rows of the same key added up (the rollups' months and the period's ends), in key order
    (tags in the order of TAGS)."""
    by_key: dict[str | None, ServiceRow] = {}
    for row in rows:
        held = by_key.get(row.key)
        if held is not None:
            row = ServiceRow(key=row.key, **{n: getattr(held, n) + getattr(row, n) for n in FIGURES})
        by_key[row.key] = row
    if by == Dimension.TAG:
        return [by_key[tag] for tag in TAGS if tag in by_key]
    return sorted(by_key.values(), key=lambda r: (r.key is None, str(r.key)))


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


LEVELS = range(1, 6)
RATING_FIGURES = (
    "ratings",
    "score_sum",
    "bad",
    "rectifications_open",
    "rectifications_overdue",
    "rectifications_closed",
    *(f"level_{n}" for n in LEVELS),
)


async def rating_stats(
    scope: Q, period: Period, by: RatingDimension, as_of: date, *, everywhere: bool = False
) -> list[RatingRow]:
    """The ratings in `scope` rated in `period`, one row per key of `by`. A caller who reads every
    rating gets the totals from `rating_rollup` for the period's whole months (the days at its
    ends counted from the ratings); anything else is counted from the ratings."""
    if not (everywhere and by == RatingDimension.TOTAL):
        return _rating_rows(await _rating_recount(scope, period, by, as_of), by)
    months, edges = split(period)
    found = []
    if months is not None:
        found += await _rating_rollup(months, as_of)
    for edge in edges:
        found += await _rating_recount(scope, edge, by, as_of)
    return _rating_rows(found, by)


async def rating_recount(scope: Q, period: Period, by: RatingDimension, as_of: date) -> list[RatingRow]:
    """`rating_stats` counted from the ratings alone (the rollup is held to it)."""
    return _rating_rows(await _rating_recount(scope, period, by, as_of), by)


async def _rating_recount(scope: Q, period: Period, by: RatingDimension, as_of: date) -> list[dict]:
    ratings = Evaluation.filter(scope)
    if period.first_day is not None:
        ratings = ratings.filter(rated_at__gte=_start(period.first_day))
    if period.last_day is not None:
        ratings = ratings.filter(rated_at__lt=_start(period.last_day, 1))
    open_ = Q(rectification_due_date__isnull=False, rectified_at__isnull=True)
    figures = dict(
        ratings=Count("id"),
        score_sum=Sum("score"),
        bad=Count("id", _filter=Q(score__lte=2)),
        rectifications_open=Count("id", _filter=open_),
        rectifications_overdue=Count("id", _filter=open_ & Q(rectification_due_date__lt=as_of)),
        rectifications_closed=Count("id", _filter=Q(rectified_at__isnull=False)),
        **{f"level_{n}": Count("id", _filter=Q(score=n)) for n in LEVELS},
    )
    query, names = ratings.annotate(**figures), list(figures)
    key = RATING_KEYS.get(by)
    if key is None:
        return await query.values(*names)
    rows = await query.group_by(key).values(*names, key)
    for row in rows:
        row["key"] = row.pop(key)
    return rows


async def _rating_rollup(months: Period, as_of: date) -> list[dict]:
    rows = _in_months(RatingRollup.all(), months)
    open_ = Q(rectification=Rectification.OPEN)
    figures = dict(
        ratings=Sum("ratings"),
        score_sum=Sum(RawSQL('"score" * "ratings"')),
        bad=Sum("ratings", _filter=Q(score__lte=2)),
        rectifications_open=Sum("ratings", _filter=open_),
        rectifications_overdue=Sum("ratings", _filter=open_ & Q(due_date__lt=as_of)),
        rectifications_closed=Sum("ratings", _filter=Q(rectification=Rectification.CLOSED)),
        **{f"level_{n}": Sum("ratings", _filter=Q(score=n)) for n in LEVELS},
    )
    return await rows.annotate(**figures).values(*figures)


def _rating_rows(raw: list[dict], by: RatingDimension) -> list[RatingRow]:
    """Rows of the same key added up; a key with no rating gives no row."""
    totals: dict[str | None, dict[str, int]] = {}
    for row in raw:
        key = row.get("key") if by != RatingDimension.TOTAL else None
        key = None if key is None else str(key)
        held = totals.setdefault(key, dict.fromkeys(RATING_FIGURES, 0))
        for name in RATING_FIGURES:
            held[name] += int(row[name] or 0)
    out = [
        RatingRow(
            key=key,
            ratings=t["ratings"],
            average_score=t["score_sum"] / t["ratings"],
            by_level={n: t[f"level_{n}"] for n in LEVELS},
            bad=t["bad"],
            rectifications_open=t["rectifications_open"],
            rectifications_overdue=t["rectifications_overdue"],
            rectifications_closed=t["rectifications_closed"],
        )
        for key, t in totals.items()
        if t["ratings"]
    ]
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
    everything = Scope.all()
    center_ids = await Organization.filter(tier=Tier.CENTER).values_list("id", flat=True)
    handled_there = Q(handling_organization_id__in=list(center_ids) or [0])  # a column of both
    at_center = Scope(handled_there, handled_there, everywhere=False)
    names = dict(await Organization.all().values_list("id", "name"))

    async def rows(scope: Scope, by: Dimension) -> list[ServiceRow]:
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
