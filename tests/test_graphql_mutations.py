"""Generated mutations over /graphql: validation, constraints and transactions (nothing half-written)."""

from __future__ import annotations

from api import db
from api.models.org import Organization
from api.settings import Settings
from schema.generator.ids import to_global_id

CREATE = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id code } }"


async def org_id(url: str, code: str) -> str:
    async with db.database(Settings(database_url=url)):
        return to_global_id("Organization", (await Organization.get(code=code)).pk)


async def org_count(url: str) -> int:
    async with db.database(Settings(database_url=url)):
        return await Organization.all().count()


def room(code: str, parent: str | None = None, **extra) -> dict:
    fields = {
        "code": code,
        "name": f"{code}便民服务室",
        "tier": "ROOM",
        "kind": "VILLAGE",
        "constructionStatus": "PLANNED",
    }
    if parent:
        fields["parentId"] = parent
    return {**fields, **extra}


async def test_a_room_under_a_hall_is_created(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H2")
    data = await api.data(CREATE, {"input": room("NEW-1", hall, population=1200)})
    assert data["createOrganization"]["code"] == "NEW-1"
    assert await org_count(url) == 45


async def test_a_parent_breaking_the_tier_rules_is_refused_and_nothing_is_written(writable):
    api, url = writable
    center = await org_id(url, "QJL-ZWFW")
    error = await api.error(CREATE, {"input": room("NEW-2", center)})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "parentId"}
    assert "a ROOM cannot be placed under a CENTER" in error["message"]
    assert await org_count(url) == 44


async def test_a_duplicate_code_is_a_conflict(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H2")
    error = await api.error(CREATE, {"input": room("QJL-H1-R01", hall)})
    assert error["extensions"] == {"code": "CONFLICT", "field": "code"}
    assert await org_count(url) == 44


async def test_nested_create_is_one_transaction(writable):
    api, url = writable
    center = await org_id(url, "QJL-ZWFW")
    hall = {
        "code": "H5",
        "name": "第五办事处便民服务大厅",
        "tier": "HALL",
        "kind": "SUB_DISTRICT",
        "parentId": center,
        "constructionStatus": "UNDER_CONSTRUCTION",
    }
    bad = {**hall, "children": [room("H5-R1"), room("H5-R2", kind="SUB_DISTRICT")]}
    error = await api.error(CREATE, {"input": bad})
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert await org_count(url) == 44
    good = {**hall, "children": [room("H5-R1"), room("H5-R2", kind="TEAM")]}
    query = """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
                 code children(orderBy: [{code: ASC}]) { nodes { code parent { code } } } } }"""
    created = (await api.data(query, {"input": good}))["createOrganization"]
    assert [c["code"] for c in created["children"]["nodes"]] == ["H5-R1", "H5-R2"]
    assert {c["parent"]["code"] for c in created["children"]["nodes"]} == {"H5"}
    assert await org_count(url) == 47


async def test_an_item_with_its_first_guide_and_materials(writable):
    api, _url = writable
    query = """mutation($input: CreateItemInput!) { createItem(input: $input) {
                 name tagImmediate tagOneVisit
                 guideRevisions { nodes { revision materials { totalCount } } } } }"""
    item = {
        "code": "GG-900",
        "name": "示例便民事项",
        "type": "PUBLIC_SERVICE",
        "source": "OWN",
        "department": "民政局",
        "caseKind": "IMMEDIATE",
        "legalLimitDays": 1,
        "promisedLimitDays": 0,
        "visitsRequired": 1,
        "guideRevisions": [
            {
                "revision": 1,
                "effectiveFrom": "2018-01-01",
                "materials": [
                    {"position": 1, "name": "申请表"},
                    {"position": 2, "name": "身份证", "form": "COPY"},
                ],
            }
        ],
    }
    created = (await api.data(query, {"input": item}))["createItem"]
    assert (created["tagImmediate"], created["tagOneVisit"]) == (True, True)
    assert created["guideRevisions"]["nodes"] == [{"revision": 1, "materials": {"totalCount": 2}}]


async def test_bulk_create_is_all_or_none(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H3")
    query = "mutation($inputs: [CreateOrganizationInput!]!) { createOrganizations(inputs: $inputs) { code } }"
    error = await api.error(query, {"inputs": [room("B-1", hall), room("B-1", hall)]})
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["message"].startswith("inputs[1]:")
    assert await org_count(url) == 44
    data = await api.data(query, {"inputs": [room("B-1", hall), room("B-2", hall)]})
    assert [o["code"] for o in data["createOrganizations"]] == ["B-1", "B-2"]


async def test_update_validates_and_a_check_constraint_reads_clearly(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H1")
    query = """mutation($id: ID!, $input: UpdateOrganizationInput!) {
                 updateOrganization(id: $id, input: $input) { population address } }"""
    error = await api.error(query, {"id": hall, "input": {"population": -5}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "population"}
    data = await api.data(query, {"id": hall, "input": {"address": "新地址"}})
    assert data["updateOrganization"]["address"] == "新地址"
    assert data["updateOrganization"]["population"] == 23_600


async def test_delete_refuses_a_referenced_object_and_removes_a_free_one(writable):
    api, url = writable
    query = "mutation($id: ID!) { deleteOrganization(id: $id) { id } }"
    error = await api.error(query, {"id": await org_id(url, "QJL-H1")})
    assert error["extensions"]["code"] == "CONSTRAINT"
    hall = await org_id(url, "QJL-H2")
    new = (await api.data(CREATE, {"input": room("DEL-1", hall)}))["createOrganization"]["id"]
    assert (await api.data(query, {"id": new}))["deleteOrganization"]["id"] == new
    assert await org_count(url) == 44


async def test_unknown_ids_are_not_found(writable):
    api, _url = writable
    missing = to_global_id("Organization", 999_999)
    error = await api.error(CREATE, {"input": room("NF-1", missing)})
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "parentId"}
    update = 'mutation($id: ID!) { updateOrganization(id: $id, input: {name: "x"}) { name } }'
    error = await api.error(update, {"id": missing})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_revoking_an_assignment_keeps_its_history_and_frees_the_pair(writable):
    api, url = writable
    from api.models.item import ItemAssignment

    async with db.database(Settings(database_url=url)):
        row = await ItemAssignment.filter(organization__code="QJL-H1").first()
        assignment_id = to_global_id("ItemAssignment", row.pk)
        item_id, org = to_global_id("Item", row.item_id), to_global_id("Organization", row.organization_id)
    revoke = """mutation($id: ID!) { revokeItemAssignments(ids: [$id]) { active revokedAt } }"""
    assert (await api.data(revoke, {"id": assignment_id}))["revokeItemAssignments"][0]["active"] is None
    change = """mutation($id: ID!) { updateItemAssignment(id: $id, input: {legalBasis: "改写"}) { id } }"""
    error = await api.error(change, {"id": assignment_id})  # a revoked assignment is history
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert error["message"].startswith("the assignment was revoked at ")
    again = """mutation($input: CreateItemAssignmentInput!) {
                 createItemAssignment(input: $input) { power active } }"""
    data = {
        "itemId": item_id,
        "organizationId": org,
        "power": "AGENCY_ONLY",
        "legalBasis": "通知",
        "effectiveFrom": "2018-03-02",
    }
    assert (await api.data(again, {"input": data}))["createItemAssignment"] == {
        "power": "AGENCY_ONLY",
        "active": True,
    }
    error = await api.error(again, {"input": data})
    assert error["extensions"]["code"] == "CONFLICT"


async def test_writes_need_a_signed_in_caller(api):
    error = await api.error(CREATE, {"input": room("ANON-1")})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "sign in" in error["message"]


async def test_a_field_validator_failure_is_a_coded_error(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H2")
    error = await api.error(CREATE, {"input": {**room("LONG-1", hall), "name": "长" * 101}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "name"}
    assert await org_count(url) == 44


async def test_null_for_a_field_the_table_requires_is_a_coded_error(writable):
    api, url = writable
    hall = await org_id(url, "QJL-H2")
    error = await api.error(CREATE, {"input": {**room("NULL-1", hall), "address": None}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "address"}
    assert await org_count(url) == 44
    query = """mutation($id: ID!, $input: UpdateOrganizationInput!) {
                 updateOrganization(id: $id, input: $input) { name } }"""
    error = await api.error(query, {"id": hall, "input": {"name": None}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "name"}
