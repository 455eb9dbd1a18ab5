import pytest
from tortoise.exceptions import IntegrityError

from api.errors import DomainError
from api.models.org import ConstructionStatus, Organization, OrgKind, Tier, Window
from tests.factories import make_tree


async def test_room_under_a_center_is_refused_with_a_clear_error(fresh_db):
    _, center, _ = await make_tree()
    with pytest.raises(DomainError) as error:
        await Organization.create(
            code="X",
            name="服务室",
            tier=Tier.ROOM,
            kind=OrgKind.VILLAGE,
            parent=center,
            construction_status=ConstructionStatus.PLANNED,
        )
    assert error.value.code == "VALIDATION_FAILED"
    assert error.value.field == "parent"
    assert "a ROOM cannot be placed under a CENTER (C)" in error.value.message
    assert not await Organization.exists(code="X")


async def test_room_under_a_hall_is_accepted(fresh_db):
    _, _, hall = await make_tree()
    room = await Organization.create(
        code="R1",
        name="服务室",
        tier=Tier.ROOM,
        kind=OrgKind.TEAM,
        parent=hall,
        construction_status=ConstructionStatus.UNDER_CONSTRUCTION,
    )
    assert (await room.parent).code == "H"


async def test_a_region_cycle_is_refused(fresh_db):
    top = await Organization.create(code="A", name="A", tier=Tier.REGION, kind=OrgKind.DISTRICT)
    below = await Organization.create(code="B", name="B", tier=Tier.REGION, kind=OrgKind.DISTRICT, parent=top)
    top.parent = below
    with pytest.raises(DomainError) as error:
        await top.save()
    assert "cycle" in error.value.message
    await top.refresh_from_db()
    assert top.parent_id is None


async def test_an_organization_cannot_be_its_own_parent(fresh_db):
    top = await Organization.create(code="A", name="A", tier=Tier.REGION, kind=OrgKind.DISTRICT)
    top.parent_id = top.id
    with pytest.raises(DomainError):
        await top.save()


async def test_hall_needs_a_construction_status_and_center_may_not_have_one(fresh_db):
    region, center, _ = await make_tree()
    with pytest.raises(DomainError) as error:
        await Organization.create(
            code="H2", name="厅", tier=Tier.HALL, kind=OrgKind.SUB_DISTRICT, parent=center
        )
    assert error.value.field == "construction_status"
    with pytest.raises(DomainError):
        await Organization.create(
            code="C2",
            name="中心",
            tier=Tier.CENTER,
            kind=OrgKind.ADMINISTRATION,
            parent=region,
            construction_status=ConstructionStatus.BUILT,
        )


async def test_kind_must_fit_the_tier(fresh_db):
    _, _, hall = await make_tree()
    with pytest.raises(DomainError) as error:
        await Organization.create(
            code="R9",
            name="室",
            tier=Tier.ROOM,
            kind=OrgKind.SUB_DISTRICT,
            parent=hall,
            construction_status=ConstructionStatus.BUILT,
        )
    assert error.value.field == "kind"


async def test_organization_codes_are_unique_in_the_database(fresh_db):
    await make_tree()
    with pytest.raises(IntegrityError):
        await Organization.create(code="R", name="again", tier=Tier.REGION, kind=OrgKind.DISTRICT)


async def test_database_checks_refuse_a_negative_population_even_past_the_model(fresh_db):
    region, _, _ = await make_tree()
    with pytest.raises(IntegrityError):
        await Organization.filter(id=region.id).update(population=-5)


async def test_database_refuses_a_room_tier_without_construction_status(fresh_db):
    _, _, hall = await make_tree()
    with pytest.raises(IntegrityError):
        await Organization.filter(id=hall.id).update(construction_status=None)


async def test_windows_belong_to_a_center_or_hall(fresh_db):
    region, center, _ = await make_tree()
    window = await Window.create(organization=center, code="W1", name="综合窗口")
    assert window.id
    with pytest.raises(DomainError):
        await Window.create(organization=region, code="W1", name="窗口")
    with pytest.raises(IntegrityError):
        await Window.create(organization=center, code="W1", name="重复")


async def test_coverage_by_area_adds_up_to_each_areas_own_coverage(api):
    """coverageByArea: one row per child's whole area, whose figures equal coverage(root: child)."""
    (top,) = (await api.data("{ coverageByArea { organizationId code organizations } }"))["coverageByArea"]
    assert (top["code"], top["organizations"]) == ("QJL", 44)
    center = (
        await api.data(f'{{ coverageByArea(root: "{top["organizationId"]}") {{ organizationId code }} }}')
    )["coverageByArea"]
    assert [c["code"] for c in center] == ["QJL-ZWFW"]
    figures = "organizationId code tier organizations halls { total built } rooms { total built planned }"
    halls = (await api.data(f'{{ coverageByArea(root: "{center[0]["organizationId"]}") {{ {figures} }} }}'))[
        "coverageByArea"
    ]
    assert [h["code"] for h in halls] == ["QJL-H1", "QJL-H2", "QJL-H3", "QJL-H4"]
    assert sum(h["organizations"] for h in halls) == 42 and sum(h["rooms"]["total"] for h in halls) == 38
    for hall in halls:
        own = (await api.data(f'{{ coverage(root: "{hall["organizationId"]}") {{ total built planned }} }}'))[
            "coverage"
        ]
        assert [hall["halls"], hall["rooms"]] == [
            {"total": own[0]["total"], "built": own[0]["built"]},
            own[1],
        ], hall["code"]
    rooms = (
        await api.data(f'{{ coverageByArea(root: "{halls[0]["organizationId"]}") {{ organizations tier }} }}')
    )["coverageByArea"]
    assert rooms and all(r == {"organizations": 1, "tier": "ROOM"} for r in rooms)
    missing = await api.error('{ coverageByArea(root: "T3JnYW5pemF0aW9uOjk5OTk5") { code } }')
    assert (missing["extensions"]["code"], missing["extensions"]["field"]) == ("NOT_FOUND", "root")


async def test_within_filters_an_organizations_area_in_lists_relations_and_aggregates(api):
    """`within: ID` is the organization and everything below it, however deep: equal to walking
    `children` down from it, through a relation filter and in an aggregate too."""
    nodes = (await api.data("{ organizations(first: 500) { nodes { id code parent { id } } } }"))[
        "organizations"
    ]["nodes"]
    below: dict[str | None, list[str]] = {}
    for org in nodes:
        below.setdefault((org["parent"] or {}).get("id"), []).append(org["id"])

    def area(top: str) -> set[str]:
        return {top}.union(*(area(child) for child in below.get(top, [])))

    codes = {org["id"]: org["code"] for org in nodes}
    query = "query($top: ID) { organizations(first: 500, where: {within: $top}) { nodes { id } } }"
    for code in ("QJL", "QJL-ZWFW", "QJL-H2", "QJL-H2-R01"):
        top = next(i for i, c in codes.items() if c == code)
        found = {n["id"] for n in (await api.data(query, {"top": top}))["organizations"]["nodes"]}
        assert found == area(top), code
    hall = next(i for i, c in codes.items() if c == "QJL-H2")
    rooms = area(hall) - {hall}
    data = await api.data(
        """query($top: ID) {
          itemAssignments(first: 500, where: {organization: {within: $top, tier: {eq: ROOM}}}) {
            totalCount nodes { organization { id } } }
          itemAssignmentsAggregate(where: {organization: {within: $top}},
            groupBy: [{organizationCode: true}]) { count groups { keys { organizationCode } count } } }""",
        {"top": hall},
    )
    assert {n["organization"]["id"] for n in data["itemAssignments"]["nodes"]} <= rooms
    every = (
        await api.data(
            "{ itemAssignmentsAggregate(groupBy: [{organizationCode: true}]) "
            "{ groups { keys { organizationCode } count } } }"
        )
    )["itemAssignmentsAggregate"]["groups"]
    per_code = {g["keys"]["organizationCode"]: g["count"] for g in every}
    assert data["itemAssignments"]["totalCount"] == sum(per_code.get(codes[i], 0) for i in rooms) > 0
    groups = {g["keys"]["organizationCode"]: g["count"] for g in data["itemAssignmentsAggregate"]["groups"]}
    assert groups == {codes[i]: per_code[codes[i]] for i in area(hall) if codes[i] in per_code}
    assert data["itemAssignmentsAggregate"]["count"] == sum(groups.values())
    nothing = "T3JnYW5pemF0aW9uOjk5OTk5"  # Organization:99999, which does not exist
    assert (await api.data(query, {"top": nothing}))["organizations"]["nodes"] == []
    outside = "query($top: ID) { organizations(first: 500, where: {not: {within: $top}}) { nodes { id } } }"
    everyone = {n["id"] for n in (await api.data(outside, {"top": nothing}))["organizations"]["nodes"]}
    assert everyone == set(codes)  # outside an area that is not there: every organization
    rest = {n["id"] for n in (await api.data(outside, {"top": hall}))["organizations"]["nodes"]}
    assert rest == set(codes) - area(hall)
    wrong = await api.error(query, {"top": "SXRlbTox"})  # Item:1
    refused = (wrong["extensions"]["code"], wrong["extensions"]["field"])
    assert refused == ("VALIDATION_FAILED", "where.within")
