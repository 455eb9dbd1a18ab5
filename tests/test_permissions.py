"""Permissions by example: the rules a reader of docs/security.md expects, one test each."""

from __future__ import annotations

from api import db
from api.models.item import Item, ItemAssignment, WindowItem
from api.models.org import Organization
from api.models.user import Role, User
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.conftest import serving
from tests.factories import make_district, make_item


async def _ids(url: str, *codes: str) -> dict[str, str]:
    async with db.database(Settings(database_url=url)):
        found = {o.code: o.pk for o in await Organization.filter(code__in=codes)}
    return {code: to_global_id("Organization", pk) for code, pk in found.items()}


async def _other_district(url: str) -> str:
    async with db.database(Settings(database_url=url)):
        _region, center, _hall, _room = await make_district("OD")
    return to_global_id("Organization", center.pk)


CASE_COUNT = "{ cases { totalCount } casesAggregate { count } }"


async def test_a_hall_clerk_sees_the_cases_of_its_hall_and_rooms_only(api, fixture_url):
    from api.models.case import Case

    async with db.database(Settings(database_url=fixture_url)):
        hall = await Organization.get(code="QJL-H1")
        area = [hall.pk, *await Organization.filter(parent_id=hall.pk).values_list("id", flat=True)]
        expected = (
            await Case.filter(submitted_at_organization_id__in=area).count()
            + await Case.filter(handling_organization_id__in=area)
            .exclude(submitted_at_organization_id__in=area)
            .count()
        )
        everything = await Case.all().count()
    clerk = await api.sign_in("hall_clerk")
    data = await clerk.data(CASE_COUNT)
    assert data == {"cases": {"totalCount": expected}, "casesAggregate": {"count": expected}}
    assert 0 < expected < everything
    admin = await api.sign_in("admin")
    assert (await admin.data(CASE_COUNT))["cases"]["totalCount"] == everything


async def test_the_public_reads_the_catalogue_and_directory_but_no_cases(api):
    data = await api.data("{ items { totalCount } organizations { totalCount } }")
    assert data["items"]["totalCount"] == 304 and data["organizations"]["totalCount"] > 40
    refused = await api.error(CASE_COUNT)
    assert refused["extensions"] == {"code": "UNAUTHENTICATED"}
    assert refused["message"] == "sign in to read cases"


async def test_a_filter_through_a_relation_cannot_reveal_rows_the_caller_may_not_read(api):
    # Which organizations handle a case of this applicant? The public may not ask.
    query = """{ organizations(where: {handledCases: {applicantName: {eq: "张三"}}}) { totalCount } }"""
    assert (await api.error(query))["extensions"]["code"] == "UNAUTHENTICATED"
    # An agent sees only its room's cases, so filtering organizations by them finds only those.
    agent = await api.sign_in("agent")
    data = await agent.data(
        """{ organizations(where: {handledCases: {status: {eq: COMPLETED}}}) { nodes { code } } }"""
    )
    assert {n["code"] for n in data["organizations"]["nodes"]} <= {"QJL-H1-R01", "QJL-H1", "QJL-ZWFW"}
    grouped = await agent.data(
        "{ casesAggregate(groupBy: [{submittedAtOrganizationCode: true}]) { groups { keys "
        "{ submittedAtOrganizationCode } } } }"
    )
    codes = {g["keys"]["submittedAtOrganizationCode"] for g in grouped["casesAggregate"]["groups"]}
    assert codes == {"QJL-H1-R01"}


async def test_an_admin_cannot_assign_an_item_outside_its_district(writable):
    admin, url = writable
    other = await _other_district(url)
    async with db.database(Settings(database_url=url)):
        item = to_global_id("Item", (await Item.first()).pk)
        before = await ItemAssignment.all().count()
    error = await admin.error(
        """mutation($input: CreateItemAssignmentInput!) { createItemAssignment(input: $input) { id } }""",
        {
            "input": {
                "itemId": item,
                "organizationId": other,
                "power": "FULL",
                "legalBasis": "示例",
                "effectiveFrom": "2019-01-01",
            }
        },
    )
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "organizationId"}
    assert "outside your area" in error["message"]
    async with db.database(Settings(database_url=url)):
        assert await ItemAssignment.all().count() == before


async def test_an_admin_cannot_move_an_organization_into_another_district(writable):
    admin, url = writable
    other = await _other_district(url)
    ids = await _ids(url, "QJL-H1")
    error = await admin.error(
        """mutation($id: ID!, $parent: ID!) {
             updateOrganization(id: $id, input: {parentId: $parent}) { id } }""",
        {"id": ids["QJL-H1"], "parent": other},
    )
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "parentId"}
    async with db.database(Settings(database_url=url)):
        hall = await Organization.get(code="QJL-H1")
        assert (await Organization.get(id=hall.parent_id)).code == "QJL-ZWFW"


async def test_a_supervisor_records_construction_but_may_not_rename(writable):
    _admin, url = writable
    ids = await _ids(url, "QJL-H1-R01")
    async with serving(url) as api:
        supervisor = await api.sign_in("supervisor")
        change = """mutation($id: ID!, $input: UpdateOrganizationInput!) {
          updateOrganization(id: $id, input: $input) { constructionStatus name } }"""
        done = await supervisor.data(
            change,
            {
                "id": ids["QJL-H1-R01"],
                "input": {"constructionStatus": "STANDARDIZED", "standardizedOn": "2018-03-01"},
            },
        )
        assert done["updateOrganization"]["constructionStatus"] == "STANDARDIZED"
        error = await supervisor.error(
            change, {"id": ids["QJL-H1-R01"], "input": {"name": "改名", "constructionStatus": "BUILT"}}
        )
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "name"}
    assert error["message"] == "role SUPERVISOR may not set name of a Organization"
    async with db.database(Settings(database_url=url)):
        room = await Organization.get(code="QJL-H1-R01")
        assert room.name != "改名" and room.construction_status == "STANDARDIZED"  # all or nothing


async def test_a_role_or_organization_change_applies_at_the_next_request(writable):
    _admin, url = writable
    async with serving(url) as api:
        clerk = await api.sign_in("hall_clerk")
        before = (await clerk.data(CASE_COUNT))["cases"]["totalCount"]
        async with db.database(Settings(database_url=url)):
            center = await Organization.get(code="QJL-ZWFW")
            await User.filter(username="hall_clerk").update(organization_id=center.pk)
        after = (await clerk.data(CASE_COUNT))["cases"]["totalCount"]
        assert after > before
        async with db.database(Settings(database_url=url)):
            await User.filter(username="hall_clerk").update(role="AGENT")
        permissions = await clerk.data("{ myPermissions { role } }")
    assert permissions == {"myPermissions": {"role": "AGENT"}}


MY_PERMISSIONS = """{ myPermissions { role organizationId areaSize apiKeyScopes
  models { model read rowScope create update delete creatableFields updatableFields clearFields } } }"""


def _by_model(data: dict) -> dict[str, dict]:
    return {m["model"]: m for m in data["myPermissions"]["models"]}


async def test_my_permissions_tells_each_role_what_it_may_do(api):
    public = await api.data(MY_PERMISSIONS)
    assert public["myPermissions"]["role"] == "PUBLIC"
    models = _by_model(public)
    assert models["Item"]["read"] and models["Item"]["rowScope"] == "ALL" and not models["Item"]["create"]
    assert not models["Case"]["read"] and models["Case"]["rowScope"] is None

    supervisor = _by_model(await (await api.sign_in("supervisor")).data(MY_PERMISSIONS))
    org = supervisor["Organization"]
    assert org["update"] and not org["create"] and not org["delete"]
    assert org["updatableFields"] == [
        "constructionStatus",
        "constructionStartedOn",
        "builtOn",
        "standardizedOn",
    ]
    assert supervisor["Funding"]["create"] and supervisor["Case"]["clearFields"] == []

    clerk = await (await api.sign_in("hall_clerk")).data(MY_PERMISSIONS)
    assert clerk["myPermissions"]["areaSize"] > 1
    models = _by_model(clerk)
    assert models["Case"]["rowScope"] == "AREA"
    assert models["Case"]["clearFields"] == ["applicantIdNumber", "applicantPhone"]
    assert models["Staff"]["clearFields"] == []  # staff members' own data: administrators only
    assert models["DutyShift"]["creatableFields"] == [
        "organizationId",
        "staffId",
        "dutyDate",
        "period",
        "publishedAt",
    ]
    assert not models["AuditEntry"]["read"]

    admin = await (await api.sign_in("admin")).data(MY_PERMISSIONS)
    assert admin["myPermissions"]["areaSize"] is None  # the whole database is its district
    assert _by_model(admin)["AuditEntry"]["read"]


async def test_sorting_or_grouping_through_a_relation_needs_reading_all_its_rows(api):
    # Sort and group keys come from the related row, and sort keys travel in cursors: an agent
    # would see the names of staff outside its room.
    agent = await api.sign_in("agent")
    for query in (
        "{ evaluations(orderBy: [{staff: {name: ASC}}]) { edges { cursor } } }",
        "{ evaluationsAggregate(groupBy: [{staffName: true}]) { groups { count } } }",
        "{ agencyBatchCasesAggregate(groupBy: [{caseStatus: true}]) { groups { count } } }",
    ):
        error = await agent.error(query)
        assert error["extensions"]["code"] == "FORBIDDEN", query
        assert "you read those of your area only" in error["message"]
    # Public models sort and group for everyone; an administrator reads all staff of the district.
    assert await agent.data("{ cases(first: 1, orderBy: [{item: {name: ASC}}]) { totalCount } }")
    admin = await api.sign_in("admin")
    data = await admin.data("{ evaluationsAggregate(groupBy: [{staffName: true}]) { count } }")
    assert data["evaluationsAggregate"]["count"] > 0


async def test_one_id_number_in_two_districts_reveals_nothing(writable):
    admin, url = writable
    od_center = await _other_district(url)
    async with db.database(Settings(database_url=url)):
        from api.services.users import create_user

        await create_user("od_admin", "Od-admin-2018", Role.ADMIN, organization_code="OD")
        qjl_center = (await _ids(url, "QJL-ZWFW"))["QJL-ZWFW"]
    create = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { id } }"""
    number = "11010519491231002X"
    await admin.data(create, {"input": {"organizationId": qjl_center, "name": "甲", "idNumber": number}})
    async with serving(url) as http:
        other = await http.sign_in("od_admin", "Od-admin-2018")
        made = await other.data(
            create, {"input": {"organizationId": od_center, "name": "乙", "idNumber": number}}
        )
    assert made["createStaff"]["id"]  # no CONFLICT telling it the number is taken elsewhere


async def test_deleting_a_shared_item_may_not_cascade_into_another_district(writable):
    _admin, url = writable
    await _other_district(url)
    async with db.database(Settings(database_url=url)):
        from api.services.users import create_user

        await create_user("od_admin", "Od-admin-2018", Role.ADMIN, organization_code="OD")
        from api.models.org import Window

        new = await make_item("XK-NEW")  # OD's own item, which QJL's window serves
        new.publisher = await Organization.get(code="OD")
        await new.save()
        served = await WindowItem.create(window=await Window.first(), item=new)
        item = to_global_id("Item", new.pk)
    async with serving(url) as http:
        other = await http.sign_in("od_admin", "Od-admin-2018")
        error = await other.error("mutation($id: ID!) { deleteItem(id: $id) { id } }", {"id": item})
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == "deleting this Item would also delete windowItems outside your area"
    async with db.database(Settings(database_url=url)):
        assert await WindowItem.exists(id=served.pk)


async def test_an_integrator_signed_in_with_a_password_only_reads(api):
    integrator = await api.sign_in("integrator")
    assert (await integrator.data("{ cases { totalCount } }"))["cases"]["totalCount"] > 0
    error = await integrator.error(
        'mutation { createCalendarDay(input: {day: "2031-01-01", isWorkday: false}) { day } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == (
        "signed in with a password, an integrator only reads; to create calendarDays, "
        "call with an API key that has the write:calendarDays scope"
    )
