"""Operations that migrations run: SQLite rebuild repairs, audit triggers, data carried forward.

Repairs for SQLite table rebuilds (see docs/decisions.md):

SQLite cannot ALTER a column or ADD a CHECK constraint, so Tortoise 1.1 rebuilds the table; the
rebuilt table keeps column-level UNIQUE but drops multi-column, one-to-one and plain indexes.
"""

from __future__ import annotations

from tortoise.fields.relational import OneToOneFieldInstance


def expected_indexes(model) -> list[tuple[bool, tuple[str, ...]]]:
    """(unique, columns) of every index the model declares besides its primary key."""
    meta = model._meta
    projection = meta.fields_db_projection
    wanted: list[tuple[bool, tuple[str, ...]]] = []
    for fields in meta.unique_together:
        wanted.append((True, tuple(_column(meta, name) for name in fields)))
    for name, field in meta.fields_map.items():
        if isinstance(field, OneToOneFieldInstance):
            wanted.append((True, (field.source_field or f"{name}_id",)))
        elif getattr(field, "index", False) and not field.unique and not field.pk and name in projection:
            wanted.append((False, (projection[name],)))
    return wanted


async def restore_sqlite_indexes(connection, model) -> int:
    """Create the model's indexes that a SQLite table rebuild dropped; returns how many."""
    table = model._meta.db_table
    _, tables = await connection.execute_query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    )
    if not tables:  # a model whose migration is not written yet: nothing was rebuilt
        return 0
    _, listed = await connection.execute_query(f'PRAGMA index_list("{table}")')
    present = set()
    for index in listed:
        _, columns = await connection.execute_query(f'PRAGMA index_info("{index["name"]}")')
        present.add((bool(index["unique"]), tuple(c["name"] for c in columns)))
    created = 0
    for unique, columns in expected_indexes(model):
        if (unique, columns) in present:
            continue
        prefix, kind = ("uid", "UNIQUE INDEX") if unique else ("idx", "INDEX")
        quoted = ", ".join(f'"{c}"' for c in columns)
        await connection.execute_script(
            f'CREATE {kind} IF NOT EXISTS "{prefix}_{table}_{"_".join(columns)}" ON "{table}" ({quoted})'
        )
        created += 1
    return created


def _column(meta, name: str) -> str:
    return meta.fields_db_projection.get(name) or meta.fields_map[name].source_field or f"{name}_id"


APPEND_ONLY_SQL = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        """CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    ],
    "postgres": [
        """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry
           FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
        """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
           FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
    ],
}


async def make_audit_log_append_only(apps, schema_editor) -> None:
    """Database triggers refuse UPDATE and DELETE on the audit log, whoever connects."""
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    for statement in APPEND_ONLY_SQL[dialect]:
        await schema_editor.client.execute_script(statement)


async def keep_write_keys_writing(apps, schema_editor) -> None:
    """Keys made before scopes existed keep their rights: --write keys read and write everything."""
    await schema_editor.client.execute_script(
        "UPDATE api_key SET scopes = CASE WHEN can_write THEN 'read:* write:*' ELSE 'read:*' END"
    )


LOCAL_DATE_SQL = {
    "sqlite": "date({column}, '+8 hours')",  # Asia/Shanghai has had no daylight saving since 1991
    "postgres": "({column} AT TIME ZONE 'Asia/Shanghai')::date",
}


async def carry_cases_forward(apps, schema_editor) -> None:
    """Cases made before the workflow service: local acceptance and completion dates; papers at handler."""
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    local = LOCAL_DATE_SQL[dialect]
    await schema_editor.client.execute_script(
        f"UPDATE service_case SET held_by_id = handling_organization_id, "
        f"accepted_on = {local.format(column='accepted_at')}, "
        f"completed_on = {local.format(column='completed_at')}"
    )


async def open_rectifications(apps, schema_editor) -> None:
    """Bad ratings given before rectifications existed get one, due 15 working days after the rating."""
    from api.services.deadlines import add_working_days

    client = schema_editor.client
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    local = LOCAL_DATE_SQL[dialect].format(column="rated_at")
    _, rows = await client.execute_query(f"SELECT id, {local} AS rated_on FROM evaluation WHERE score <= 2")
    if not rows:
        return
    _, days = await client.execute_query("SELECT day, is_workday FROM calendar_day")
    workdays = {_as_date(d["day"]): bool(d["is_workday"]) for d in days}
    for row in rows:
        rated_on = _as_date(row["rated_on"])
        due, _ = add_working_days(rated_on, 15, workdays)
        placeholder = "?" if dialect == "sqlite" else "$1"
        await client.execute_query(
            f"UPDATE evaluation SET rectification_due_date = {placeholder} WHERE id = {row['id']:d}",
            [due if dialect == "postgres" else due.isoformat()],
        )


def _as_date(value):
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
