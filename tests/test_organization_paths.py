"""The organization tree's paths (the area index) and per-parent paging over it.

Every area condition reads `organization.path`; these tests hold the paths to the parent links
(walked here, independently of the code under test) after the moves the API allows, and check that
a page of `first: N` under each parent reads at most N + 1 rows per parent on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from api import db
from api.auth.permissions import area_of, in_area
from api.db import StatementLog
from api.errors import DomainError
from api.models.org import ConstructionStatus, Organization, OrgKind, Tier
from api.models.staff import Staff
from api.services.cases import district_code
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.conftest import DB_KIND, serving
from tests.factories import make_district


async def walked_paths() -> dict[str, str]:
    """Each organization's expected path, from its parent links."""
    rows = await Organization.all().values_list("id", "parent_id", "code")
    parent = {pk: up for pk, up, _ in rows}

    def chain(pk: int | None) -> list[int]:
        out = []
        while pk is not None:
            out.append(pk)
            pk = parent[pk]
        return out[::-1]

    return {code: "/" + "".join(f"{pk}/" for pk in chain(pk)) for pk, _, code in rows}


async def stored_paths() -> dict[str, str]:
    return dict(await Organization.all().values_list("code", "path"))


async def staff_codes_in_area_of(code: str) -> set[str]:
    """The organizations of the staff that the area rule lets the organization's callers see."""
    org = await Organization.get(code=code)
    area = await area_of(org.pk)
    rows = Staff.filter(in_area(Staff, ("organization",), area)).values_list("organization__code", flat=True)
    return set(await rows)


async def test_paths_follow_the_tree_through_moves(fresh_db):
    """A room moves to another hall and a hall (with its rooms) to another district: every path
    below the moved organization changes in the same save, and areas follow."""
    _a, _a_center, a_hall, a_room = await make_district("A")
    _b, b_center, _b_hall, _b_room = await make_district("B")
    a_hall2 = await Organization.create(
        code="A-H2",
        name="第二大厅",
        tier=Tier.HALL,
        kind=OrgKind.SUB_DISTRICT,
        parent=_a_center,
        construction_status=ConstructionStatus.BUILT,
    )
    for org in (a_room, a_hall, a_hall2):
        await Staff.create(name=f"{org.code}员", organization=org, phone="13900000000")
    assert await stored_paths() == await walked_paths()
    assert await staff_codes_in_area_of("A-H") == {"A-H", "A-R"}

    a_room.parent = a_hall2
    await a_room.save()
    assert await stored_paths() == await walked_paths()
    assert await staff_codes_in_area_of("A-H") == {"A-H"}
    assert await staff_codes_in_area_of("A-H2") == {"A-H2", "A-R"}

    a_hall2.parent = b_center  # the hall and its room change district
    await a_hall2.save()
    assert await stored_paths() == await walked_paths()
    assert await staff_codes_in_area_of("A") == {"A-H"}
    assert await staff_codes_in_area_of("B") == {"A-H2", "A-R"}
    assert (await Organization.get(code="A-R")).path.startswith((await Organization.get(code="B")).path)


async def test_a_province_above_the_districts_reads_them_all(fresh_db):
    """A province root placed above two districts: its area holds both, each district only itself;
    while a district is the only root, its area is everything (no condition at all)."""
    district, *_ = await make_district("A")
    assert await area_of(district.pk) is None
    await make_district("B")
    province = await Organization.create(code="P", name="省", tier=Tier.REGION, kind=OrgKind.PROVINCE)
    for code in ("A", "B"):
        org = await Organization.get(code=code)
        org.parent = province
        await org.save()
    assert await stored_paths() == await walked_paths()
    assert await area_of(province.pk) is None  # the only root: every organization
    for code in ("A-R", "B-R"):
        await Staff.create(name="员", organization=await Organization.get(code=code), phone="13900000000")
    assert await staff_codes_in_area_of("A") == {"A-R"}
    assert await staff_codes_in_area_of("B") == {"B-R"}
    assert await staff_codes_in_area_of("P") == {"A-R", "B-R"}
    # case numbers keep their district's prefix, not the province's
    assert await district_code((await Organization.get(code="B-R")).pk) == "B"
    assert await district_code(province.pk) == "P"  # above every district: its own root


async def test_a_cycle_is_refused_and_nothing_moves(fresh_db):
    district, *_ = await make_district("A")
    province = await Organization.create(code="P", name="省", tier=Tier.REGION, kind=OrgKind.PROVINCE)
    district.parent = province
    await district.save()
    before = await stored_paths()
    province.parent = district
    with pytest.raises(DomainError) as refused:
        await province.save()
    assert refused.value.code == "VALIDATION_FAILED" and "cycle" in refused.value.message
    assert await stored_paths() == before


async def test_moving_a_room_through_the_api_rewrites_its_path(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        room = await Organization.get(code="QJL-H1-R01")
        hall2 = await Organization.get(code="QJL-H2")
    async with serving(seeded_url) as api:
        admin = await api.sign_in("admin")
        data = await admin.data(
            "mutation($id: ID!, $parent: ID!) { updateOrganization(id: $id, input: {parentId: $parent}) "
            "{ parent { code } } }",
            {"id": to_global_id("Organization", room.pk), "parent": to_global_id("Organization", hall2.pk)},
        )
        assert data["updateOrganization"]["parent"]["code"] == "QJL-H2"
    async with db.database(Settings(database_url=seeded_url)):
        assert await stored_paths() == await walked_paths()


@pytest.mark.skipif(DB_KIND != "postgres", reason="EXPLAIN ANALYZE of the per-room pages is PostgreSQL's")
async def test_a_child_page_reads_at_most_n_plus_one_rows_per_parent(seeded_url):
    """`submittedCases(first: 5)` under every room: the statement that picks each room's page reads
    at most 6 case rows per room, though each room has about 65 cases here."""
    async with db.database(Settings(database_url=seeded_url)) as ctx:
        await a_province_sized_hall(ctx.db())
    query = """{ organizations(where: {tier: {eq: ROOM}}, orderBy: [{code: DESC}], first: 50) { nodes { code
      submittedCases(first: 5) { nodes { number } } } } }"""
    async with serving(seeded_url) as api:
        admin = await api.sign_in("admin")
        with StatementLog.capture() as handler:
            data = await admin.data(query)
    rooms = data["organizations"]["nodes"]
    assert len(rooms) == 50 and all(len(r["submittedCases"]["nodes"]) == 5 for r in rooms), data
    # The compiled read: one statement, each room's page a subquery of the room's row.
    pages = [(sql, params) for sql, params in handler.seen if "json_build_object" in sql]
    assert len(pages) == 1, f"expected one compiled statement, saw {[s for s, _ in handler.seen]}"
    sql, params = pages[0]
    async with db.database(Settings(database_url=seeded_url)) as ctx:
        _, rows = await ctx.db().execute_query(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        busiest = await Organization.filter(tier=Tier.ROOM).count()
    plan = rows[0]["QUERY PLAN"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    scans = [node for node in _nodes(plan[0]["Plan"]) if node.get("Relation Name") == "service_case"]
    assert scans, plan
    for node in scans:
        assert node["Actual Loops"] <= busiest, node
        assert node["Actual Rows"] <= 6, f"read {node['Actual Rows']} case rows per room: {node}"
        assert node.get("Rows Removed by Filter", 0) == 0, json.dumps(plan, indent=1)
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node


async def a_province_sized_hall(client) -> None:
    """500 more rooms under one hall, each with about 65 cases (copies of the fixture's), so the
    planner sees what a province looks like: many organizations, few cases each."""
    await client.execute_script(
        "INSERT INTO organization (code, name, tier, kind, parent_id, path, construction_status, "
        "address, duty_phone, created_at, updated_at) "
        "SELECT 'X' || lpad(g::text, 3, '0'), '扩展' || g, 'ROOM', 'VILLAGE', h.id, '', 'BUILT', '', '', "
        "now(), now() FROM organization h, generate_series(1, 500) AS g WHERE h.code = 'QJL-H1'"
    )
    await client.execute_script(
        "UPDATE organization o SET path = h.path || o.id || '/' FROM organization h "
        "WHERE h.id = o.parent_id AND o.code LIKE 'X%'"
    )
    _, columns = await client.execute_query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'service_case' "
        "AND column_name NOT IN ('id', 'number', 'submitted_at_organization_id')"
    )
    names = ", ".join(f'"{c["column_name"]}"' for c in columns)
    copied = ", ".join(f'c."{c["column_name"]}"' for c in columns)
    await client.execute_script(
        f"INSERT INTO service_case (number, submitted_at_organization_id, {names}) "
        f"SELECT c.number || '-' || g, r.id, {copied} FROM service_case c, generate_series(1, 8) AS g, "
        "organization r WHERE r.code = 'X' || lpad(((c.id * 8 + g) % 500 + 1)::text, 3, '0')"
    )
    await client.execute_script("ANALYZE service_case")
    await client.execute_script("ANALYZE organization")


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def test_the_counted_form_of_the_area_holds_the_same_rows(seeded_url):
    """Counts and aggregates take the area as an OR of `= ANY(ARRAY(…))` on PostgreSQL (index
    bitmaps), pages the UNION of ids: the same rows either way, negated and combined alike."""
    from api.models.case import Case
    from schema.specs import EXPOSURES

    case_scope = next(e.access.scope for e in EXPOSURES if e.model is Case)
    async with db.database(Settings(database_url=seeded_url)):
        hall = await Organization.get(code="QJL-H1")
        area = await area_of(hall.pk)
        paged = in_area(Case, case_scope, area)
        counted = in_area(Case, case_scope, area, counted=True)
        assert ("ANY(ARRAY(" in Case.filter(counted).sql()) == (DB_KIND == "postgres")
        inside = await Case.filter(paged).count()
        assert 0 < inside < await Case.all().count()
        assert await Case.filter(counted).count() == inside
        assert await Case.filter(~counted).count() == await Case.filter(~paged).count()
        either = await Case.filter(counted | paged).count()
        assert either == inside
        delivered = await Case.filter(paged, status="DELIVERED").count()
        assert await Case.filter(counted, status="DELIVERED").count() == delivered
    async with serving(seeded_url) as api:
        clerk = await api.sign_in("hall_clerk")
        with StatementLog.capture() as log:
            data = await clerk.data("{ cases(first: 1) { totalCount } casesAggregate { count } }")
    assert data["cases"]["totalCount"] == data["casesAggregate"]["count"] == inside
    if DB_KIND == "postgres":
        assert all("ANY(ARRAY(" in s for s in log.statements if "service_case" in s), log.statements
