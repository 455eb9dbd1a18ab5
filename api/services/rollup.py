"""The service statistics' rollups: each accepted case counted once in each rollup, in the row of
its month of acceptance, clock state, finish and (while its clock runs) promised due date, and of
- `case_rollup`: its handling and filing organizations (an area's figures: in total, per
  organization, tier or month);
- `handling_rollup`: its handling organization (per organization or tier, for a caller who reads
  every case);
- `item_rollup`: its item (in total, per month, item or 三办 tag, for a caller who reads every case);
- `day_rollup`: its day of acceptance, the tier of its handling organization and the 三办 tags of
  its item (the days at a period's ends, in total, per month, tier or tag, for a caller who reads
  every case).

Every write that changes what a case counts for calls `shift` with the case's share before and
after, in the write's own transaction: a rolled-back step moves nothing, and the rows always equal
a recount from the cases (tests/test_rollup.py holds them to it). A tier or tags are the
organization's and the item's, not the case's: an admin who changes them moves the day rows of
their cases (`relabel`, from the organization's and the item's write hooks). `rebuild` recounts
the tables from the cases (`sanji stats rebuild`, the migrations that create them, bulk loads).

Figures that depend on the day they are read (overdue, due soon) stay exact because running cases
keep their promised due date in the row's key: "overdue on as_of" is a sum over the rows whose
date is before it.

Why these grains (docs/workflow.md, "Where the figures come from"): on the 100-district data (1M
cases, 1,111 handling organizations, 212 items, 24 months) handling x filing organization x month
gives 235k rows, handling organization x month 40k and item x month 13k, while handling
organization x item x month would give 749k, hardly fewer than the cases; per day, tier and tags
18k (37 a day), while per day and handling organization 441k. Per-item figures of one area, and
per organization for the days at a period's ends, are counted from the cases, which their
indexes find.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from tortoise.models import Model

from api.db import dialect_sql
from api.models.case import (
    Case,
    CaseRollup,
    CaseStatus,
    ClockState,
    DayRollup,
    Finish,
    HandlingRollup,
    ItemRollup,
)
from api.services import rating_rollup
from api.services.rollup_rows import differing, insert_all, scan, take_out
from api.services.workflow import RUNNING
from api.stored_values import bound_day, stored_day

SUMS = ("cases", "trips_saved", "working_days", "timed")


@dataclass(frozen=True)
class Share:
    """What one accepted case counts for: its grouping values and its amounts."""

    handling: int
    submitted: int
    item: int
    month: date
    day: date
    clock: ClockState
    finish: Finish
    due_date: date | None
    trips_saved: int
    working_days: int | None

    @property
    def amounts(self) -> tuple[int, int, int, int]:
        timed = self.working_days is not None
        return (1, self.trips_saved, self.working_days or 0, int(timed))


@dataclass(frozen=True)
class Labels:
    """What a case counts under that is not the case's own: its handling organization's tier and
    its item's 三办 tags, as they stand (`labels_of`; an admin who changes one calls `relabel`)."""

    tier: str
    tag_immediate: bool
    tag_online: bool
    tag_one_visit: bool

    @classmethod
    def of(cls, tier: str, immediate: Any, online: Any, one_visit: Any) -> Labels:
        # SQLite gives the flags as 0 and 1: as bools, every row's key spells them alike.
        return cls(str(tier), bool(immediate), bool(online), bool(one_visit))

    def values(self) -> tuple[Any, ...]:
        return (self.tier, self.tag_immediate, self.tag_online, self.tag_one_visit)


LABEL_COLUMNS = ("tier", "tag_immediate", "tag_online", "tag_one_visit")
TAG_SELECTION = ", ".join(f'"{tag}"' for tag in LABEL_COLUMNS[1:])  # the item's, in label order


@dataclass(frozen=True)
class Grain:
    """One rollup table: its model, the columns that, with the common ones, key its rows, and
    whether the case's `Labels` key them too."""

    model: type[Model]
    columns: tuple[tuple[str, str], ...]  # (table column, Share attribute)
    labelled: bool = False

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def key(self, found: Share, labels: Labels | None) -> str:
        due = found.due_date.isoformat() if found.due_date else "-"
        own = ":".join(str(getattr(found, name)) for _, name in self.columns)
        if self.labelled:
            own += ":" + ":".join(str(value) for value in labels.values())
        return f"{own}:{found.month.isoformat()}:{found.clock.value}:{found.finish.value}:{due}"

    def values(
        self, found: Share, labels: Labels | None, amounts: Iterable[int], postgres: bool
    ) -> list[Any]:
        return [
            self.key(found, labels),
            *(_bound(getattr(found, name), postgres) for _, name in self.columns),
            *(labels.values() if self.labelled else ()),
            bound_day(found.month, postgres),
            found.clock.value,
            found.finish.value,
            bound_day(found.due_date, postgres),
            *amounts,
        ]

    # The statements, with `{}` for each parameter (dialect_sql makes them the database's own);
    # written once per table, not at each step.
    @cached_property
    def insert_sql(self) -> str:
        own = (*(column for column, _ in self.columns), *(LABEL_COLUMNS if self.labelled else ()))
        columns = ("key", *own, "month", "clock", "finish", "due_date", *SUMS)
        quoted = ", ".join(f'"{column}"' for column in columns)
        marks = ", ".join("{}" for _ in columns)
        return f"INSERT INTO {self.table} ({quoted}) VALUES ({marks})"

    @cached_property
    def drop_empty_sql(self) -> str:
        return f'DELETE FROM {self.table} WHERE "key" = {{}} AND "cases" = 0'

    @cached_property
    def update_sql(self) -> str:
        added = ", ".join(f'"{column}" = "{column}" + {{}}' for column in SUMS)
        return f'UPDATE {self.table} SET {added} WHERE "key" = {{}} RETURNING "cases"'

    @cached_property
    def upsert_sql(self) -> str:
        added = ", ".join(f'"{column}" = {self.table}."{column}" + excluded."{column}"' for column in SUMS)
        return f'{self.insert_sql} ON CONFLICT ("key") DO UPDATE SET {added}'


def _bound(value: Any, postgres: bool) -> Any:
    return bound_day(value, postgres) if isinstance(value, date) else value


GRAINS = (
    Grain(
        CaseRollup,
        (("handling_organization_id", "handling"), ("submitted_at_organization_id", "submitted")),
    ),
    Grain(HandlingRollup, (("handling_organization_id", "handling"),)),
    Grain(ItemRollup, (("item_id", "item"),)),
    Grain(DayRollup, (("day", "day"),), labelled=True),
)
ROLLUP_TABLES = (*(grain.table for grain in GRAINS), rating_rollup.TABLE)


def clock_of(status: CaseStatus) -> ClockState:
    if status in RUNNING:
        return ClockState.RUNNING
    if status == CaseStatus.SUPPLEMENT_REQUESTED:
        return ClockState.PAUSED
    return ClockState.STOPPED


def finish_of(completed_on: date | None, promised_due_date: date | None) -> Finish:
    if completed_on is None:
        return Finish.NONE
    if promised_due_date is None:
        return Finish.UNDATED
    return Finish.ON_TIME if completed_on <= promised_due_date else Finish.LATE


def share(case: Case | SimpleNamespace) -> Share | None:
    """The case's share of the rollups; None before it is accepted (it counts for nothing yet)."""
    if case.accepted_on is None:
        return None
    clock = clock_of(CaseStatus(case.status))
    return Share(
        handling=case.handling_organization_id,
        submitted=case.submitted_at_organization_id,
        item=case.item_id,
        month=case.accepted_on.replace(day=1),
        day=case.accepted_on,
        clock=clock,
        finish=finish_of(case.completed_on, case.promised_due_date),
        due_date=case.promised_due_date if clock == ClockState.RUNNING else None,
        trips_saved=case.trips_saved or 0,
        working_days=case.working_days_taken,
    )


Totals = dict[str, tuple[Share, Labels | None, list[int]]]


def _add(totals: Totals, grain: Grain, found: Share, labels: Labels | None, sign: int) -> None:
    _, _, amounts = totals.setdefault(grain.key(found, labels), (found, labels, [0] * len(SUMS)))
    for index, amount in enumerate(found.amounts):
        amounts[index] += sign * amount


async def shift(before: Share | None, after: Share | None) -> None:
    """Move a case's count from the rows of `before` to the rows of `after` (either may be None),
    in the caller's transaction. Rows are written in key order, so two steps that touch the same
    rows lock them in the same order; a row left with no case is deleted."""
    if before == after:
        return
    connection = CaseRollup._meta.db
    either = after or before
    labels = await labels_of(connection, either.handling, either.item)
    for grain in GRAINS:
        changes: Totals = {}
        for found, sign in ((before, -1), (after, 1)):
            if found is not None:
                _add(changes, grain, found, labels, sign)
        await _write(connection, grain, changes)


async def _write(connection: Any, grain: Grain, changes: Totals) -> None:
    """Add `changes` to the grain's rows, in key order."""
    postgres = connection.capabilities.dialect == "postgres"
    upsert = dialect_sql(grain.upsert_sql, connection.query_class)
    for key in sorted(changes):
        found, labels, amounts = changes[key]
        if not any(amounts):
            continue
        if amounts[0] > 0:  # cases join the row: the row may be new
            await connection.execute_query(upsert, grain.values(found, labels, amounts, postgres))
            continue
        # Cases leave the row, or their amounts change in it: the row holds them already (an
        # upsert would check the negative amounts as a new row's before finding the old one).
        await take_out(
            connection, grain.update_sql, grain.drop_empty_sql, amounts, key, grain.table, "a case"
        )


async def labels_of(connection: Any, organization_id: int, item_id: int) -> Labels:
    """The tier and tags a case of this handling organization and item counts under now. On
    PostgreSQL both rows are read FOR SHARE: an admin's change of either (`relabel`, which counts
    the cases as committed) waits for this step to commit, or this step for it, so the step moves
    its case under the labels `relabel` left it in."""
    lock = " FOR SHARE" if connection.capabilities.dialect == "postgres" else ""
    select = dialect_sql(
        f'SELECT o."tier", {TAG_SELECTION} FROM "organization" AS o, "item" AS i '
        'WHERE o."id" = {} AND i."id" = {}' + lock,
        connection.query_class,
    )
    rows = await connection.execute_query_dict(select, [organization_id, item_id])
    return Labels.of(*rows[0].values())


async def relabel(column: str, own: int, was: dict[str, Any], connection: Any | None = None) -> int:
    """Move the cases whose `column` (handling_organization_id or item_id) is `own` from the day
    rows of the labels they had before a write (`was`: the changed ones, e.g. the organization's
    tier) to those of their labels now, in the write's transaction, after it. Returns how many
    cases moved (none when the write changed no label)."""
    if not was:
        return 0
    connection = connection or CaseRollup._meta.db
    (grain,) = (g for g in GRAINS if g.labelled)
    if connection.capabilities.dialect == "postgres":
        # One relabel at a time (the mode conflicts with itself, not with the steps' row writes):
        # a second waits, then reads the labels the first committed; two at once (a tier and an
        # item's tags) would each move the cases they share from the labels the other is changing.
        await connection.execute_script(f"LOCK TABLE {grain.table} IN SHARE UPDATE EXCLUSIVE MODE")
    labels_now = await _labels(connection)
    changes: Totals = {}
    moved = 0
    where = f"accepted_on IS NOT NULL AND {column} = {int(own)}"
    async for rows in scan(connection, Case._meta.db_table, ", ".join(_CASE_COLUMNS), where):
        for found in _shares(rows):
            now = labels_now(found)
            then = replace(now, **was)
            _add(changes, grain, found, then, -1)
            _add(changes, grain, found, now, 1)
            moved += 1
    await _write(connection, grain, changes)
    return moved


async def organization_written(organization: Any, before: dict[str, Any] | None) -> None:
    """An organization's write hook: a changed tier moves the day rows of the cases it handles."""
    if before is not None and before["tier"] != organization.tier:
        await relabel("handling_organization_id", organization.pk, {"tier": before["tier"]})


async def item_written(item: Any, before: dict[str, Any] | None) -> None:
    """An item's write hook: changed 三办 tags (they follow its kind, online and visits) move the
    day rows of its cases."""
    if before is not None:
        was = {tag: before[tag] for tag in LABEL_COLUMNS[1:] if before[tag] != getattr(item, tag)}
        await relabel("item_id", item.pk, was)


async def _labels(connection: Any) -> Callable[[Share], Labels]:
    """The labels of a case's share, from every organization's tier and every item's tags as they
    stand (read once, for a recount or a relabel of many cases)."""
    rows = await connection.execute_query_dict('SELECT "id", "tier" FROM "organization"')
    tiers = {row["id"]: row["tier"] for row in rows}
    rows = await connection.execute_query_dict(f'SELECT "id", {TAG_SELECTION} FROM "item"')
    tags = {row["id"]: tuple(row[tag] for tag in LABEL_COLUMNS[1:]) for row in rows}
    return lambda found: Labels.of(tiers[found.handling], *tags[found.item])


_CASE_COLUMNS = (
    "handling_organization_id",
    "submitted_at_organization_id",
    "item_id",
    "accepted_on",
    "status",
    "completed_on",
    "promised_due_date",
    "trips_saved",
    "working_days_taken",
)


async def rebuild(
    connection: Any | None = None, *, ratings: bool = True, tables: Iterable[str] | None = None
) -> dict[str, int]:
    """Recount the rollups from the cases, in the caller's transaction; returns each table's rows.
    `tables`: only these of the cases' rollups (a migration rebuilds those it creates).

    On PostgreSQL the rollups are locked against writes first: a step that runs meanwhile waits,
    then moves its case from the share the recount saw (its own change was not committed yet) to
    its new one, so the rebuilt rows stay exact under load."""
    connection = connection or CaseRollup._meta.db
    postgres = connection.capabilities.dialect == "postgres"
    grains = GRAINS if tables is None else tuple(g for g in GRAINS if g.table in set(tables))
    if postgres:
        locked = [grain.table for grain in grains] + ([rating_rollup.TABLE] if ratings else [])
        await connection.execute_script(f"LOCK TABLE {', '.join(locked)} IN EXCLUSIVE MODE")
    totals = await _recounted(connection, grains)
    written = {}
    for grain in grains:
        await connection.execute_query(f"DELETE FROM {grain.table}")
        values = [grain.values(*total, postgres) for total in totals[grain.table].values()]
        await insert_all(connection, grain.insert_sql, values)
        written[grain.table] = len(values)
    if ratings:  # not before migration 0017 made their table
        written[rating_rollup.TABLE] = await rating_rollup.rebuild(connection)
    return written


async def differences(connection: Any | None = None) -> dict[str, list[str]]:
    """The keys of the rows in which each rollup differs from a recount of the cases (empty lists:
    it is exact); writes nothing."""
    connection = connection or CaseRollup._meta.db
    totals = await _recounted(connection)
    found: dict[str, list[str]] = {}
    for grain in GRAINS:
        stored = {
            row["key"]: [row[name] for name in SUMS]
            for row in await connection.execute_query_dict(
                f'SELECT "key", {", ".join(SUMS)} FROM {grain.table}'
            )
        }
        counted = {key: amounts for key, (_, _, amounts) in totals[grain.table].items()}
        found[grain.table] = differing(stored, counted)
    found[rating_rollup.TABLE] = await rating_rollup.differences(connection)
    return found


async def _recounted(connection: Any, grains: tuple[Grain, ...] = GRAINS) -> dict[str, Totals]:
    """The rollups' rows as the cases give them: the cases read in id order a batch at a time and
    summed by the same `share` the steps use, so a rebuilt table and one kept step by step cannot
    differ in how they count."""
    totals: dict[str, Totals] = {grain.table: {} for grain in grains}
    labels_of_share = await _labels(connection)
    columns = ", ".join(_CASE_COLUMNS)
    async for rows in scan(connection, Case._meta.db_table, columns, "accepted_on IS NOT NULL"):
        for found in _shares(rows):
            labels = labels_of_share(found)
            for grain in grains:
                _add(totals[grain.table], grain, found, labels, 1)
    return totals


def _shares(rows: Iterable[dict[str, Any]]) -> Iterable[Share]:
    for row in rows:
        for column in ("accepted_on", "completed_on", "promised_due_date"):
            row[column] = stored_day(row[column])
        found = share(SimpleNamespace(**row))
        if found is not None:
            yield found
