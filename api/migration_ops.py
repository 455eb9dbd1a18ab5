"""Operations that migrations run: SQLite rebuild repairs, audit triggers, data carried forward.

Repairs for SQLite table rebuilds (see docs/decisions.md):

SQLite cannot ALTER a column or ADD a CHECK constraint, so Tortoise 1.1 rebuilds the table; the
rebuilt table keeps column-level UNIQUE but drops multi-column, one-to-one and plain indexes.
"""

from __future__ import annotations

import datetime as dt

from tortoise.fields.relational import OneToOneFieldInstance

from api.stored_values import bound_day, stored_day


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
    for index in meta.indexes:  # Meta.indexes: several columns, in their order
        wanted.append((False, tuple(_column(meta, name) for name in index.fields)))
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
    _, described = await connection.execute_query(f'PRAGMA table_info("{table}")')
    existing = {column["name"] for column in described}
    created = 0
    for unique, columns in expected_indexes(model):
        if (unique, columns) in present:
            continue
        if not existing.issuperset(columns):
            # A later migration adds the column (and the index). SQLite would take the unknown
            # quoted name for a string constant and index that, which later corrupts the file.
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


async def keep_audit_log_append_only(apps, schema_editor) -> None:
    """After a change to the audit log's columns: SQLite rebuilt the table, losing its triggers."""
    if schema_editor.DIALECT == "sqlite":
        await make_audit_log_append_only(apps, schema_editor)


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
    """Cases made before the workflow service get what it keeps on every case.

    Local acceptance and completion dates; the limits of their item; where their papers are (the
    handler once received, nobody while dispatched, else where they were filed); the state a paused
    case returns to; the working days a completed case took.
    """
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    local = LOCAL_DATE_SQL[dialect]
    client = schema_editor.client

    def has(action: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = service_case.id AND e.action = '{action}')"
        )

    await client.execute_script(
        "UPDATE service_case SET paused_working_days = 0, "
        f"accepted_on = {local.format(column='accepted_at')}, "
        f"completed_on = {local.format(column='completed_at')}, "
        f"held_by_id = CASE WHEN {has('RECEIVE')} THEN handling_organization_id "
        f"WHEN {has('DISPATCH')} THEN NULL ELSE submitted_at_organization_id END"
    )
    await client.execute_script(
        "UPDATE service_case SET "
        "legal_limit_days = (SELECT legal_limit_days FROM item WHERE item.id = service_case.item_id), "
        "promised_limit_days = (SELECT promised_limit_days FROM item WHERE item.id = service_case.item_id) "
        "WHERE accepted_at IS NOT NULL"
    )
    await client.execute_script(
        "UPDATE service_case SET status_before_pause = COALESCE((SELECT e.from_status FROM case_event e "
        "WHERE e.case_id = service_case.id AND e.action = 'REQUEST_SUPPLEMENT' "
        "ORDER BY e.occurred_at DESC LIMIT 1), 'ACCEPTED') WHERE status = 'SUPPLEMENT_REQUESTED'"
    )
    await _working_days_taken(client, dialect)


async def _working_days_taken(client, dialect: str) -> None:
    from api.services.deadlines import working_days_between

    _, cases = await client.execute_query(
        "SELECT id, accepted_on, completed_on FROM service_case "
        "WHERE completed_on IS NOT NULL AND accepted_on IS NOT NULL"
    )
    if not cases:
        return
    local = LOCAL_DATE_SQL[dialect].format(column="occurred_at")
    _, events = await client.execute_query(
        f"SELECT case_id, action, {local} AS day FROM case_event "
        "WHERE action IN ('REQUEST_SUPPLEMENT', 'RESUME') ORDER BY occurred_at"
    )
    pauses: dict[int, list] = {}
    for event in events:
        found = pauses.setdefault(event["case_id"], [])
        if event["action"] == "REQUEST_SUPPLEMENT":
            found.append([stored_day(event["day"]), None])
        elif found and found[-1][1] is None:
            found[-1][1] = stored_day(event["day"])
    _, days = await client.execute_query("SELECT day, is_workday FROM calendar_day")
    workdays = {stored_day(d["day"]): bool(d["is_workday"]) for d in days}
    placeholder = ("?", "?") if dialect == "sqlite" else ("$1", "$2")
    for case in cases:
        completed = stored_day(case["completed_on"])
        spans = [(start, end or completed) for start, end in pauses.get(case["id"], [])]
        taken = working_days_between(stored_day(case["accepted_on"]), completed, workdays, spans)
        await client.execute_query(
            f"UPDATE service_case SET working_days_taken = {placeholder[0]} WHERE id = {placeholder[1]}",
            [taken, case["id"]],
        )


async def open_rectifications(apps, schema_editor) -> None:
    """Bad ratings given before rectifications existed get one, due 15 working days after the rating."""
    from api.services.deadlines import add_working_days

    client = schema_editor.client
    await client.execute_script("UPDATE evaluation SET rectification_response = '', follow_up = ''")
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    local = LOCAL_DATE_SQL[dialect].format(column="rated_at")
    _, rows = await client.execute_query(f"SELECT id, {local} AS rated_on FROM evaluation WHERE score <= 2")
    if not rows:
        return
    _, days = await client.execute_query("SELECT day, is_workday FROM calendar_day")
    workdays = {stored_day(d["day"]): bool(d["is_workday"]) for d in days}
    for row in rows:
        rated_on = stored_day(row["rated_on"])
        due, _ = add_working_days(rated_on, 15, workdays)
        placeholder = "?" if dialect == "sqlite" else "$1"
        await client.execute_query(
            f"UPDATE evaluation SET rectification_due_date = {placeholder} WHERE id = {row['id']:d}",
            [bound_day(due, dialect == "postgres")],
        )


async def utc_timestamps_on_sqlite(apps, schema_editor) -> None:
    """SQLite compares timestamps as text: rewrite every stored one with an offset in UTC (the
    instant is unchanged), as everything is stored from now on (api/db.py). The audit log's
    append-only triggers are lifted for this rewrite only and put back."""
    if schema_editor.DIALECT != "sqlite":
        return
    client = schema_editor.client
    _, tables = await client.execute_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in (row["name"] for row in tables):
        _, columns = await client.execute_query(f'PRAGMA table_info("{table}")')
        stamped = [c["name"] for c in columns if str(c["type"]).upper() in ("TIMESTAMP", "DATETIME")]
        for column in stamped:
            _, rows = await client.execute_query(
                f'SELECT rowid AS r, "{column}" AS v FROM "{table}" '
                f'WHERE "{column}" IS NOT NULL AND "{column}" NOT LIKE \'%+00:00\''
            )
            changes = [(_utc_text(row["v"]), row["r"]) for row in rows]
            changes = [(text, rowid) for text, rowid in changes if text is not None]
            if not changes:
                continue
            if table == "audit_entry":
                await client.execute_script("DROP TRIGGER IF EXISTS audit_entry_no_update")
            for text, rowid in changes:
                await client.execute_query(
                    f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', [text, rowid]
                )
            if table == "audit_entry":
                for statement in APPEND_ONLY_SQL["sqlite"]:
                    await client.execute_script(statement)


def _utc_text(value) -> str | None:
    """A stored timestamp with an offset, as SQLite keeps it from now on; None when it has no offset."""
    from api.db import sqlite_timestamp  # api.db imports this module: the one rule, read late

    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return None if moment.tzinfo is None else sqlite_timestamp(moment)


WEEKEND_SQL = {
    "sqlite": "strftime('%w', day) IN ('0', '6')",
    "postgres": "EXTRACT(ISODOW FROM day) >= 6",
}


async def fill_calendar_day_kinds(apps, schema_editor) -> None:
    """Days stored before kinds existed get theirs by the rule of `api.models.calendar.day_kind`: a
    weekend day worked is a make-up workday (调休上班), a weekday worked a workday, a weekend day off
    with no holiday named a weekend, any other day off a holiday."""
    dialect = "sqlite" if schema_editor.DIALECT == "sqlite" else "postgres"
    weekend = WEEKEND_SQL[dialect]
    await schema_editor.client.execute_script(
        "UPDATE calendar_day SET kind = CASE "
        f"WHEN is_workday AND {weekend} THEN 'WORKDAY_ADJUSTED' "
        "WHEN is_workday THEN 'WORKDAY' "
        f"WHEN TRIM(COALESCE(holiday_name, '')) = '' AND {weekend} THEN 'WEEKEND' "
        "ELSE 'HOLIDAY' END"
    )


def organization_paths(rows) -> dict[int, str]:
    """Each organization's path ("/1/5/23/": the ids from its root down to it) from (id, parent_id)."""
    parents = {pk: parent for pk, parent in rows}
    paths: dict[int, str] = {}

    def path_of(pk: int) -> str:
        chain = []
        current: int | None = pk
        while current is not None and current not in paths:
            chain.append(current)
            current = parents[current]
        prefix = paths[current] if current is not None else "/"
        for step in reversed(chain):
            prefix = paths[step] = f"{prefix}{step}/"
        return prefix

    for pk in parents:
        path_of(pk)
    return paths


async def fill_organization_paths(apps, schema_editor) -> None:
    """Give every organization its path (the ids from its root down to it)."""
    client = schema_editor.client
    _, rows = await client.execute_query("SELECT id, parent_id FROM organization")
    paths = organization_paths([(row["id"], row["parent_id"]) for row in rows])
    placeholder = ("?", "?") if schema_editor.DIALECT == "sqlite" else ("$1", "$2")
    for pk, path in paths.items():
        await client.execute_query(
            f"UPDATE organization SET path = {placeholder[0]} WHERE id = {placeholder[1]}", [path, pk]
        )


async def compare_organization_paths_bytewise(apps, schema_editor) -> None:
    """On PostgreSQL the path column compares bytewise (COLLATE "C"), and has its index.

    An area is one range of paths (`path >= '/1/5/' AND path < '/1/50'`); a locale's collation
    orders punctuation differently and would break the range. SQLite compares bytewise already.
    """
    if schema_editor.DIALECT == "sqlite":
        return
    client = schema_editor.client
    await client.execute_script('ALTER TABLE organization ALTER COLUMN path TYPE VARCHAR(255) COLLATE "C"')
    # AddField does not build a new column's index on PostgreSQL (SQLite's repair pass does)
    await client.execute_script('CREATE INDEX IF NOT EXISTS "idx_organization_path" ON organization (path)')


async def rebuild_service_rollups(apps, schema_editor) -> None:
    """Count the stored cases into the service statistics rollups (migration 0015)."""
    from api.services import rollup

    await rollup.rebuild(schema_editor.client, ratings=False, tables=MONTH_ROLLUPS)


MONTH_ROLLUPS = ("case_rollup", "handling_rollup", "item_rollup")  # migration 0015's


async def day_rollup_created(apps, schema_editor) -> None:
    """Migration 0018 counted the stored cases into the per-day rollup it created; 0019 keys its
    rows by tier and tags too and recounts them (`rebuild_day_rollup`), which today's code can
    only do once those columns exist: nothing to do here any more."""


async def rebuild_day_rollup(apps, schema_editor) -> None:
    """Count the stored cases into the per-day rollup (migration 0019, at its grain)."""
    from api.services import rollup

    await rollup.rebuild(schema_editor.client, ratings=False, tables=("day_rollup",))


async def rebuild_rating_rollup(apps, schema_editor) -> None:
    """Count the stored ratings into their rollup (migration 0017)."""
    from api.services import rating_rollup

    await rating_rollup.rebuild(schema_editor.client)


async def localize_item_values(apps, schema_editor) -> None:
    """Each district keeps its own promised limit and phones (item_local): the items' values become
    the settings of every district there is (the fixture's one), so its due dates stay as they were."""
    await schema_editor.client.execute_script(
        "INSERT INTO item_local (item_id, organization_id, promised_limit_days, fee_note, consult_phone, "
        "complaint_phone, updated_at) SELECT item.id, organization.id, item.promised_limit_days, '', "
        "item.consult_phone, item.complaint_phone, item.updated_at FROM item, organization "
        "WHERE organization.tier = 'REGION' AND organization.kind = 'DISTRICT'"
    )
