"""One migration history: applied to empty SQLite/PostgreSQL it yields exactly the models' schema."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from api import db
from api.models.org import Organization
from api.settings import Settings
from tests.schema_introspection import database_shapes, model_shapes

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
HISTORY = [f"models.{p.stem}" for p in sorted(MIGRATIONS.glob("0*.py"))]
MIGRATION_TABLE = "tortoise_migrations"

ADD_COLUMN_MIGRATION = """
from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def backfill(apps, schema_editor):
    await schema_editor.client.execute_script("UPDATE organization SET website = 'https://example.invalid'")


class Migration(migrations.Migration):
    dependencies = [("models", "{latest}")]
    operations = [
        ops.AddField("Organization", "website", fields.CharField(max_length=100, null=True)),
        ops.RunPython(backfill),
        ops.AlterField("Organization", "website", fields.CharField(max_length=100, default="")),
    ]
"""


async def test_models_have_no_change_without_a_migration(fresh_db):
    assert await db.migration_changes(fresh_db) == []


async def test_migrated_database_has_nothing_pending(fresh_db):
    assert await db.pending_migrations(fresh_db) == []
    assert await db.applied_migrations(fresh_db) == HISTORY


async def test_migrated_schema_matches_the_models(fresh_db):
    expected = model_shapes(fresh_db)
    actual = await database_shapes(fresh_db)
    actual.pop(MIGRATION_TABLE, None)
    assert sorted(actual) == sorted(expected)
    for table, shape in expected.items():
        live = actual[table]
        assert live.columns == shape.columns, table
        assert live.unique == shape.unique, table
        assert shape.indexed <= live.indexed | live.unique, table
        assert live.checks == shape.checks, table


async def test_an_empty_database_reports_its_pending_migration(empty_url):
    async with db.database(Settings(database_url=empty_url)) as ctx:
        assert await db.pending_migrations(ctx) == HISTORY


async def test_adding_a_not_null_column_to_the_filled_fixture_tables_works(seeded_url, tmp_path, monkeypatch):
    package = tmp_path / "sanji_next_migrations"
    shutil.copytree(MIGRATIONS, package, ignore=shutil.ignore_patterns("__pycache__"))
    latest = HISTORY[-1].split(".", 1)[1]
    (package / "9999_organization_website.py").write_text(
        ADD_COLUMN_MIGRATION.replace("{latest}", latest), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    async with db.database(Settings(database_url=seeded_url)) as ctx:
        before = await database_shapes(ctx)
        organizations = await Organization.all().count()
    await db.upgrade(Settings(database_url=seeded_url), migrations_module="sanji_next_migrations")
    async with db.database(Settings(database_url=seeded_url)) as ctx:
        after = await database_shapes(ctx)
        _, rows = await ctx.db().execute_query("SELECT DISTINCT website FROM organization")
        assert await Organization.all().count() == organizations == 44
    assert [row["website"] for row in rows] == ["https://example.invalid"]
    assert after["organization"].columns == {**before["organization"].columns, "website": False}
    for table in before:
        assert after[table].unique == before[table].unique, table
        assert after[table].checks == before[table].checks, table
        assert after[table].indexed == before[table].indexed, table


async def test_upgrading_with_lazy_migration_states_builds_the_same_schema(empty_url, fresh_db, monkeypatch):
    """`db.upgrade` renders each operation's old state only when the operation reads it
    (`_LazyState`); the eager clone tortoise makes by itself yields the very same tables."""
    lazy = await database_shapes(fresh_db)  # the suite's template: upgraded lazily
    monkeypatch.setattr(db, "_lazy_states", contextlib.nullcontext)
    await db.upgrade(Settings(database_url=empty_url))
    async with db.database(Settings(database_url=empty_url)) as ctx:
        eager = await database_shapes(ctx)
    assert sorted(eager) == sorted(lazy)
    for table, shape in eager.items():
        found = lazy[table]
        assert (found.columns, found.unique, found.indexed, found.checks) == (
            shape.columns,
            shape.unique,
            shape.indexed,
            shape.checks,
        ), table
