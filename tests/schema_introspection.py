"""Read a live database's tables, columns, unique sets, indexes and checks, and the models' expectation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tortoise.context import TortoiseContext
from tortoise.fields.relational import OneToOneFieldInstance
from tortoise.migrations.constraints import CheckConstraint


@dataclass
class TableShape:
    columns: dict[str, bool] = field(default_factory=dict)  # name -> nullable
    unique: set[frozenset[str]] = field(default_factory=set)
    indexed: set[frozenset[str]] = field(default_factory=set)
    checks: set[str] = field(default_factory=set)


def model_shapes(ctx: TortoiseContext) -> dict[str, TableShape]:
    shapes = {}
    for model in ctx.apps.get_models_iterable():
        meta = model._meta
        shape = TableShape()
        for name, column in meta.fields_db_projection.items():
            shape.columns[column] = bool(meta.fields_map[name].null) and not meta.fields_map[name].pk
            if meta.fields_map[name].unique and not meta.fields_map[name].pk:
                shape.unique.add(frozenset({column}))
            if getattr(meta.fields_map[name], "index", False) and not meta.fields_map[name].pk:
                shape.indexed.add(frozenset({column}))
        for name, fld in meta.fields_map.items():
            if isinstance(fld, OneToOneFieldInstance):
                shape.unique.add(frozenset({fld.source_field or f"{name}_id"}))
        for index in meta.indexes:
            shape.indexed.add(frozenset(_column(meta, n) for n in index.fields))
        for together in meta.unique_together:
            shape.unique.add(frozenset(_column(meta, n) for n in together))
        shape.checks = {c.name for c in meta.constraints if isinstance(c, CheckConstraint)}
        shapes[meta.db_table] = shape
    return shapes


def _column(meta, name: str) -> str:
    return meta.fields_db_projection.get(name) or meta.fields_map[name].source_field or f"{name}_id"


async def database_shapes(ctx: TortoiseContext) -> dict[str, TableShape]:
    conn = ctx.db()
    if conn.capabilities.dialect == "sqlite":
        return await _sqlite(conn)
    return await _postgres(conn)


async def _sqlite(conn) -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    _, tables = await conn.execute_query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in tables:
        name = table["name"]
        shape = shapes.setdefault(name, TableShape())
        _, columns = await conn.execute_query(f'PRAGMA table_info("{name}")')
        for column in columns:
            shape.columns[column["name"]] = not column["notnull"] and not column["pk"]
        _, indexes = await conn.execute_query(f'PRAGMA index_list("{name}")')
        for index in indexes:
            _, cols = await conn.execute_query(f'PRAGMA index_info("{index["name"]}")')
            key = frozenset(c["name"] for c in cols)
            (shape.unique if index["unique"] and index["origin"] != "pk" else shape.indexed).add(key)
        shape.checks = set(re.findall(r'CONSTRAINT "([^"]+)" CHECK', table["sql"] or ""))
    return shapes


async def _postgres(conn) -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    _, columns = await conn.execute_query(
        "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public'"
    )
    for column in columns:
        shape = shapes.setdefault(column["table_name"], TableShape())
        shape.columns[column["column_name"]] = column["is_nullable"] == "YES"
    _, indexes = await conn.execute_query(
        """
        SELECT t.relname AS table_name, i.indisunique AS is_unique, i.indisprimary AS is_primary,
               array_agg(a.attname::text) AS columns
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey)
        GROUP BY t.relname, i.indexrelid, i.indisunique, i.indisprimary
        """
    )
    for index in indexes:
        if index["is_primary"]:
            continue
        shape = shapes[index["table_name"]]
        (shape.unique if index["is_unique"] else shape.indexed).add(frozenset(index["columns"]))
    _, checks = await conn.execute_query(
        """
        SELECT t.relname AS table_name, c.conname AS name FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
        WHERE c.contype = 'c'
        """
    )
    for check in checks:
        shapes[check["table_name"]].checks.add(check["name"])
    return shapes
