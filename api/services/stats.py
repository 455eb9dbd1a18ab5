"""Service statistics (三办 figures) in SQL: one grouped statement per question, on stored case columns.

Basis (documented in docs/workflow.md): a case belongs to the period in which it was accepted.
- 办结率 (completion rate) = completed / accepted
- 限时办结率 (on-time rate) = completed on or before the promised due date / completed
- overdue = open (not paused) past the promised due date on `as_of`, plus completed late
- due soon = open (not paused) and due between `as_of` and `soon` (a few working days ahead)
- average working days = acceptance to completion, supplement pauses left out
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q

from api.db import statement_of
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


# The column a grouping's rows are keyed by (the rollups' month; the cases' is their day's month).
KEY_COLUMNS = {
    Dimension.ORGANIZATION: "handling_organization_id",
    Dimension.ITEM: "item_id",
    Dimension.MONTH: "month",
}
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
        return rounded(self.completed, self.accepted)

    @property
    def on_time_rate(self) -> float | None:
        return rounded(self.completed_on_time, self.completed)

    @property
    def overdue(self) -> int:
        return self.overdue_open + self.completed_late

    @property
    def average_working_days(self) -> float | None:
        return rounded(self.working_days, self.timed)


FIGURES = tuple(f.name for f in fields(ServiceRow) if f.name != "key")
PLACES = 4  # decimals of the rates and averages the API gives


def rounded(numerator: int, denominator: int, places: int = PLACES) -> float | None:
    """numerator / denominator rounded half up (四舍五入) to `places` decimals, from the exact ratio
    of the integers (a float's own rounding would take 1/32 = 0.03125 down to 0.0312); None when
    the denominator is 0. The statement of `schema/domain/service.py` that builds the rows' JSON
    rounds the same ratio the same way in PostgreSQL (round() of a numeric)."""
    if not denominator:
        return None
    scale = 10**places
    return ((2 * numerator * scale + denominator) // (2 * denominator)) / scale


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


@dataclass(frozen=True)
class Figures:
    """How one kind of row adds up to the figures: the columns it reads, and each figure as SQL
    over them (the days judged on written in as literals)."""

    columns: tuple[str, ...]
    sql: dict[str, str]


def _day(day: date, dialect: str) -> str:
    """A date as a literal of the statement (from a date, nothing to escape); SQLite keeps ISO text."""
    return f"DATE '{day.isoformat()}'" if dialect == "postgres" else f"'{day.isoformat()}'"


def _count(condition: str) -> str:
    return f"COUNT(*) FILTER (WHERE {condition})"


def _sum(column: str, condition: str) -> str:
    return f'SUM("{column}") FILTER (WHERE {condition})'


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
    found = []
    for rows, figures in _pieces(scope, period, by):
        found += await _figures(rows, by, as_of, soon, figures)
    return _merged(found, by)


def statements(
    scope: Scope, period: Period, by: Dimension, as_of: date, soon: date
) -> list[tuple[str, list[Any], Any]]:
    """The statements (SQL, parameters, database) whose rows, each a key and the FIGURES, add up per
    key to `service_stats`'s rows (not per TAG, whose sums are added up here); for a statement of
    one's own around them."""
    if by == Dimension.TAG:
        raise ValueError("the figures per tag are added up in Python")
    return [_statement(rows, by, as_of, soon, figures) for rows, figures in _pieces(scope, period, by)]


def _pieces(scope: Scope, period: Period, by: Dimension) -> list[tuple[Any, Any]]:
    """(rows, how they add up to the figures) for the whole months and the days at the ends."""
    rollup = _rollup_for(scope, by)
    if rollup is None:
        return [(_accepted(scope.cases, period), _counted)]
    months, edges = split(period)
    found: list[tuple[Any, Any]] = []
    if months is not None:
        found.append((_in_months(rollup, months), _rolled_up))
    if edges and scope.everywhere and by in DAY_ROLLUP_ANSWERS:  # both ends in one statement
        found.append((DayRollup.filter(_on_days(edges, "day")), _rolled_up))
    elif edges:
        found.append((_accepted(scope.cases, *edges), _counted))
    return found


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
    return _merged(await _figures(_accepted(scope, period), by, as_of, soon, _counted), by)


MAX_LISTED_DAYS = 62  # the ends of a period, each shorter than a month


def _accepted(scope: Q, *periods: Period):
    """The accepted cases in `scope` of any of `periods` (the ends of a period: one statement).
    A few days are listed (`accepted_on IN (...)`), which PostgreSQL reads from the index of the
    day and the figures' columns alone (an index-only scan: 22 → 13 ms for the province's 40,000
    cases of two ends), where ranges joined by OR take a bitmap scan of the table's wide rows."""
    days = _listed(periods)
    if days is not None:
        return Case.filter(scope, accepted_on__in=days)
    return Case.filter(scope, _on_days(periods, "accepted_on"), accepted_on__isnull=False)


def _listed(periods: Iterable[Period]) -> list[date] | None:
    """Every day of `periods`, when they are bounded and hold at most MAX_LISTED_DAYS in all."""
    days: list[date] = []
    for period in periods:
        first, last = period.first_day, period.last_day
        if first is None or last is None or len(days) + (last - first).days + 1 > MAX_LISTED_DAYS:
            return None
        days += [first + timedelta(n) for n in range((last - first).days + 1)]
    return days


def _on_days(periods: Iterable[Period], column: str, moments: bool = False) -> Q:
    """The days of any of `periods`, as one condition on a date column or (`moments`) a timestamp
    column, compared with the district's midnights."""
    conditions = []
    for period in periods:
        bounds: dict[str, Any] = {}
        if period.first_day is not None:
            bounds[f"{column}__gte"] = _start(period.first_day) if moments else period.first_day
        if period.last_day is not None and moments:
            bounds[f"{column}__lt"] = _start(period.last_day, 1)
        elif period.last_day is not None:
            bounds[f"{column}__lte"] = period.last_day
        conditions.append(Q(**bounds))
    return functools.reduce(operator.or_, conditions)


def _in_months(rows, months: Period):
    return rows.filter(_on_days([months], "month"))


async def _figures(rows, by: Dimension, as_of: date, soon: date, figures) -> list[dict[str, Any]]:
    """The figures of `rows` (cases or rollup rows, whose `figures` say how to sum them) per key,
    as the driver gives them (`_merged` makes them rows)."""
    if by == Dimension.TAG:
        return await _per_tag(rows, figures(as_of, soon, rows.model._meta.db.capabilities.dialect))
    statement, parameters, connection = _statement(rows, by, as_of, soon, figures)
    return await connection.execute_query_dict(statement, parameters)


def _statement(rows, by: Dimension, as_of: date, soon: date, figures) -> tuple[str, list[Any], Any]:
    """The statement of `rows`' figures per key of `by` (not TAG): a "key" column and the FIGURES."""
    dialect = rows.model._meta.db.capabilities.dialect
    summed = figures(as_of, soon, dialect)
    if by == Dimension.TIER:
        return _per_tier(rows, summed)
    if by == Dimension.TOTAL:
        return _summing(rows, summed)
    if by == Dimension.MONTH and rows.model is Case:  # the cases keep the day; the rollups, the month
        column, key = "accepted_on", month_sql("accepted_on", dialect)
    else:
        column = KEY_COLUMNS[by]
        key = f'"{column}"'
    return _summing(rows, summed, {"key": key}, (column,))


async def _per_tag(rows, figures: Figures) -> list[dict[str, Any]]:
    """The figures per 三办 tag (an item with two tags counts in both): summed per item (or, in the
    day rollup, per set of tags) in one statement, then each tag's sums added up here, instead of
    one pass over the rows per tag (a province's period ends: six statements over the cases
    become two)."""
    if rows.model is DayRollup:
        columns = tuple(TAGS.values())
        found = await _summed(rows, figures, {c: f'"{c}"' for c in columns}, columns)
        flagged = [(dict(zip(TAGS, (r[c] for c in columns), strict=True)), r) for r in found]
    else:
        found = await _summed(rows, figures, {"key": '"item_id"'}, ("item_id",))
        ids = [r["key"] for r in found]
        flags = await Item.filter(id__in=ids).values_list("id", *TAGS.values()) if ids else []
        tagged = {item: dict(zip(TAGS, tags, strict=True)) for item, *tags in flags}
        flagged = [(tagged[r["key"]], r) for r in found]
    totals = {tag: dict.fromkeys(FIGURES, 0) for tag in TAGS}  # every tag has its row
    for flags, found_row in flagged:
        for tag in TAGS:
            if flags[tag]:
                _add_up(totals[tag], found_row)
    return [{"key": tag, **totals[tag]} for tag in TAGS]


def _per_tier(rows, figures: Figures) -> tuple[str, list[Any], Any]:
    """The statement of the figures per tier of the handling organization: the day rollup keeps
    the tier; other rows are summed per organization first, then the organizations' sums per
    tier, so the join reads one row per organization instead of one per case or rollup row (the
    province's rollup: 45 → 29 ms; a period's end: 35 → 20 ms)."""
    if rows.model is DayRollup:
        return _summing(rows, figures, {"key": '"tier"'}, ("tier",))
    column = "handling_organization_id"
    sql, parameters, connection = _summing(rows, figures, {column: f'"{column}"'}, (column,))
    sums = ", ".join(f'SUM(per_org."{name}") AS "{name}"' for name in figures.sql)
    statement = (
        f'SELECT org."tier" AS "key", {sums} FROM ({sql}) AS per_org '
        f'JOIN "organization" AS org ON org."id" = per_org."{column}" GROUP BY org."tier"'
    )
    return statement, parameters, connection


OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN_CLOCK)


def _counted(as_of: date, soon: date, dialect: str) -> Figures:
    running, due = f'"status" IN ({OPEN_SQL})', '"promised_due_date"'
    judged, until = _day(as_of, dialect), _day(soon, dialect)
    return Figures(
        ("completed_on", "promised_due_date", "status", "trips_saved", "working_days_taken"),
        dict(
            accepted="COUNT(*)",
            completed=_count('"completed_on" IS NOT NULL'),
            completed_on_time=_count(f'"completed_on" <= {due}'),
            completed_late=_count(f'"completed_on" > {due}'),
            overdue_open=_count(f"{running} AND {due} < {judged}"),
            due_soon=_count(f"{running} AND {due} >= {judged} AND {due} <= {until}"),
            paused=_count(f"\"status\" = '{CaseStatus.SUPPLEMENT_REQUESTED.value}'"),
            trips_saved='SUM("trips_saved")',
            working_days='SUM("working_days_taken")',
            timed='COUNT("working_days_taken")',
        ),
    )


def _rolled_up(as_of: date, soon: date, dialect: str) -> Figures:
    running = f"\"clock\" = '{ClockState.RUNNING.value}'"
    judged, until = _day(as_of, dialect), _day(soon, dialect)
    return Figures(
        ("cases", "finish", "clock", "due_date", "trips_saved", "working_days", "timed"),
        dict(
            accepted='SUM("cases")',
            completed=_sum("cases", f"\"finish\" <> '{Finish.NONE.value}'"),
            completed_on_time=_sum("cases", f"\"finish\" = '{Finish.ON_TIME.value}'"),
            completed_late=_sum("cases", f"\"finish\" = '{Finish.LATE.value}'"),
            overdue_open=_sum("cases", f'{running} AND "due_date" < {judged}'),
            due_soon=_sum("cases", f'{running} AND "due_date" >= {judged} AND "due_date" <= {until}'),
            paused=_sum("cases", f"\"clock\" = '{ClockState.PAUSED.value}'"),
            trips_saved='SUM("trips_saved")',
            working_days='SUM("working_days")',
            timed='SUM("timed")',
        ),
    )


def _summing(rows, figures: Figures, by: dict[str, str] | None = None, reads: tuple[str, ...] = ()):
    """The statement (SQL, parameters, database) of `figures` over `rows`, grouped by the `by` expressions
    (output name: SQL over the columns, which `reads` names): Tortoise builds the selection of the
    rows (their filters, the caller's area), the sums are written here; Tortoise's building of
    each filtered sum as an annotation was a third of the dashboard's request."""
    by = by or {}
    selection = rows.values(*dict.fromkeys((*figures.columns, *reads)))
    sql, parameters, connection = statement_of(selection)
    selected = ", ".join(f'{expression} AS "{name}"' for name, expression in {**by, **figures.sql}.items())
    statement = f"SELECT {selected} FROM ({sql}) AS r"
    if by:
        statement += " GROUP BY " + ", ".join(by.values())
    return statement, parameters, connection


async def _summed(
    rows, figures: Figures, by: dict[str, str] | None = None, reads: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The rows of `_summing`'s statement, as the driver gives them (counts and sums stay ints)."""
    statement, parameters, connection = _summing(rows, figures, by, reads)
    return await connection.execute_query_dict(statement, parameters)


def _merged(found: list[dict[str, Any]], by: Dimension) -> list[ServiceRow]:
    """The figures of the same key added up (the rollups' months and the period's ends) as one row
    each, in key order (tags in the order of TAGS); a row is built once per key, not per piece."""
    totals: dict[str | None, dict[str, int]] = {}
    for raw in found:
        key = _key(raw.get("key"))
        held = totals.get(key)
        if held is None:  # most keys come once (whole months only): taken as they are
            totals[key] = {name: int(raw[name] or 0) for name in FIGURES}
        else:
            _add_up(held, raw)
    if by == Dimension.TAG:
        return [ServiceRow(tag, **totals[tag]) for tag in TAGS if tag in totals]
    merged = (ServiceRow(key, **figures) for key, figures in totals.items())
    return sorted(merged, key=lambda r: (r.key is None, r.key))


def _key(key: Any) -> str | None:
    if key is None or isinstance(key, str):
        return key
    return key.isoformat() if isinstance(key, date) else str(key)


def _add_up(held: dict[str, int], found: dict[str, Any]) -> None:
    for name in FIGURES:
        held[name] += int(found[name] or 0)


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
        return rounded(self.ratings - self.bad, self.ratings)


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
        return _rating_rows(await _rating_recount(scope, [period], by, as_of), by)
    months, edges = split(period)
    found = []
    if months is not None:
        found += await _rating_rollup(months, as_of)
    if edges:  # both ends in one statement
        found += await _rating_recount(scope, edges, by, as_of)
    return _rating_rows(found, by)


async def rating_recount(scope: Q, period: Period, by: RatingDimension, as_of: date) -> list[RatingRow]:
    """`rating_stats` counted from the ratings alone (the rollup is held to it)."""
    return _rating_rows(await _rating_recount(scope, [period], by, as_of), by)


async def _rating_recount(scope: Q, periods: list[Period], by: RatingDimension, as_of: date) -> list[dict]:
    """The ratings in `scope` rated in any of `periods`, summed per key of `by`."""
    ratings = Evaluation.filter(scope, _on_days(periods, "rated_at", moments=True))
    judged = _day(as_of, Evaluation._meta.db.capabilities.dialect)
    open_ = '"rectification_due_date" IS NOT NULL AND "rectified_at" IS NULL'
    figures = Figures(
        ("score", "rectification_due_date", "rectified_at"),
        dict(
            ratings="COUNT(*)",
            score_sum='SUM("score")',
            bad=_count('"score" <= 2'),
            rectifications_open=_count(open_),
            rectifications_overdue=_count(f'{open_} AND "rectification_due_date" < {judged}'),
            rectifications_closed=_count('"rectified_at" IS NOT NULL'),
            **{f"level_{n}": _count(f'"score" = {n}') for n in LEVELS},
        ),
    )
    key = RATING_KEYS.get(by)
    if key is None:
        return await _summed(ratings, figures)
    return await _summed(ratings, figures, {"key": f'"{key}"'}, (key,))


async def _rating_rollup(months: Period, as_of: date) -> list[dict]:
    judged = _day(as_of, RatingRollup._meta.db.capabilities.dialect)
    open_ = f"\"rectification\" = '{Rectification.OPEN.value}'"
    figures = Figures(
        ("ratings", "score", "rectification", "due_date"),
        dict(
            ratings='SUM("ratings")',
            score_sum='SUM("score" * "ratings")',
            bad=_sum("ratings", '"score" <= 2'),
            rectifications_open=_sum("ratings", open_),
            rectifications_overdue=_sum("ratings", f'{open_} AND "due_date" < {judged}'),
            rectifications_closed=_sum("ratings", f"\"rectification\" = '{Rectification.CLOSED.value}'"),
            **{f"level_{n}": _sum("ratings", f'"score" = {n}') for n in LEVELS},
        ),
    )
    return await _summed(_in_months(RatingRollup.all(), months), figures)


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
            average_score=rounded(t["score_sum"], t["ratings"]),
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
