"""Migration operations Sanji needs beyond Tortoise's stock ones (see docs/decisions.md)."""

from __future__ import annotations

from tortoise.fields.relational import OneToOneFieldInstance
from tortoise.migrations import operations as ops


class AddCheckConstraint(ops.AddConstraint):
    """Add a CHECK constraint, keeping the table's unique and plain indexes on SQLite.

    SQLite cannot ALTER TABLE ... ADD CONSTRAINT, so Tortoise 1.1 rebuilds the table; the rebuilt
    table keeps column-level UNIQUE but drops `unique_together`, one-to-one and `db_index` indexes. They are
    recreated here from the model state, so the migrated schema matches the models.
    """

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        await super().database_forward(app_label, old_state, new_state, state_editor)
        if state_editor is None or state_editor.DIALECT != "sqlite":
            return
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        await restore_sqlite_indexes(state_editor, model)


async def restore_sqlite_indexes(state_editor, model) -> None:
    table = model._meta.db_table
    projection = model._meta.fields_db_projection
    for fields in model._meta.unique_together:
        columns = [_column(model, name, projection) for name in fields]
        quoted = ", ".join(f'"{c}"' for c in columns)
        name = f"uid_{table}_{'_'.join(columns)}"
        await state_editor._run_sql(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{table}" ({quoted})')
    for name, field in model._meta.fields_map.items():
        if isinstance(field, OneToOneFieldInstance):
            column = field.source_field or f"{name}_id"
            await state_editor._run_sql(
                f'CREATE UNIQUE INDEX IF NOT EXISTS "uid_{table}_{column}" ON "{table}" ("{column}")'
            )
        if getattr(field, "index", False) and not field.unique and not field.pk and name in projection:
            column = projection[name]
            await state_editor._run_sql(f'CREATE INDEX IF NOT EXISTS "idx_{table}_{column}" ON "{table}" ("{column}")')


def _column(model, name: str, projection: dict[str, str]) -> str:
    if name in projection:
        return projection[name]
    field = model._meta.fields_map[name]
    return field.source_field or f"{name}_id"
