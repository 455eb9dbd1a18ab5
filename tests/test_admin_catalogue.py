"""The catalogue and guides page against a real API server (a `sanji serve` process on a fixture copy)."""

from __future__ import annotations

import asyncio

from admin_ui.session import Auth
from tests.ui_support import PAGES, api_url, graphql_at, run, signed_in

__all__ = ["api_url"]  # the fixture, used by name

CATALOGUE = str(PAGES / "catalogue.py")
# The three planning/construction permits of the article, with their material reductions.
PERMITS = {
    "建设用地规划许可证核发": "申请材料：8 → 5（新增 0，取消 3，保留 5）",
    "建设工程规划许可证核发": "申请材料：17 → 15（新增 0，取消 2，保留 15）",
    "建筑工程施工许可证核发": "申请材料：40 → 26（新增 0，取消 14，保留 26）",
}


def item(url: str, token: str, name: str) -> dict:
    query = f"""{{ items(where: {{name: {{eq: "{name}"}}}}) {{ nodes {{
        id name legalLimitDays promisedLimitDays consultPhone complaintPhone updatedAt }} }} }}"""
    return graphql_at(url, query, token)["items"]["nodes"][0]


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


async def test_the_three_permits_show_their_material_reductions(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "agent")  # any signed-in role reads the catalogue
    ids = {name: (await asyncio.to_thread(item, api_url, auth.token, name))["id"] for name in PERMITS}
    names = list(PERMITS)
    seen = {}

    def then(shown: str, following: str):
        def step(app):
            seen[shown] = diffs(app)
            app.selectbox(key="catalogue_item").select(ids[following])

        return step

    steps = [choose(ids[names[0]]), then(names[0], names[1]), then(names[1], names[2])]
    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, steps)
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


async def test_filters_by_type_source_tag_and_name_agree_with_the_api(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "clerk")

    def public_service(app):
        app.selectbox(key="catalogue_type").select("PUBLIC_SERVICE")

    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, [public_service])
    assert not app.exception, app.exception
    assert app.caption[0].value == "共 128 个事项"
    assert set(app.dataframe[0].value["事项类型"]) == {"公共服务"}

    def licensing_from_the_city_online(app):
        app.selectbox(key="catalogue_type").select("LICENSING")
        app.selectbox(key="catalogue_source").select("DELEGATED_BY_CITY")
        app.selectbox(key="catalogue_tag").select("tagOnline")
        app.text_input(key="catalogue_search").input("许可")

    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, [licensing_from_the_city_online])
    expected = graphql_at(
        api_url,
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

    app = await asyncio.to_thread(run, api_url, CATALOGUE, auth, None, [nothing])
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
    assert (after["promisedLimitDays"], after["consultPhone"], after["complaintPhone"]) == (
        8,
        "0724-5209999",
        before["complaintPhone"],
    )
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
    assert error.startswith("无法从接口获取数据") and "role CLERK may not change items" in error
    assert "FORBIDDEN" in error and not app.success
    assert await asyncio.to_thread(item, api_url, clerk.token, "建设用地规划许可证核发") == before
