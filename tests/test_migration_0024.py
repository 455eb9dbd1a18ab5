"""Migration 0024 gives each district its own values of every item (promised limit and phones), as the
items had them, so that no due date moves; on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

from api import db
from api.models.item import Item, ItemLocal
from api.models.org import Organization, OrgKind, Tier
from api.settings import Settings
from tests.test_migration_0007 import ITEM, insert
from tests.test_migrations import MIGRATIONS


def until_0023(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or (n[:4].isdigit() and int(n[:4]) > 23)]


async def test_every_district_keeps_the_values_its_items_had(empty_url, tmp_path, monkeypatch):
    package = tmp_path / "sanji_until_0023"
    shutil.copytree(MIGRATIONS, package, ignore=until_0023)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(database_url=empty_url)
    await db.upgrade(settings, migrations_module="sanji_until_0023")
    async with db.database(settings) as ctx:
        province = await Organization.create(code="P", name="省", tier=Tier.REGION, kind=OrgKind.PROVINCE)
        for code in ("D1", "D2"):
            district = await Organization.create(
                code=code, name=code, tier=Tier.REGION, kind=OrgKind.DISTRICT, parent=province
            )
        await Organization.create(
            code="D2-C", name="中心", tier=Tier.CENTER, kind=OrgKind.ADMINISTRATION, parent=district
        )
        await ctx.db().execute_script(
            insert("item", {**ITEM, "consult_phone": "0724-1", "complaint_phone": "12345"})
        )

    await db.upgrade(settings)

    async with db.database(settings):
        rows = (
            await ItemLocal.all()
            .order_by("organization_id")
            .values_list(
                "organization__code",
                "item__code",
                "promised_limit_days",
                "consult_phone",
                "complaint_phone",
                "fee_note",
            )
        )
        item = await Item.get(code="GG-1")
    # the districts, not the province above them nor the center below
    assert rows == [("D1", "GG-1", 5, "0724-1", "12345", ""), ("D2", "GG-1", 5, "0724-1", "12345", "")]
    assert item.publisher_id is None  # published at the top, as every item was
