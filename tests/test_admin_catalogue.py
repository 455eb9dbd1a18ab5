"""The catalogue and guides page against a real API server (a `sanji serve` process on a fixture copy)."""

from __future__ import annotations

import asyncio
import base64
import csv
import datetime as dt
import io

from admin_ui.session import Auth
from admin_ui.views.guide_editor import draft_problem
from tests.test_catalogue_file import csv_file
from tests.ui_support import PAGES, graphql_at, run, signed_in
from tests.ui_texts import district_today

CATALOGUE = str(PAGES / "catalogue.py")
# The three planning/construction permits of the article, with their material reductions.
PERMITS = {
    "建设用地规划许可证核发": "申请材料：8 → 5（新增 0，取消 3，保留 5）",
    "建设工程规划许可证核发": "申请材料：17 → 15（新增 0，取消 2，保留 15）",
    "建筑工程施工许可证核发": "申请材料：40 → 26（新增 0，取消 14，保留 26）",
}


def item(url: str, token: str, name: str) -> dict:
    """The item as the API has it, with the district's (QJL's) own values under "local"."""
    query = f"""{{ items(where: {{name: {{eq: "{name}"}}}}) {{ nodes {{
        id name legalLimitDays promisedLimitDays consultPhone complaintPhone updatedAt
        locals(where: {{organization: {{code: {{eq: "QJL"}}}}}}) {{ nodes {{
          promisedLimitDays feeNote consultPhone complaintPhone }} }} }} }} }}"""
    found = graphql_at(url, query, token)["items"]["nodes"][0]
    found["local"] = found.pop("locals")["nodes"][0]
    return found


def choose(item_id: str, search: str = "许可证核发"):
    def step(app):
        app.text_input(key="catalogue_search").input(search)
        app.selectbox(key="catalogue_item").select(item_id)

    return step


def edit(promised: int, consult: str | None = None):
    def step(app):
        app.number_input(key="catalogue_promised").set_value(promised)
        if consult is not None:
            app.text_input(key="catalogue_consult_phone").input(consult)
        app.button(key="catalogue_edit_submit").click()

    return step


def diffs(app) -> list[str]:
    return [m.value.strip("*") for m in app.markdown if m.value.startswith("**申请材料：")]


async def test_the_three_permits_show_their_material_reductions(shared_api_url):
    auth = await asyncio.to_thread(
        signed_in, shared_api_url, "agent"
    )  # any signed-in role reads the catalogue
    ids = {name: (await asyncio.to_thread(item, shared_api_url, auth.token, name))["id"] for name in PERMITS}
    names = list(PERMITS)
    seen = {}

    def then(shown: str, following: str):
        def step(app):
            seen[shown] = diffs(app)
            app.selectbox(key="catalogue_item").select(ids[following])

        return step

    steps = [choose(ids[names[0]]), then(names[0], names[1]), then(names[1], names[2])]
    app = await asyncio.to_thread(run, shared_api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    seen[names[2]] = diffs(app)
    # newest revision first: its diff against revision 1, then revision 1 on its own
    assert seen == {
        names[0]: [PERMITS[names[0]], "申请材料：8 项（首版）"],
        names[1]: [PERMITS[names[1]], "申请材料：17 项（首版）"],
        names[2]: [PERMITS[names[2]], "申请材料：40 项（首版）"],
    }
    changes = app.dataframe[1].value  # the construction permit's changes: removed first
    assert list(changes["变化"]).count("取消") == 14 and "监理中标通知书" in set(changes["材料名称"])
    assert len(app.dataframe[2].value) == 26 and len(app.dataframe[3].value) == 40
    assert app.caption[-1].value == "只有管理员可以修改事项。" and not app.button


async def test_filters_by_type_source_tag_and_name_agree_with_the_api(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "clerk")

    def public_service(app):
        app.selectbox(key="catalogue_type").select("PUBLIC_SERVICE")

    app = await asyncio.to_thread(run, shared_api_url, CATALOGUE, auth, None, [public_service])
    assert not app.exception, app.exception
    assert app.caption[0].value == "共 128 个事项"
    assert set(app.dataframe[0].value["事项类型"]) == {"公共服务"}

    def licensing_from_the_city_online(app):
        app.selectbox(key="catalogue_type").select("LICENSING")
        app.selectbox(key="catalogue_source").select("DELEGATED_BY_CITY")
        app.selectbox(key="catalogue_tag").select("tagOnline")
        app.text_input(key="catalogue_search").input("许可")

    app = await asyncio.to_thread(
        run, shared_api_url, CATALOGUE, auth, None, [licensing_from_the_city_online]
    )
    expected = graphql_at(
        shared_api_url,
        "{ items(where: {type: {eq: LICENSING}, source: {eq: DELEGATED_BY_CITY}, tagOnline: {eq: true}, "
        'name: {contains: "许可"}}) { totalCount } }',
        auth.token,
    )["items"]["totalCount"]
    table = app.dataframe[0].value
    assert 0 < len(table) == expected and app.caption[0].value == f"共 {expected} 个事项"
    assert set(table["权力来源"]) == {"市级下放"} and table["三办标签"].str.contains("网上办").all()
    assert table["名称"].str.contains("许可").all()

    def nothing(app):
        app.text_input(key="catalogue_search").input("没有这样的事项")

    app = await asyncio.to_thread(run, shared_api_url, CATALOGUE, auth, None, [nothing])
    assert app.info[0].value == "没有符合条件的事项。"


async def test_an_admin_edit_is_in_the_api_and_an_invalid_one_is_refused_on_the_page(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    before = await asyncio.to_thread(item, api_url, auth.token, "建筑工程施工许可证核发")
    assert (before["legalLimitDays"], before["promisedLimitDays"]) == (20, 10)
    refusals = []

    def over_the_legal_limit(app):
        choose(before["id"])(app)
        edit(21)(app)

    def then_valid(app):
        refusals.append(app.warning[0].value)
        edit(8, "0724-5209999")(app)

    steps = [over_the_legal_limit, then_valid]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert refusals == ["承诺时限应在 0 到法定时限（20 个工作日）之间。"]
    assert app.success[0].value == "已保存 建筑工程施工许可证核发 的修改。"
    after = await asyncio.to_thread(item, api_url, auth.token, "建筑工程施工许可证核发")
    # the district's own values changed; the published ones stay as the province has them
    local = after["local"]
    assert (local["promisedLimitDays"], local["consultPhone"], local["complaintPhone"]) == (
        8,
        "0724-5209999",
        before["local"]["complaintPhone"],
    )
    assert (after["promisedLimitDays"], after["consultPhone"]) == (10, before["consultPhone"])
    assert "承诺时限（工作日）: **8**" in app.markdown[0].value


async def test_a_non_admin_edit_is_refused_and_changes_nothing(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    before = await asyncio.to_thread(item, api_url, clerk.token, "建设用地规划许可证核发")
    page = await asyncio.to_thread(run, api_url, CATALOGUE, clerk, None, [choose(before["id"])])
    assert not page.exception, page.exception
    assert page.caption[-1].value == "只有管理员可以修改事项。" and not page.button

    # A session whose role no longer matches its token (changed since sign-in): the API decides.
    stale = Auth("clerk", clerk.token, "ADMIN", clerk.organization_id)
    app = await asyncio.to_thread(run, api_url, CATALOGUE, stale, None, [choose(before["id"]), edit(3)])
    assert not app.exception, app.exception
    error = app.error[0].value
    assert error.startswith("无法从接口获取数据") and "role CLERK may not change itemLocals" in error
    assert "FORBIDDEN" in error and not app.success
    assert await asyncio.to_thread(item, api_url, clerk.token, "建设用地规划许可证核发") == before


def revisions(url: str, token: str, item_id: str) -> list[dict]:
    """An item's guide revisions, oldest first, with their materials in order, as the API has them."""
    fields = "position name form copies required source"
    materials = f"materials(first: 500, orderBy: [{{position: ASC}}]) {{ nodes {{ {fields} }} }}"
    query = f"""{{ item(id: "{item_id}") {{ guideRevisions(first: 100, orderBy: [{{revision: ASC}}]) {{
        nodes {{ revision effectiveFrom conditions process changeNote {materials} }} }} }} }}"""
    return graphql_at(url, query, token)["item"]["guideRevisions"]["nodes"]


def draft(note: str, **edits):
    """Fill the change note and seed the materials editor with edits (AppTest cannot type into it)."""

    def step(app):
        app.text_input(key="guide_change_note").input(note)
        app.session_state["guide_materials"] = {
            "edited_rows": {},
            "added_rows": [],
            "deleted_rows": [],
            **edits,
        }

    return step


def publish(app):
    app.button(key="guide_publish").click()


async def test_an_admin_publishes_the_next_guide_revision_with_its_materials(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    permit = await asyncio.to_thread(item, api_url, auth.token, "建设用地规划许可证核发")
    before = await asyncio.to_thread(revisions, api_url, auth.token, permit["id"])
    latest = before[-1]["materials"]["nodes"]
    assert [r["revision"] for r in before] == [1, 2] and len(latest) == 5
    added = {"name": "建设项目用地预审与选址意见书", "form": "COPY", "copies": 2}
    seen = {}

    def preview(app):
        seen["preview"] = [m.value for m in app.markdown if m.value.startswith("**预览")]
        seen["diff"] = diffs(app)[-1]  # the editor's preview comes after the revisions
        publish(app)

    steps = [
        choose(permit["id"]),
        draft(
            "取消现场踏勘记录，增加用地预审意见",
            edited_rows={0: {"copies": 2}},
            deleted_rows=[2],
            added_rows=[added],
        ),
        preview,
    ]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert seen == {"preview": ["**预览：第 3 版**"], "diff": "申请材料：5 → 5（新增 1，取消 1，保留 4）"}

    after = await asyncio.to_thread(revisions, api_url, auth.token, permit["id"])
    assert [r["revision"] for r in after] == [1, 2, 3]
    published = after[-1]
    kept = [{k: m[k] for k in ("name", "form", "copies", "required", "source")} for m in latest]
    del kept[2]
    kept[0]["copies"] = 2
    expected = [*kept, {**added, "required": True, "source": ""}]
    assert published["materials"]["nodes"] == [{"position": n, **m} for n, m in enumerate(expected, start=1)]
    assert published["changeNote"] == "取消现场踏勘记录，增加用地预审意见"
    assert published["effectiveFrom"] == district_today().isoformat()  # the district's day
    assert [published[k] for k in ("conditions", "process")] == [
        before[-1][k] for k in ("conditions", "process")
    ]

    # The page read the item again: the new revision heads the list, and the editor starts from it.
    assert app.success[0].value == "已发布 建设用地规划许可证核发 的第 3 版服务指南。"
    revisions_shown = [e.label for e in app.expander if e.label != "实施清单导入导出"]
    assert revisions_shown[0] == f"第 3 版 · {district_today().isoformat()} 起施行"
    assert diffs(app) == [
        "申请材料：5 → 5（新增 1，取消 1，保留 4）",
        PERMITS["建设用地规划许可证核发"],
        "申请材料：8 项（首版）",
        "申请材料：5 → 5（新增 0，取消 0，保留 5）",
    ]
    assert [m.value for m in app.markdown if m.value.startswith("**预览")] == ["**预览：第 4 版**"]
    assert app.text_input(key="guide_change_note").value == ""


async def test_an_invalid_guide_revision_is_refused_on_the_page_and_creates_nothing(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    permit = await asyncio.to_thread(item, api_url, auth.token, "建设用地规划许可证核发")
    before = await asyncio.to_thread(revisions, api_url, auth.token, permit["id"])
    first = before[-1]["materials"]["nodes"][0]["name"]
    warnings = []

    def refused(app):
        publish(app)
        app.run()
        warnings.append([w.value for w in app.warning])

    def too_early(app):
        app.date_input(key="guide_effective_from").set_value(dt.date(2017, 5, 31))

    steps = [
        choose(permit["id"]),
        draft("", added_rows=[{"name": "新材料"}]),
        refused,
        draft("重复的材料", added_rows=[{"name": f" {first} "}]),
        refused,
        draft("全部删除", deleted_rows=[0, 1, 2, 3, 4]),
        refused,
        draft("过早施行"),
        too_early,
        refused,
    ]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert warnings == [
        ["请填写修订说明。"],
        [f"材料“{first}”重复列出。"],
        ["服务指南至少要有一项申请材料。"],
        ["生效日期不能早于第 2 版的生效日期（2017-06-01）。"],
    ]
    assert not app.success and not app.error
    assert await asyncio.to_thread(revisions, api_url, auth.token, permit["id"]) == before


def test_each_guide_rule_has_its_message_in_both_languages():
    latest = {"revision": 2, "effectiveFrom": "2017-06-01"}
    day = dt.date(2017, 6, 1)
    material = {"name": "申请表", "form": "ORIGINAL", "copies": 1, "required": True, "source": ""}
    cases = [
        ("", [material], day, "Write a change note."),
        ("note", [], day, "A guide needs at least one application material."),
        ("note", [{**material, "name": ""}], day, "Material 1 has no name."),
        ("note", [material, material], day, "Material “申请表” is listed twice."),
        (
            "note",
            [{**material, "copies": -1}],
            day,
            "The copies of “申请表” must be a whole number, 0 or more.",
        ),
        (
            "note",
            [material],
            dt.date(2017, 5, 31),
            "The revision cannot come into force before revision 2 (2017-06-01).",
        ),
        ("note", [{**material, "copies": 0}], day, None),
    ]
    assert [draft_problem(note, materials, when, latest, "en") for note, materials, when, _ in cases] == [
        message for *_, message in cases
    ]
    no_guide_yet = None  # a first revision may come into force on any day
    assert draft_problem("首版", [material], dt.date(2000, 1, 1), no_guide_yet, "zh") is None
    assert draft_problem("note", [{**material, "copies": -1}], day, latest, "zh") == (
        "材料“申请表”的份数应为不小于 0 的整数。"
    )


async def test_a_guide_revision_refused_by_the_api_shows_its_code_and_creates_nothing(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    permit = await asyncio.to_thread(item, api_url, clerk.token, "建设用地规划许可证核发")
    before = await asyncio.to_thread(revisions, api_url, clerk.token, permit["id"])

    # A session whose role no longer matches its token (changed since sign-in): the page asks the
    # API what the token may do, and offers no guide editor for an item its area does not publish.
    stale = Auth("clerk", clerk.token, "ADMIN", clerk.organization_id)
    app = await asyncio.to_thread(run, api_url, CATALOGUE, stale, None, [choose(permit["id"])])
    assert not app.exception, app.exception
    assert not [b for b in app.button if b.key == "guide_publish"]
    assert app.caption[-1].value.startswith("该事项由上级（省级清单）发布")
    assert await asyncio.to_thread(revisions, api_url, clerk.token, permit["id"]) == before

    # Another administrator publishes revision 3 while this one is still editing it.
    def meanwhile(app):
        other = f"""itemId: "{permit["id"]}", revision: 3, effectiveFrom: "2020-01-01",
            changeNote: "另一位管理员", materials: [{{position: 1, name: "申请表"}}]"""
        graphql_at(
            api_url, f"mutation {{ createGuideRevision(input: {{{other}}}) {{ revision }} }}", admin.token
        )
        publish(app)

    refused = {}

    def start_again(app):
        refused["error"] = app.error[0].value
        refused["notice"] = app.info[0].value
        app.button(key="guide_restart").click()

    steps = [choose(permit["id"]), draft("新版", added_rows=[{"name": "新材料"}]), meanwhile, start_again]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, admin, None, steps)
    assert not app.exception, app.exception
    assert "another GuideRevision already has this item + revision" in refused["error"]
    assert "(CONFLICT)" in refused["error"] and refused["notice"] == "此草稿开始编辑后，已有第 3 版发布。"
    after = await asyncio.to_thread(revisions, api_url, admin.token, permit["id"])
    assert [(r["revision"], r["changeNote"]) for r in after[2:]] == [(3, "另一位管理员")]
    # Started again from the revision published meanwhile: the draft is for revision 4.
    assert [m.value for m in app.markdown if m.value.startswith("**预览")] == ["**预览：第 4 版**"]
    assert diffs(app)[-1] == "申请材料：1 → 1（新增 0，取消 0，保留 1）" and not app.info


async def test_a_new_item_gets_its_first_guide_from_an_empty_editor_in_english(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    new = """mutation { createItem(input: {code: "TEST-GUIDE-1", name: "Test item without a guide",
        type: LICENSING, source: OWN, department: "Test bureau", caseKind: PROMISED, legalLimitDays: 20,
        promisedLimitDays: 5}) { id name } }"""
    bare = (await asyncio.to_thread(graphql_at, api_url, new, auth.token))["createItem"]
    forms = {}

    def first_revision(app):
        forms["rows"] = len(app.data_editor(key="guide_materials").value)
        draft("First guide", added_rows=[{"name": "Application form"}, {"name": "ID card", "form": "COPY"}])(
            app
        )
        app.text_area(key="guide_conditions").input("Residents of the district")

    def preview(app):
        forms["preview"] = [m.value for m in app.markdown if m.value.startswith("**Preview")]
        forms["diff"] = app.markdown[-1].value
        publish(app)

    steps = [choose(bare["id"], bare["name"]), first_revision, preview]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, "en", steps)
    assert not app.exception, app.exception
    assert forms == {
        "rows": 0,
        "preview": ["**Preview: revision 1**"],
        "diff": "**Materials: 2 (first revision)**",
    }
    assert app.success[0].value == f"Revision 1 of the guide of {bare['name']} published."
    (published,) = await asyncio.to_thread(revisions, api_url, auth.token, bare["id"])
    assert [published["revision"], published["conditions"], published["process"]] == [
        1,
        "Residents of the district",
        "",
    ]
    given = [("Application form", "ORIGINAL"), ("ID card", "COPY")]  # the rest from a new row's defaults
    assert published["materials"]["nodes"] == [
        {"position": n, "name": name, "form": form, "copies": 1, "required": True, "source": ""}
        for n, (name, form) in enumerate(given, start=1)
    ]


async def test_a_run_that_hides_the_editor_does_not_blank_the_draft(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    permit = await asyncio.to_thread(item, api_url, auth.token, "建设用地规划许可证核发")
    latest = (await asyncio.to_thread(revisions, api_url, auth.token, permit["id"]))[-1]
    assert latest["conditions"] and latest["process"]

    def search(text: str):
        def step(app):
            app.text_input(key="catalogue_search").input(text)

        return step

    # The editor is drawn, then a search that matches nothing hides it for a run, then it is back.
    steps = [search("建设用地规划许可证核发"), search("没有这个事项"), search("建设用地规划许可证核发")]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert app.text_area(key="guide_conditions").value == latest["conditions"]
    assert app.text_area(key="guide_process").value == latest["process"]
    assert app.number_input(key="catalogue_promised").value == permit["promisedLimitDays"]


def list_rows(url: str, token: str) -> list[dict[str, str]]:
    """The implementation list as the API exports it (CSV), row by row."""
    query = "{ catalogueFile(format: CSV) { contentBase64 } }"
    content = base64.b64decode(graphql_at(url, query, token)["catalogueFile"]["contentBase64"])
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def uploading(name: str, content: bytes):
    def step(app):
        app.file_uploader(key="list_upload").upload(name, content, "text/csv")

    return step


def plan_rows(app) -> list[dict]:
    """The preview's table of rows (the one with a 行号 column)."""
    (table,) = [d.value for d in app.dataframe if "行号" in d.value.columns]
    return table.to_dict("records")


def click(key: str):
    def step(app):
        app.button(key=key).click()

    return step


async def test_an_admin_previews_an_uploaded_list_and_imports_it(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    rows = await asyncio.to_thread(list_rows, api_url, auth.token)
    edited = [dict(row) for row in rows]
    edited[0]["承诺时限（工作日）"] = "0"
    edited[1]["实施部门"] = "区政务服务和大数据管理局"
    seen = {}

    def look(app):
        seen["metrics"] = {m.label: m.value for m in app.metric}
        seen["rows"] = plan_rows(app)
        app.button(key="list_apply").click()

    steps = [uploading("清单.csv", csv_file(edited)), click("list_preview"), look]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert seen["metrics"] == {"新增": "0", "修改": "2", "未变": str(len(rows) - 2), "无效": "0"}
    assert [(r["行号"], r["结果"], r["变更的列"]) for r in seen["rows"]] == [
        (2, "修改", "承诺时限（工作日）"),
        (3, "修改", "实施部门"),
    ]
    assert app.success[0].value == "已导入：新增 0 个事项，修改 2 个。"
    after = await asyncio.to_thread(list_rows, api_url, auth.token)
    assert after == edited  # the catalogue now reads as the file did


async def test_a_list_with_an_invalid_row_offers_no_import_and_changes_nothing(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    rows = await asyncio.to_thread(list_rows, api_url, auth.token)
    edited = [dict(row) for row in rows]
    edited[0]["实施部门"] = "会被拒绝的修改"
    edited[4]["事项类型"] = "未知类型"
    steps = [uploading("清单.csv", csv_file(edited)), click("list_preview")]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
    assert not app.exception, app.exception
    assert app.error[0].value == "有 1 行无效：导入是全部或全不，修正这些行后重新上传。"
    (invalid,) = [r for r in plan_rows(app) if r["结果"] == "无效"]
    assert invalid["行号"] == 6 and "未知类型" in invalid["原因"]
    assert not [b for b in app.button if b.key == "list_apply"]
    assert await asyncio.to_thread(list_rows, api_url, auth.token) == rows

    # a file that is not a list at all: the API's reason, with its code
    junk = [uploading("清单.csv", b"\x00\x01\x02 not a list"), click("list_preview")]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, junk)
    assert not app.exception, app.exception
    assert "FILE_INVALID" in app.error[0].value and "binary data" in app.error[0].value
