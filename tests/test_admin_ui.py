"""The admin UI home page against a real API server (a `sanji serve` process on the fixture)."""

from __future__ import annotations

import asyncio

from admin_ui.navigation import PAGES as APP_PAGES
from admin_ui.navigation import pages_for
from admin_ui.views.coverage import COLOURS
from tests.conftest import DEMO_PASSWORD
from tests.ui_support import (
    PAGES,
    UI_SCRIPT,
    free_port,
    graphql_at,
    opened_at,
    run,
    signed_in,
    signing_in,
)


async def test_the_app_opens_on_sign_in_and_refuses_a_wrong_password(api_url):
    def wrong(app):
        app.text_input(key="username").input("admin")
        app.text_input(key="password").input("not-the-password")
        app.button[0].click()

    app = await asyncio.to_thread(run, api_url, UI_SCRIPT, None, None, [wrong])
    assert not app.exception
    assert app.title[0].value == "三级政务服务平台"
    assert "登录失败" in app.error[0].value and "invalid_grant" in app.error[0].value
    assert app.session_state["auth"] is None if "auth" in app.session_state else True


async def test_signing_in_shows_the_role_and_its_pages_and_signing_out_ends_it(shared_api_url):
    def sign_in(app):
        app.text_input(key="username").input("supervisor")
        app.text_input(key="password").input(DEMO_PASSWORD)
        app.button[0].click()

    app = await asyncio.to_thread(run, shared_api_url, UI_SCRIPT, None, None, [sign_in])
    assert not app.exception, app.exception
    assert app.session_state["auth"].role == "SUPERVISOR"
    assert any("**supervisor** (督查员)" in md.value for md in app.sidebar.markdown)
    assert app.title[0].value == "平台覆盖率"  # the first page the role may use
    app.sidebar.button(key="sign_out").click().run()
    assert app.session_state["auth"] is None
    assert app.button[0].label == "登录"


async def test_coverage_page_shows_rates_map_tree_and_unplaced_rooms(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "coverage.py"), auth)
    assert not app.exception, app.exception
    assert [(m.label, m.value) for m in app.metric] == [("覆盖率", "100.0%"), ("覆盖率", "81.6%")]
    assert "计算公式: built 31 / total 38 = 81.6%" in [c.value for c in app.code]
    assert len(app.get("plotly_chart")) == 1
    unplaced = app.dataframe[0].value  # listed, not hidden: the district itself and three rooms
    assert list(unplaced["编码"]) == ["QJL", "QJL-H1-R07", "QJL-H4-R02", "QJL-H4-R07"]
    tree = app.markdown[-1].value
    assert tree.count("· 便民服务室 ·") == 38 and tree.count("· 便民服务大厅") == 4
    assert tree.count("在建") == 7


async def test_coverage_page_filters_by_hall(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")

    def first_hall(app):
        app.selectbox(key="hall").select_index(1)

    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "coverage.py"), auth, None, [first_hall])
    assert not app.exception, app.exception
    in_hall = app.markdown[-1].value
    hall_line = in_hall.splitlines()[0]  # the hall first, with the map's hall colour drawn as a dot
    assert hall_line.startswith("- <span")
    assert hall_line.endswith("</span> 第一办事处便民服务大厅 · 便民服务大厅")
    assert f"background:{COLOURS['HALL']}" in hall_line
    assert 0 < in_hall.count("· 便民服务室 ·") < 38 and "· 政务服务中心" not in in_hall


async def test_coverage_page_in_english(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "coverage.py"), auth, "en")
    assert app.title[0].value == "Coverage"
    assert [s.value for s in app.subheader][:2] == ["Halls", "Rooms"]


async def test_a_page_explains_an_unreachable_api():
    from admin_ui.session import Auth

    auth = Auth("admin", "token", "ADMIN", None)
    app = await asyncio.to_thread(run, f"http://127.0.0.1:{free_port()}", str(PAGES / "coverage.py"), auth)
    assert not app.exception
    assert "无法从接口获取数据" in app.error[0].value and "UNREACHABLE" in app.error[0].value


async def test_a_page_asks_for_sign_in_without_a_session(shared_api_url):
    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "coverage.py"))
    assert not app.exception
    assert app.warning[0].value == "请先登录。"


async def test_dashboard_shows_the_fixture_rates_and_a_clicked_cases_timeline(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    query = """{ cases(first: 2, orderBy: [{submittedAt: DESC}, {number: DESC}]) { totalCount
                 nodes { number events { totalCount } } } }"""
    cases = graphql_at(shared_api_url, query, auth.token)["cases"]

    def by_tier(app):
        app.selectbox(key="by").select("TIER")

    def click(row: int):
        def step(app):
            app.session_state["recent_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}

        return step

    app = await asyncio.to_thread(
        run, shared_api_url, str(PAGES / "dashboard.py"), auth, None, [by_tier, click(1)]
    )
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["办结率"], metrics["限时办结率"], metrics["超期"]) == ("100.0%", "100.0%", "0")
    tiers = app.dataframe[0].value
    assert list(tiers["层级"]) == ["政务服务中心", "便民服务大厅"]
    assert app.info[0].value == "当前没有超期或即将到期的办件。"
    recent = app.dataframe[1].value
    assert list(recent["办件编号"])[:2] == [c["number"] for c in cases["nodes"]]
    assert f"共 {cases['totalCount']} 件，显示最近申请的 50 件。" in [c.value for c in app.caption]
    picked = cases["nodes"][1]
    timeline = app.dataframe[-1].value
    assert len(timeline) == picked["events"]["totalCount"] and picked["number"] in app.markdown[-1].value
    assert list(timeline["环节"])[:2] == ["申请", "受理"]


async def test_dashboard_filters_cases_and_a_new_click_replaces_the_timeline(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    query = """{ cases(first: 1, where: {status: {eq: DELIVERED}}, orderBy: [{number: ASC}]) {
                 nodes { number } } }"""
    number = graphql_at(shared_api_url, query, auth.token)["cases"]["nodes"][0]["number"]
    query = "{ cases(first: 1, orderBy: [{submittedAt: DESC}, {number: DESC}]) { nodes { number } } }"
    latest = graphql_at(shared_api_url, query, auth.token)["cases"]["nodes"][0]["number"]
    assert latest != number
    timelines = []

    def select(*rows: int):
        def step(app):
            app.session_state["recent_table"] = {
                "selection": {"rows": list(rows), "columns": [], "cells": []}
            }

        return step

    def search(app):  # the selection of row 0 stays while the rows change: it opens nothing
        timelines.append(app.markdown[-1].value)
        app.text_input(key="recent_number").input(number)
        app.selectbox(key="recent_status").select("DELIVERED")

    def clear_and_see(app):
        timelines.append(app.markdown[-1].value)
        select()(app)

    steps = [select(0), search, clear_and_see, select(0)]
    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "dashboard.py"), auth, "en", steps)
    assert not app.exception, app.exception
    assert latest in timelines[0] and latest in timelines[1]  # still the first click's case
    assert list(app.dataframe[1].value["Case number"]) == [number]
    assert number in app.markdown[-1].value and "Delivered" in app.markdown[-1].value
    assert list(app.dataframe[-1].value["Step"])[-1] == "Deliver"


async def test_the_dashboard_is_hidden_from_integrators(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "integrator")
    app = await asyncio.to_thread(run, shared_api_url, str(PAGES / "dashboard.py"), auth)
    assert app.warning[0].value == "角色 INTEGRATOR 无权使用此页面。"


async def test_a_page_link_opened_signed_out_asks_for_sign_in_then_shows_that_page(shared_api_url):
    seen = {}

    def asked(app):
        seen["title"] = app.title[0].value
        signing_in("supervisor")(app)

    app = await asyncio.to_thread(run, shared_api_url, UI_SCRIPT, None, None, [asked], "rooms")
    assert not app.exception, app.exception
    assert seen["title"] == "三级政务服务平台" and not app.error  # the sign-in form came first
    assert app.session_state["auth"].role == "SUPERVISOR"
    assert app.title[0].value == "便民服务室建设"  # then the page the link named, not the first one


def titles_by_address(url: str, username: str) -> tuple[dict[str, str], object]:
    """Signed in as `username`, the title shown at each page's address, in one browser session."""
    keys = [page.key for page in APP_PAGES]
    titles: dict[str, str] = {}

    def visit(key: str, previous: str | None):
        def step(app):
            if previous:
                titles[previous] = app.title[0].value
            opened_at(key)(app)

        return step

    steps = [signing_in(username)] + [
        visit(key, before) for before, key in zip([None, *keys[:-1]], keys, strict=True)
    ]
    app = run(url, UI_SCRIPT, steps=steps)
    titles[keys[-1]] = app.title[0].value
    return titles, app


async def test_each_role_reaches_only_its_own_pages_by_their_addresses(shared_api_url):
    first = "平台覆盖率"  # the first page's title, shown instead at an address the role may not use
    for username, role in (("supervisor", "SUPERVISOR"), ("hall_clerk", "CLERK")):
        titles, app = await asyncio.to_thread(titles_by_address, shared_api_url, username)
        assert not app.exception, app.exception
        allowed = {page.key for page in pages_for(role)}
        assert titles["coverage"] == first and "coverage" in allowed
        assert {key for key, title in titles.items() if title != first} == allowed - {"coverage"}, role


async def test_coverage_page_above_its_point_budget_draws_areas_and_opens_them_level_by_level(
    shared_api_url, monkeypatch
):
    """A province's 27,000 organizations are not drawn one by one: above SANJI_UI_MAP_POINTS the map
    shows one point per area one level down, with figures equal to coverage(root) of each area."""
    monkeypatch.setenv("SANJI_UI_MAP_POINTS", "10")  # the fixture's 44 are above it
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")

    def open_first(app):
        app.selectbox(key="coverage_open").select_index(0)

    app = await asyncio.to_thread(
        run, shared_api_url, str(PAGES / "coverage.py"), auth, None, [open_first, open_first]
    )
    assert not app.exception, app.exception
    assert any("组织较多（44 个）" in c.value for c in app.caption)
    assert [b.label for b in app.button] == ["全部", "屈家岭管理区", "屈家岭管理区政务服务中心"]
    halls = app.dataframe[0].value  # the center's areas: its halls, with their rooms
    assert list(halls["类别"]) == ["便民服务大厅"] * 4
    assert halls["组织数"].sum() == 42  # the four halls and their 38 rooms
    by_hall = graphql_at(
        shared_api_url,
        "{ organizations(where: {tier: {eq: HALL}}, orderBy: [{code: ASC}]) { nodes { id name } } }",
    )["organizations"]["nodes"]
    for hall, row in zip(by_hall, halls.to_dict("records"), strict=True):
        (_, rooms) = graphql_at(shared_api_url, f'{{ coverage(root: "{hall["id"]}") {{ built total }} }}')[
            "coverage"
        ]
        assert (row["名称"], row["便民服务室（建成/总数）"]) == (
            hall["name"],
            f"{rooms['built']} / {rooms['total']}",
        )
    assert len(app.get("plotly_chart")) == 1
    monkeypatch.setenv("SANJI_API_URL", shared_api_url)  # `run` set it for its own runs only
    app = app.button[0].click().run()  # back to the top
    assert not app.exception, app.exception
    labels = [b.label for b in app.button]
    assert labels == ["全部"], [e.value for e in app.error]
    assert list(app.dataframe[0].value["名称"]) == ["屈家岭管理区"]
