"""What the cases' rollups (api/services/rollup.py) and the ratings' (api/services/rating_rollup.py)
do alike with their rows: read the source table in batches, write rows in batches, take a counted
row out of its rollup row, and compare stored rows with a recount."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from api.db import dialect_sql

BATCH = 1000


async def scan(connection: Any, table: str, columns: str, where: str = "TRUE") -> AsyncIterator[list[dict]]:
    """The table's rows meeting `where`, in id order, ten batches' worth at a time."""
    mark = dialect_sql("{}", connection.query_class)
    select = f"SELECT id, {columns} FROM {table} WHERE {where} AND id > {mark} ORDER BY id LIMIT {BATCH * 10}"
    last = 0
    while rows := await connection.execute_query_dict(select, [last]):
        last = rows[-1]["id"]
        yield rows


async def insert_all(connection: Any, insert: str, values: list[list[Any]]) -> None:
    """`insert` (a template with `{}` per column) for every row of `values`, a batch at a time."""
    statement = dialect_sql(insert, connection.query_class)
    for start in range(0, len(values), BATCH):
        await connection.execute_many(statement, values[start : start + BATCH])


async def take_out(
    connection: Any, update: str, drop: str, amounts: list[int], key: str, table: str, counted: str
) -> None:
    """Add `amounts` (negative: something leaves) to the rollup row `key` through `update`
    (`... WHERE "key" = {} RETURNING <count>`), deleting the row through `drop` once it counts
    nothing. The row must be there: when it is not, the rollup was changed outside Sanji."""
    rows = await connection.execute_query_dict(dialect_sql(update, connection.query_class), [*amounts, key])
    if not rows:
        raise RuntimeError(
            f"the {table} row {key} that {counted} is counted in is missing: the rollup was changed "
            "outside Sanji; run `sanji stats rebuild`"
        )
    if next(iter(rows[0].values())) == 0:
        await connection.execute_query(dialect_sql(drop, connection.query_class), [key])


def differing(stored: dict[str, Any], counted: dict[str, Any]) -> list[str]:
    """The keys whose stored values differ from the recounted ones (or that only one side has)."""
    return sorted(key for key in stored.keys() | counted.keys() if stored.get(key) != counted.get(key))
