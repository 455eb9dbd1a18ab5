"""Timestamps are stored in UTC on both databases, so a filter given in any offset finds the same
rows (SQLite compares stored timestamps as text: mixed offsets there would compare wrongly)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from api import db
from api.models.audit import AuditEntry
from api.settings import Settings
from tests.conftest import DB_KIND
from tests.test_graphql_mutations import CREATE, org_id, room
from tests.test_migrations import MIGRATIONS

DISTRICT_ZONE = dt.timezone(dt.timedelta(hours=8))
AROUND = """query($from: DateTime!, $to: DateTime!) {
  organizations(where: {createdAt: {gte: $from, lte: $to}, code: {startsWith: "TZ-"}}) { totalCount } }"""


async def test_a_new_row_is_found_by_a_time_window_in_utc_and_in_beijing_time(writable):
    api, url = writable
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    await api.data(CREATE, {"input": room("TZ-1", await org_id(url, "QJL-H2"))})
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    for zone in (dt.UTC, DISTRICT_ZONE):
        window = {"from": before.astimezone(zone).isoformat(), "to": after.astimezone(zone).isoformat()}
        assert (await api.data(AROUND, window))["organizations"]["totalCount"] == 1, zone


def until_0008(folder: str, names: list[str]) -> list[str]:
    """The migrations package as it was at 0008."""
    return [n for n in names if n == "__pycache__" or (n[:4].isdigit() and int(n[:4]) > 8)]


@pytest.mark.skipif(DB_KIND != "sqlite", reason="PostgreSQL stores instants (timestamptz)")
async def test_migration_0009_rewrites_stored_local_times_in_utc(empty_url, tmp_path, monkeypatch):
    package = tmp_path / "sanji_until_0008"
    shutil.copytree(MIGRATIONS, package, ignore=until_0008)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(database_url=empty_url)
    await db.upgrade(settings, migrations_module="sanji_until_0008")
    local = "2026-11-27 22:10:00.250000+08:00"  # as Tortoise stored `auto_now` times before
    async with db.database(settings) as ctx:
        client = ctx.db()
        # Written as that schema had it (today's model has columns added since).
        await client.execute_query(
            "INSERT INTO organization (code, name, tier, kind, address, duty_phone, created_at, updated_at) "
            "VALUES ('TZ', '时区', 'REGION', 'DISTRICT', '', '', '', '')"
        )
        _, found = await client.execute_query("SELECT id FROM organization WHERE code = 'TZ'")
        region_pk = found[0]["id"]
        entry = await AuditEntry.create(action="SIGN_IN", actor_name="测试")
        await client.execute_query(
            "UPDATE organization SET created_at = ?, updated_at = ?", [local, "2026-11-27 09:00:00"]
        )
        columns = [c["name"] for c in (await client.execute_query('PRAGMA table_info("audit_entry")'))[1]]
        copied = ", ".join("?" if c == "occurred_at" else c for c in columns if c != "id")
        listed = ", ".join(c for c in columns if c != "id")
        await client.execute_query(
            f"INSERT INTO audit_entry ({listed}) SELECT {copied} FROM audit_entry WHERE id = ?",
            [local, entry.pk],
        )

    await db.upgrade(settings)

    async with db.database(settings) as ctx:
        client = ctx.db()
        _, rows = await client.execute_query(
            "SELECT created_at, updated_at FROM organization WHERE id = ?", [region_pk]
        )
        assert (rows[0]["created_at"], rows[0]["updated_at"]) == (
            "2026-11-27 14:10:00.250000+00:00",
            "2026-11-27 09:00:00",
        )
        _, stamps = await client.execute_query("SELECT occurred_at FROM audit_entry ORDER BY id")
        assert all(str(s["occurred_at"]).endswith("+00:00") for s in stamps)
        assert stamps[-1]["occurred_at"] == "2026-11-27 14:10:00.250000+00:00"
        with pytest.raises(Exception, match="append-only"):  # the triggers are back
            await client.execute_query("UPDATE audit_entry SET actor_name = 'x'")
