"""SQL statements per request grow with the query's depth, never with the number of rows."""

from __future__ import annotations

from datetime import date

from api import db
from api.db import StatementLog
from api.models.case import Case
from api.models.org import ConstructionStatus, Organization, OrgKind, Tier
from api.settings import Settings
from tests.conftest import serving

NESTED = """{ organizations(where: {tier: {eq: HALL}}) { totalCount nodes {
  code
  children(orderBy: [{code: ASC}]) { totalCount nodes {
    code parent { code }
    submittedCases(first: 5, where: {status: {in: [DELIVERED, COMPLETED]}}, orderBy: [{submittedAt: DESC}]) {
      totalCount nodes { number item { name type } handlingOrganization { code } }
    }
  } }
} } }"""


def counting():
    """The statements the database client runs inside the block (`.statements`)."""
    return StatementLog.capture()


async def add_rooms(url: str, per_hall: int) -> None:
    """Add rooms under every hall, each with copies of a real case, so the tree grows 10x."""
    async with db.database(Settings(database_url=url)):
        halls = await Organization.filter(tier=Tier.HALL).order_by("code")
        # Room cases are handled by the room's hall, as in the fixture.
        template = await Case.filter(status="DELIVERED", channel="AGENCY").first()
        for hall in halls:
            rooms = [
                Organization(
                    code=f"{hall.code}-X{i:03d}",
                    name=f"扩展{i}便民服务室",
                    tier=Tier.ROOM,
                    kind=OrgKind.TEAM,
                    parent_id=hall.id,
                    construction_status=ConstructionStatus.BUILT,
                    built_on=date(2018, 1, 1),
                )
                for i in range(per_hall)
            ]
            await Organization.bulk_create(rooms)
        new_rooms = await Organization.filter(code__contains="-X").values_list("id", flat=True)
        fields = {
            k: v for k, v in template.__dict__.items() if not k.startswith("_") and k not in ("id", "number")
        }
        cases = [
            Case(**{**fields, "number": f"X{room}{n}", "submitted_at_organization_id": room})
            for room in new_rooms
            for n in range(3)
        ]
        await Case.bulk_create(cases, batch_size=500)


async def test_a_three_level_query_runs_the_same_statements_for_38_and_400_rooms(writable):
    api, url = writable
    with counting() as first:
        await api.data(NESTED)
    # the caller's session with its area, then the whole read as one compiled statement
    assert len(first.statements) == 2, "\n".join(s[:150] for s in first.statements)
    assert "auth_session" in first.statements[0] and "json_" in first.statements[1]
    with counting() as small:
        before = await api.data(NESTED)
    rooms_before = sum(h["children"]["totalCount"] for h in before["organizations"]["nodes"])
    assert rooms_before == 38
    # repeated: the session check and the kept read in one statement (tests/test_session_reads.py)
    assert len(small.statements) == 1, "\n".join(s[:150] for s in small.statements)
    assert "auth_session" in small.statements[0] and "json_" in small.statements[0]

    await add_rooms(url, per_hall=90)
    with counting() as large:
        after = await api.data(NESTED)
    rooms_after = sum(h["children"]["totalCount"] for h in after["organizations"]["nodes"])
    assert rooms_after == 38 + 4 * 90
    shown = sum(len(h["children"]["nodes"]) for h in after["organizations"]["nodes"])
    assert shown == 38 + 4 * 90  # every room fits in its hall's default page of 100
    assert len(small.statements) == len(large.statements), (small.statements, large.statements)


async def test_on_the_resolvers_the_statements_grow_with_depth_not_rows(seeded_url):
    """The reference path (compiled reads off) batches per relation and level."""
    async with serving(seeded_url, compiled_reads=False) as anonymous:
        api = await anonymous.sign_in()
        with counting() as small:
            await api.data(NESTED)
        await add_rooms(seeded_url, per_hall=30)
        with counting() as large:
            await api.data(NESTED)
    assert len(small.statements) == len(large.statements), (small.statements, large.statements)
    # the caller's session; halls and their count; rooms (keys, then rows) and their counts;
    # parents; cases (keys, then rows) and their counts; items; handling organizations not
    # already loaded as parents (the center, for licences the rooms carry up)
    assert len(small.statements) <= 13, "\n".join(s[:150] for s in small.statements)
