"""Writing rows in bulk inside the loader's transaction: PostgreSQL COPY with the big tables'
secondary indexes, unique and foreign-key constraints set aside and rebuilt (and so validated) at
the end; SQLite executemany with its plain indexes rebuilt and `PRAGMA foreign_key_check` at the end.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from api.errors import DomainError
from seeds.synthetic.tables import COLUMNS, NUMBERED_BY_DATABASE, NUMBERED_HERE

# Indexes that back no constraint (the primary key stays: ids arrive in ascending order).
_PLAIN_INDEXES = """
SELECT format('DROP INDEX %s', i.indexrelid::regclass) AS drop, pg_get_indexdef(i.indexrelid) AS restore
FROM pg_index i
WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary
  AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')
  )
ORDER BY i.indexrelid
"""
# Unique constraints first, then foreign keys: re-adding a foreign key checks every row.
_CONSTRAINTS = """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
       AS restore
FROM pg_constraint
WHERE conrelid = ANY($1::regclass[]) AND contype IN ('u', 'f')
ORDER BY contype DESC, oid
"""


class PostgresWriter:
    """COPY into the transaction's own asyncpg connection (the ORM's rows are visible to it)."""

    def __init__(self, transaction) -> None:
        self.transaction = transaction
        self.restore: list[str] = []

    async def prepare(self, bulk_tables: tuple[str, ...]) -> None:
        async with self.transaction.acquire_connection() as raw:
            # Memory for the index builds and the foreign-key checks at the end.
            await raw.execute("SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL work_mem = '256MB'")
            constraints = await raw.fetch(_CONSTRAINTS, list(bulk_tables))
            indexes = await raw.fetch(_PLAIN_INDEXES, list(bulk_tables))
            for row in [*indexes, *constraints]:
                await raw.execute(row["drop"])
            unique = [r["restore"] for r in constraints if " UNIQUE " in r["restore"]]
            foreign = [r["restore"] for r in constraints if " UNIQUE " not in r["restore"]]
            self.restore = unique + [r["restore"] for r in indexes] + foreign
            # Rows nothing refers to take ids from their sequence in the order written: from the
            # table's highest id, whatever an earlier, rolled-back load took from the sequence.
            for table in NUMBERED_BY_DATABASE:
                await raw.execute(_restart_sequence(table))

    async def write(self, table: str, data: bytes) -> None:
        async with self.transaction.acquire_connection() as raw:
            await raw.copy_to_table(
                table, source=io.BytesIO(data), columns=list(COLUMNS[table]), format="text"
            )

    async def finish(self, say) -> None:
        async with self.transaction.acquire_connection() as raw:
            for statement in self.restore:
                say(statement.split(" USING ")[0].split(" FOREIGN KEY ")[0])
                await raw.execute(statement)
            for table in NUMBERED_HERE:
                await raw.execute(_restart_sequence(table))


def _restart_sequence(table: str) -> str:
    """Move the id sequence just past the table's highest id."""
    sequence = f"pg_get_serial_sequence('{table}', 'id')"
    return f"SELECT setval({sequence}, COALESCE(MAX(id), 0) + 1, false) FROM {table}"


class SqliteWriter:
    """executemany on the transaction's connection; plain indexes dropped while the tables fill."""

    def __init__(self, transaction) -> None:
        self.transaction = transaction
        self.restore: list[str] = []

    async def prepare(self, bulk_tables: tuple[str, ...]) -> None:
        marks = ", ".join("?" for _ in bulk_tables)
        indexes = await self.transaction.execute_query_dict(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name",
            list(bulk_tables),
        )
        for index in indexes:
            await self.transaction.execute_script(f'DROP INDEX "{index["name"]}"')
        self.restore = [index["sql"] for index in indexes]

    async def write(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        for start in range(0, len(rows), 20_000):
            await self.transaction.execute_many(sql, rows[start : start + 20_000])

    async def finish(self, say) -> None:
        for statement in self.restore:
            say(statement)
            await self.transaction.execute_script(statement)
        broken = await self.transaction.execute_query_dict("PRAGMA foreign_key_check")
        if broken:
            raise DomainError(
                "CONSTRAINT", f"{len(broken)} row(s) break a foreign key, e.g. {dict(broken[0])}"
            )


@asynccontextmanager
async def sqlite_bulk_session(connection) -> AsyncIterator[None]:
    """Foreign keys off and no fsync while loading (set outside the transaction, where SQLite
    takes them); `SqliteWriter.finish` checks every foreign key before the commit."""
    rows = await connection.execute_query_dict("PRAGMA synchronous")
    synchronous = rows[0]["synchronous"]
    await connection.execute_script("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        await connection.execute_script(f"PRAGMA foreign_keys = ON; PRAGMA synchronous = {int(synchronous)}")
