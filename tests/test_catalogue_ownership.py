"""Who owns a catalogue item: the region that publishes it changes its shared fields and guides;
each district keeps its own promised limit and phones (itemLocals), which its cases use."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from api import db
from api.auth import apikeys
from api.models.item import Item, ItemAssignment, ItemLocal, Power
from api.models.org import Organization, OrgKind, Tier
from api.models.user import Role
from api.services.calendar import load_year
from api.services.users import create_user
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.conftest import DEMO_PASSWORD, serving
from tests.factories import make_district
from tests.test_catalogue_file import csv_file

ZONE = ZoneInfo("Asia/Shanghai")
PERSON = 'applicantType: PERSON, applicantName: "王小明", applicantIdNumber: "11010519491231002X"'


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 21, 9, 0, tzinfo=ZONE)

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
async def province(seeded_url):
    """The fixture district and a second one (OD) under a province (PRV) that publishes the shared
    list; an administrator at each level, a clerk at OD's hall, and QJL's integrator key."""
    async with db.database(Settings(database_url=seeded_url)):
        await load_year(2026)
        _region, _center, hall, _room = await make_district("OD")
        province = await Organization.create(
            code="PRV", name="示例省", tier=Tier.REGION, kind=OrgKind.PROVINCE
        )
        for code in ("QJL", "OD"):
            district = await Organization.get(code=code)
            district.parent = province
            await district.save()
        for name, role, org in (
            ("province_admin", Role.ADMIN, "PRV"),
            ("od_admin", Role.ADMIN, "OD"),
            ("od_clerk", Role.CLERK, "OD-H"),
        ):
            await create_user(name, DEMO_PASSWORD, role, organization_code=org, enforce_policy=False)
        item = await Item.get(code="GG-003")
        await ItemAssignment.create(
            item=item,
            organization=hall,
            power=Power.FULL,
            legal_basis="示例",
            effective_from=date(2026, 1, 1),
        )
        key = (await apikeys.create("qjl platform", "QJL", scopes=frozenset({"read:*", "write:*"}))).key
        local = await ItemLocal.get(item=item, organization__code="QJL")
    clock = Clock()
    async with serving(seeded_url, clock=clock) as anonymous:
        users = {name: await anonymous.sign_in(name) for name in ("admin", "province_admin", "od_admin")}
        users["hall_clerk"] = await anonymous.sign_in("hall_clerk")
        users["od_clerk"] = await anonymous.sign_in("od_clerk")
        yield {
            "users": users,
            "http": anonymous.http,
            "key": key,
            "item": to_global_id("Item", item.pk),
            "qjl_local": to_global_id("ItemLocal", local.pk),
            "clock": clock,
            "url": seeded_url,
        }


def code_of(error: dict) -> str:
    return error["extensions"]["code"]


def update_local(local: str, change: str, returns: str = "id") -> str:
    return f'mutation {{ updateItemLocal(id: "{local}", input: {{{change}}}) {{ {returns} }} }}'


async def test_a_district_cannot_change_what_the_province_publishes(province):
    admin, item = province["users"]["admin"], province["item"]
    for change in ('department: "某局"', "promisedLimitDays: 1", 'name: "改名"'):
        error = await admin.error(f'mutation {{ updateItem(id: "{item}", input: {{{change}}}) {{ id }} }}')
        assert code_of(error) == "FORBIDDEN", error
        assert "outside your area" in error["message"]
    # nor its guide: a new revision or a material of the published one
    error = await admin.error(
        f'mutation {{ createGuideRevision(input: {{itemId: "{item}", revision: 9, '
        'effectiveFrom: "2026-10-01", changeNote: "x"}) { id } }'
    )
    assert code_of(error) == "FORBIDDEN", error
    guides = await admin.data(f'{{ item(id: "{item}") {{ guideRevisions(last: 1) {{ nodes {{ id }} }} }} }}')
    revision = guides["item"]["guideRevisions"]["nodes"][0]["id"]
    error = await admin.error(
        f'mutation {{ createMaterial(input: {{guideRevisionId: "{revision}", position: 99, name: "新材料"}}) '
        "{ id } }"
    )
    assert code_of(error) == "FORBIDDEN", error
    # an integrator's write:* key of the district neither
    response = await province["http"].post(
        "/graphql",
        json={"query": f'mutation {{ updateItem(id: "{item}", input: {{promisedLimitDays: 1}}) {{ id }} }}'},
        headers={"X-API-Key": province["key"]},
    )
    (error,) = response.json()["errors"]
    assert code_of(error) == "FORBIDDEN", error
    async with db.database(Settings(database_url=province["url"])):
        found = await Item.get(code="GG-003")
        assert (found.department, found.name) != ("某局", "改名") and found.promised_limit_days != 1
    # the province, which publishes it, may
    done = await province["users"]["province_admin"].data(
        f'mutation {{ updateItem(id: "{item}", input: {{department: "某局"}}) '
        "{ department publisher { id } } }"
    )
    assert done["updateItem"] == {"department": "某局", "publisher": None}


async def test_a_district_publishes_and_changes_its_own_items_and_values(province):
    admin = province["users"]["admin"]
    region = (await admin.data("{ myPermissions { regionId } }"))["myPermissions"]["regionId"]
    fields = (
        'code: "QJL-OWN-1", name: "本区特色事项", type: PUBLIC_SERVICE, source: OWN, department: "本区某局", '
        "caseKind: PROMISED, legalLimitDays: 10, promisedLimitDays: 5"
    )
    # an item published at the top is not the district's to create
    error = await admin.error(f"mutation {{ createItem(input: {{{fields}}}) {{ id }} }}")
    assert code_of(error) == "FORBIDDEN", error
    made = await admin.data(
        f'mutation {{ createItem(input: {{{fields}, publisherId: "{region}"}}) '
        "{ id publisher { code } } }"
    )
    own = made["createItem"]["id"]
    assert made["createItem"]["publisher"] == {"code": "QJL"}
    await admin.data(f'mutation {{ updateItem(id: "{own}", input: {{department: "本区另一局"}}) {{ id }} }}')
    # another district cannot change it, and may still read it
    od_admin = province["users"]["od_admin"]
    error = await od_admin.error(
        f'mutation {{ updateItem(id: "{own}", input: {{department: "他区"}}) {{ id }} }}'
    )
    assert code_of(error) == "FORBIDDEN", error
    assert (await od_admin.data(f'{{ item(id: "{own}") {{ department }} }}'))["item"] == {
        "department": "本区另一局"
    }
    # its own values of the province's item: yes; another district's: no
    changed = await admin.data(
        update_local(
            province["qjl_local"], 'consultPhone: "0724-5209999"', "consultPhone organization { code }"
        )
    )
    assert changed["updateItemLocal"] == {"consultPhone": "0724-5209999", "organization": {"code": "QJL"}}
    error = await od_admin.error(update_local(province["qjl_local"], 'consultPhone: "1"'))
    assert code_of(error) == "FORBIDDEN", error
    # a promised limit over the legal one is refused with the field named
    error = await admin.error(update_local(province["qjl_local"], "promisedLimitDays: 999"))
    assert (code_of(error), error["extensions"].get("field")) == ("VALIDATION_FAILED", "promisedLimitDays"), (
        error
    )


async def submit_and_accept(client, item: str) -> dict:
    data = await client.data(
        f'mutation {{ submitCase(input: {{itemId: "{item}", {PERSON}, applicantPhone: "13800138000", '
        "channel: COUNTER}) { case { id version } } }"
    )
    case = data["submitCase"]["case"]
    accepted = await client.data(
        f'mutation {{ acceptCase(id: "{case["id"]}", version: {case["version"]}) '
        "{ id promisedLimitDays promisedDueDate acceptedOn handlingOrganization { code } } }"
    )
    return accepted["acceptCase"]


async def test_each_district_s_cases_follow_its_own_promised_limit(province):
    users, item = province["users"], province["item"]
    # OD keeps its own value of the province's item
    od_region = (await users["od_admin"].data("{ myPermissions { regionId } }"))["myPermissions"]["regionId"]
    await users["od_admin"].data(
        f'mutation {{ createItemLocal(input: {{itemId: "{item}", organizationId: "{od_region}", '
        "promisedLimitDays: 7}) { id } }"
    )
    await users["admin"].data(update_local(province["qjl_local"], "promisedLimitDays: 2"))
    at_qjl = await submit_and_accept(users["hall_clerk"], item)
    at_od = await submit_and_accept(users["od_clerk"], item)
    assert (at_qjl["handlingOrganization"]["code"], at_qjl["promisedLimitDays"]) == ("QJL-H1", 2)
    assert (at_od["handlingOrganization"]["code"], at_od["promisedLimitDays"]) == ("OD-H", 7)
    assert (
        at_qjl["acceptedOn"] == at_od["acceptedOn"] and at_qjl["promisedDueDate"] < at_od["promisedDueDate"]
    )

    # QJL changes its promised limit: OD's cases, accepted and new, keep theirs
    await users["admin"].data(update_local(province["qjl_local"], "promisedLimitDays: 1"))
    again_od = await submit_and_accept(users["od_clerk"], item)
    assert (again_od["promisedLimitDays"], again_od["promisedDueDate"]) == (7, at_od["promisedDueDate"])
    earlier = await users["od_admin"].data(
        f'{{ node(id: "{at_od["id"]}") {{ ... on Case {{ promisedDueDate }} }} }}'
    )
    assert earlier["node"]["promisedDueDate"] == at_od["promisedDueDate"]
    again_qjl = await submit_and_accept(users["hall_clerk"], item)
    assert again_qjl["promisedLimitDays"] == 1 and again_qjl["promisedDueDate"] < at_qjl["promisedDueDate"]


async def test_a_district_s_list_changes_its_own_values_but_not_what_the_province_publishes(province):
    admin = province["users"]["admin"]
    rows = await exported_list(admin)
    by_code = {row["事项编码"]: row for row in rows}
    by_code["GG-001"]["承诺时限（工作日）"] = "1"  # the district's own value: allowed
    by_code["GG-003"]["实施部门"] = "区里改的部门"  # the province's: not the district's to change
    result = await dry_run(admin, rows)
    assert (result["changed"], result["invalid"]) == (1, 1), result
    statuses = {row["code"]: (row["status"], row["reason"]) for row in result["rows"]}
    assert statuses["GG-001"] == ("CHANGED", "")
    assert statuses["GG-003"][0] == "INVALID" and statuses["GG-003"][1].startswith(
        "FORBIDDEN: the item is published by the top list"
    )


async def test_the_province_cannot_lower_a_legal_limit_under_a_district_s_promise(province):
    admin = province["users"]["province_admin"]
    rows = await exported_list(admin)
    row = next(r for r in rows if r["事项编码"] == "GG-003")
    row["法定时限（工作日）"], row["承诺时限（工作日）"] = "1", "1"
    (refused,) = (await dry_run(admin, rows))["rows"]
    assert refused["code"] == "GG-003" and refused["status"] == "INVALID"
    assert "another district promises" in refused["reason"], refused


async def exported_list(client) -> list[dict[str, str]]:
    """The caller's region's implementation list, row by row, as the API exports it (CSV)."""
    exported = await client.data("{ catalogueFile(format: CSV) { contentBase64 } }")
    text = base64.b64decode(exported["catalogueFile"]["contentBase64"]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


async def dry_run(client, rows: list[dict[str, str]]) -> dict:
    query = """mutation($file: String!) { importCatalogue(file: $file, filename: "l.csv") {
        changed invalid rows { code status reason } } }"""
    content = base64.b64encode(csv_file(rows)).decode()
    return (await client.data(query, {"file": content}))["importCatalogue"]
