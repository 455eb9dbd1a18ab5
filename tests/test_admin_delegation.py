"""The item delegation page (事项下放) against a real API server on a copy of the Qujialing fixture."""

from __future__ import annotations

import asyncio
import io
from pathlib import PurePosixPath

import httpx
import openpyxl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.ui_support import PAGES, graphql_at, run, signed_in

PAGE = str(PAGES / "delegation.py")
HALLS = [
    "第一办事处便民服务大厅",
    "第二办事处便民服务大厅",
    "第三办事处便民服务大厅",
    "第四办事处便民服务大厅",
]
HALL_ONE = """{ organizations(where: {code: {eq: "QJL-H1"}}) { nodes { id } } }"""
UNASSIGNED_AT_HALL_ONE = """{ items(first: 2, orderBy: [{code: DESC}],
  where: {not: {assignments: {organization: {code: {eq: "QJL-H1"}}}}}) { nodes { id code } } }"""
CREATE = """mutation($inputs: [CreateItemAssignmentInput!]!) {
  createItemAssignments(inputs: $inputs) { id } }"""
AT_HALL_ONE = """query { itemAssignments(first: 500, where: {active: {eq: true},
  organization: {code: {eq: "QJL-H1"}}}) { totalCount nodes { id power legalBasis item { id } } } }"""


def frame(app, column: str):
    """The first table on the page with this column."""
    return next(df.value for df in app.dataframe if column in df.value.columns)


async def test_the_matrix_shows_71_delegated_items_at_each_hall(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    app = await asyncio.to_thread(run, shared_api_url, PAGE, auth)
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value == "事项下放"
    assert "三统一" in app.info[0].value
    counts = frame(app, "下放事项数")
    assert list(counts["组织"]) == HALLS
    assert list(counts["下放事项数"]) == [71, 71, 71, 71]
    matrix = frame(app, "编码")
    assert [c for c in matrix.columns if c not in ("编码", "事项")] == HALLS
    assert all((matrix[hall] == "全办").sum() == 71 for hall in HALLS)
    assert set(matrix[HALLS[0]]) <= {"全办", "受理初审", "代办", ""}


async def test_filters_narrow_the_matrix_and_the_counts(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")

    def public_service(app):
        app.selectbox(key="dg_type").select("PUBLIC_SERVICE")

    def rooms(app):
        app.selectbox(key="dg_tier").select("ROOM")

    app = await asyncio.to_thread(run, shared_api_url, PAGE, auth, "en", [public_service, rooms])
    assert not app.exception, app.exception
    assert app.title[0].value == "Item delegation"
    counts = frame(app, "Delegated")
    assert len(counts) == 38  # every room, each with a count of its own
    matrix = frame(app, "Code")
    assert len(matrix) > 0 and not matrix["Code"].str.startswith("XK").any()


async def test_the_matrix_pages_an_areas_organizations_on_the_server(shared_api_url, monkeypatch):
    """A province's tier is too large to read at once: the page reads one area (the caller's, or
    one below it) one page of organizations at a time, and its whole-area counts from the API."""
    monkeypatch.setenv("SANJI_UI_MATRIX_COLUMNS", "10")
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    rooms = graphql_at(
        shared_api_url,
        """{ organizations(first: 100, where: {tier: {eq: ROOM}}, orderBy: [{code: ASC}]) {
          nodes { code name parent { id code } } } }""",
        auth.token,
    )["organizations"]["nodes"]
    totals = graphql_at(
        shared_api_url,
        """{ itemAssignmentsAggregate(where: {active: {eq: true}, organization: {tier: {eq: ROOM}}},
          groupBy: [{organizationCode: true}, {power: true}]) {
          groups { keys { organizationCode power } count } } }""",
        auth.token,
    )["itemAssignmentsAggregate"]["groups"]
    per_room: dict[str, int] = {}
    per_power: dict[str, int] = {}
    for g in totals:
        code, power = g["keys"]["organizationCode"], g["keys"]["power"]
        per_room[code] = per_room.get(code, 0) + g["count"]
        per_power[power] = per_power.get(power, 0) + g["count"]
    delegated = per_power.get("FULL", 0) + per_power.get("ACCEPT_AND_PRE_REVIEW", 0)
    agency = per_power.get("AGENCY_ONLY", 0)

    def tier(app):
        app.selectbox(key="dg_tier").select("ROOM")

    def forward(app):
        app.button(key="dg_pages_next").click()

    seen = []
    for page in range(4):  # 38 rooms: 10, 10, 10, 8
        app = await asyncio.to_thread(run, shared_api_url, PAGE, auth, None, [tier, *[forward] * page])
        assert not app.exception, app.exception
        assert not app.error, [e.value for e in app.error]
        counts = frame(app, "下放事项数")
        assert len(counts) == (10 if page < 3 else 8)
        assert list(counts["合计"]) == [per_room.get(code, 0) for code in counts["编码"]]
        assert f"第 {page + 1} / 4 页（共 38 个）" in [c.value for c in app.caption]
        matrix = frame(app, "编码")
        assert len(matrix.columns) - 2 == len(counts)  # one column per organization of the page
        seen += list(counts["编码"])
    assert seen == [r["code"] for r in rooms]  # every room once, in code order
    whole = f"辖区内全部 38 个组织合计：下放 {delegated}，代办 {agency}，共 {delegated + agency}。"
    assert whole in [c.value for c in app.caption]

    hall = next(r["parent"] for r in rooms if r["parent"]["code"] == "QJL-H2")

    def area(app):
        app.selectbox(key="dg_area").select(hall["id"])

    monkeypatch.setenv("SANJI_UI_MATRIX_COLUMNS", "5")
    app = await asyncio.to_thread(run, shared_api_url, PAGE, auth, None, [tier, forward, area])
    assert not app.exception, app.exception
    counts = frame(app, "下放事项数")  # back to the first page, of the hall's rooms only
    in_hall = [r["code"] for r in rooms if r["parent"]["code"] == "QJL-H2"]
    assert len(in_hall) > 5 and list(counts["编码"]) == in_hall[:5]
    pages = -(-len(in_hall) // 5)
    assert f"第 1 / {pages} 页（共 {len(in_hall)} 个）" in [c.value for c in app.caption]


async def test_an_assignment_made_on_the_page_reaches_the_api(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    hall = graphql_at(api_url, HALL_ONE, auth.token)["organizations"]["nodes"][0]["id"]
    before = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    assigned = {a["item"]["id"] for a in before["nodes"]}
    already = next(iter(assigned))
    fresh = graphql_at(api_url, UNASSIGNED_AT_HALL_ONE, auth.token)["items"]["nodes"]
    assert fresh and all(i["id"] not in assigned for i in fresh)

    def choose(app):
        for item in [*(i["id"] for i in fresh), already]:
            app.multiselect(key="dg_items").select(item)
        app.multiselect(key="dg_targets").select(hall)
        app.selectbox(key="dg_power").select("ACCEPT_AND_PRE_REVIEW")
        app.text_input(key="dg_basis").input("管委会关于下放事项的通知（测试）")

    def preview(app):
        app.button(key="dg_preview").click()

    def confirm(app):  # the preview lists what would change, and nothing is sent before the click
        plan = frame(app, "变更")
        assert sorted(plan["变更"]) == ["已有有效分配，不变", "新增", "新增"]
        assert graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"] == before
        app.button(key="dg_confirm").click()

    app = await asyncio.to_thread(run, api_url, PAGE, auth, None, [choose, preview, confirm])
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.success[0].value == "已新增 2 条分配。"
    after = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    assert after["totalCount"] == before["totalCount"] + 2
    made = {a["item"]["id"]: a for a in after["nodes"] if a["item"]["id"] in {i["id"] for i in fresh}}
    assert {a["power"] for a in made.values()} == {"ACCEPT_AND_PRE_REVIEW"} and len(made) == 2
    assert {a["legalBasis"] for a in made.values()} == {"管委会关于下放事项的通知（测试）"}
    assert list(frame(app, "下放事项数")["下放事项数"]) == [73, 71, 71, 71]  # the matrix was read again
    history = frame(app, "操作人")
    assert list(history["操作"])[:2] == ["新增", "新增"] and history["操作人"][0] == "admin（管理员）"


def picking(targets: list[str]):
    def pick(app):
        for target in targets:
            app.multiselect(key="dg_revoke_ids").select(target)

    return pick


async def test_revoking_previews_then_revokes_in_one_call_and_shows_in_the_history(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    before = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    targets = [a["id"] for a in before["nodes"] if a["power"] == "FULL"][:2]
    seen = {}

    def preview(app):
        seen["preview"] = frame(app, "依据")
        seen["button"] = app.button(key="dg_revoke").label
        app.button(key="dg_revoke").click()

    app = await asyncio.to_thread(run, api_url, PAGE, auth, None, [picking(targets), preview])
    assert not app.exception, app.exception
    assert seen["button"] == "确认撤销（2 条，全部成功或全部不生效）"
    bases = {a["id"]: a["legalBasis"] for a in before["nodes"]}
    assert list(seen["preview"]["依据"]) == [bases[t] for t in targets]
    assert len(set(seen["preview"]["组织"])) == 1 and set(seen["preview"]["权限"]) == {"全权办理"}
    assert app.success[0].value == "已撤销 2 条分配。"
    after = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    assert after["totalCount"] == before["totalCount"] - 2
    assert not {a["id"] for a in after["nodes"]} & set(targets)
    assert list(frame(app, "下放事项数")["下放事项数"]) == [69, 71, 71, 71]
    assert list(frame(app, "操作人")["操作"])[:2] == ["撤销", "撤销"]
    assert not app.multiselect(key="dg_revoke_ids").value  # the picks were cleared


async def test_a_revocation_refused_for_one_assignment_revokes_none(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    before = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    first, second = [a["id"] for a in before["nodes"] if a["power"] == "FULL"][:2]

    def meanwhile_and_confirm(app):  # another administrator revokes the second one first
        graphql_at(api_url, f'mutation {{ revokeItemAssignments(ids: ["{second}"]) {{ id }} }}', auth.token)
        app.button(key="dg_revoke").click()

    steps = [picking([first, second]), meanwhile_and_confirm]
    app = await asyncio.to_thread(run, api_url, PAGE, auth, None, steps)
    assert not app.exception, app.exception
    assert "ids[1]" in app.error[0].value and "INVALID_TRANSITION" in app.error[0].value
    after = graphql_at(api_url, AT_HALL_ONE, auth.token)["itemAssignments"]
    assert after["totalCount"] == before["totalCount"] - 1  # only the other administrator's
    assert first in {a["id"] for a in after["nodes"]}


async def test_a_clerk_is_refused_by_the_page_and_by_the_api(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "hall_clerk")
    assert clerk.role == "CLERK"
    app = await asyncio.to_thread(run, api_url, PAGE, clerk)
    assert not app.exception
    assert app.warning[0].value == "角色 CLERK 无权使用此页面。"
    assert not app.dataframe and not app.get("download_button")

    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    before = graphql_at(api_url, AT_HALL_ONE, admin.token)["itemAssignments"]["totalCount"]
    hall = graphql_at(api_url, HALL_ONE, admin.token)["organizations"]["nodes"][0]["id"]
    item = graphql_at(api_url, UNASSIGNED_AT_HALL_ONE, admin.token)["items"]["nodes"][0]["id"]
    body = {
        "query": CREATE,
        "variables": {
            "inputs": [
                {
                    "itemId": item,
                    "organizationId": hall,
                    "power": "FULL",
                    "legalBasis": "越权尝试",
                    "effectiveFrom": "2024-01-01",
                }
            ]
        },
    }
    headers = {"Authorization": f"Bearer {clerk.token}"}
    answer = httpx.post(f"{api_url}/graphql", json=body, headers=headers).json()
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert graphql_at(api_url, AT_HALL_ONE, admin.token)["itemAssignments"]["totalCount"] == before


async def test_an_api_refusal_is_shown_with_its_code_not_a_traceback(api_url):
    from admin_ui.session import Auth

    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    forged = Auth("admin", auth.token + "x", "ADMIN", None)  # the role says ADMIN, the API disagrees
    app = await asyncio.to_thread(run, api_url, PAGE, forged)
    assert not app.exception
    assert "UNAUTHENTICATED" in app.error[0].value


@pytest.fixture
def media(monkeypatch) -> list[MemoryMediaFileStorage]:
    """The in-memory media stores AppTest creates per run, kept to read the downloads back."""
    stores: list[MemoryMediaFileStorage] = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            stores.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", Kept)
    return stores


async def test_the_excel_export_holds_the_matrix(shared_api_url, media):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    app = await asyncio.to_thread(run, shared_api_url, PAGE, auth)
    assert not app.exception, app.exception
    (button,) = app.get("download_button")
    content = media[-1].get_file(PurePosixPath(button.proto.url).name).content
    book = openpyxl.load_workbook(io.BytesIO(content))
    matrix, counts = book.worksheets
    rows = list(matrix.iter_rows(values_only=True))
    shown = frame(app, "编码")
    assert list(rows[0]) == list(shown.columns)
    assert len(rows) - 1 == len(shown)
    assert [r[0] for r in rows[1:]] == list(shown["编码"])
    assert sum(r[2] == "全办" for r in rows[1:]) == 71
    tallies = list(counts.iter_rows(values_only=True))
    assert tallies[0][2] == "下放事项数" and [r[2] for r in tallies[1:]] == [71, 71, 71, 71]


async def test_the_whole_areas_workbook_lists_every_assignment_of_every_page(
    shared_api_url, media, monkeypatch
):
    """The matrix shows a page; the area's workbook lists every active assignment of the tier in
    the area, one per row, and counts every organization of it (those holding none too)."""
    monkeypatch.setenv("SANJI_UI_MATRIX_COLUMNS", "10")
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    pairs, after = [], None
    while True:  # every active assignment at a room, 500 a page
        page = graphql_at(
            shared_api_url,
            """query($after: String) { itemAssignments(first: 500, after: $after,
              where: {active: {eq: true}, organization: {tier: {eq: ROOM}}}) {
              pageInfo { hasNextPage endCursor } nodes { organization { code } item { code } } } }""",
            auth.token,
            {"after": after},
        )["itemAssignments"]
        pairs += [(n["organization"]["code"], n["item"]["code"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    pairs.sort()
    assert len(pairs) > 500

    def rooms(app):
        app.selectbox(key="dg_tier").select("ROOM")

    def prepare(app):
        app.button(key="dg_export_area_prepare").click()

    app = await asyncio.to_thread(run, shared_api_url, PAGE, auth, None, [rooms, prepare])
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    button = next(b for b in app.get("download_button") if b.proto.id.endswith("dg_export_area"))
    content = media[-1].get_file(PurePosixPath(button.proto.url).name).content
    listed, counts = openpyxl.load_workbook(io.BytesIO(content)).worksheets
    rows = list(listed.iter_rows(values_only=True))
    assert rows[0][:4] == ("组织编码", "组织", "编码", "事项")
    assert [(r[0], r[2]) for r in rows[1:]] == pairs  # in organization, then item order
    tallies = list(counts.iter_rows(values_only=True))[1:]
    assert len(tallies) == 38  # every room, those holding no assignment too
    assert sum(r[4] for r in tallies) == len(pairs)
