"""The ratings' rollup (`rating_rollup`): each rating counted once, in the row of its month of
rating (Beijing time), its score and its rectification's state (with the due date while it is
open), so that ratingStats over every case sums a few hundred rows instead of every rating.

As with the cases' rollups (api/services/rollup.py), each write that changes what a rating counts
for moves it between rows in its own transaction (a rating given, a rectification closed), and
`rebuild` recounts the table (`sanji stats rebuild`, the migration that creates it, bulk loads).
tests/test_rollup.py holds it to a recount from the ratings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from api.db import dialect_sql
from api.models.case import Evaluation, RatingRollup, Rectification
from api.services.deadlines import DISTRICT_ZONE
from api.services.rollup_rows import differing, insert_all, scan, take_out
from api.stored_values import bound_day, stored_day, stored_moment

TABLE = RatingRollup._meta.db_table
COLUMNS = ("key", "month", "score", "rectification", "due_date", "ratings")
_INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('{}' for _ in COLUMNS)})"
_UPSERT = _INSERT + f' ON CONFLICT ("key") DO UPDATE SET ratings = {TABLE}.ratings + excluded.ratings'
_UPDATE = f'UPDATE {TABLE} SET ratings = ratings + {{}} WHERE "key" = {{}} RETURNING ratings'
_DROP = f'DELETE FROM {TABLE} WHERE "key" = {{}} AND ratings = 0'


@dataclass(frozen=True)
class RatingShare:
    month: date
    score: int
    rectification: Rectification
    due_date: date | None

    @property
    def key(self) -> str:
        due = self.due_date.isoformat() if self.due_date else "-"
        return f"{self.month.isoformat()}:{self.score}:{self.rectification.value}:{due}"


def local_day(moment: Any) -> date:
    return stored_moment(moment).astimezone(DISTRICT_ZONE).date()


def share(rating: Any) -> RatingShare:
    due = stored_day(rating.rectification_due_date)
    # As ratingStats counts them: closed once rectified, open while due and not rectified.
    if rating.rectified_at is not None:
        state = Rectification.CLOSED
    elif due is not None:
        state = Rectification.OPEN
    else:
        state = Rectification.NONE
    return RatingShare(
        month=local_day(rating.rated_at).replace(day=1),
        score=int(rating.score),
        rectification=state,
        due_date=due if state == Rectification.OPEN else None,
    )


def _values(found: RatingShare, ratings: int, postgres: bool) -> list[Any]:
    month, due = bound_day(found.month, postgres), bound_day(found.due_date, postgres)
    return [found.key, month, found.score, found.rectification.value, due, ratings]


async def shift(before: RatingShare | None, after: RatingShare | None) -> None:
    """Move a rating from the row of `before` to the row of `after`, in the caller's transaction."""
    if before == after:
        return
    connection = RatingRollup._meta.db
    postgres = connection.capabilities.dialect == "postgres"
    moves = sorted(
        [(found.key, found, sign) for found, sign in ((before, -1), (after, 1)) if found is not None],
        key=lambda move: move[0],
    )
    for key, found, sign in moves:  # in key order, as the cases' rollups
        if sign > 0:
            await connection.execute_query(
                dialect_sql(_UPSERT, connection.query_class), _values(found, 1, postgres)
            )
            continue
        await take_out(connection, _UPDATE, _DROP, [-1], key, TABLE, "a rating")


async def _recounted(connection: Any) -> dict[str, tuple[RatingShare, int]]:
    totals: dict[str, tuple[RatingShare, int]] = {}
    columns = "score, rated_at, rectification_due_date, rectified_at"
    async for rows in scan(connection, Evaluation._meta.db_table, columns):
        for row in rows:
            found = share(_Row(row))
            held = totals.get(found.key)
            totals[found.key] = (found, (held[1] if held else 0) + 1)
    return totals


class _Row:
    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


async def rebuild(connection: Any) -> int:
    """Recount the table from the ratings, in the caller's transaction; returns its rows."""
    postgres = connection.capabilities.dialect == "postgres"
    totals = await _recounted(connection)
    await connection.execute_query(f"DELETE FROM {TABLE}")
    values = [_values(found, count, postgres) for found, count in totals.values()]
    await insert_all(connection, _INSERT, values)
    return len(values)


async def differences(connection: Any) -> list[str]:
    """The keys of the rows that differ from a recount (empty: exact); writes nothing."""
    counted = {key: count for key, (_, count) in (await _recounted(connection)).items()}
    stored = {
        row["key"]: row["ratings"]
        for row in await connection.execute_query_dict(f'SELECT "key", ratings FROM {TABLE}')
    }
    return differing(stored, counted)
