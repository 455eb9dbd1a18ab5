"""The room construction page against a real API server (a `sanji serve` process on a fixture copy)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from admin_ui.session import Auth
from tests.ui_support import PAGES, graphql_at, run, signed_in
from tests.ui_texts import district_today

ROOMS = str(PAGES / "rooms.py")
CHECKS = ("fixedPlace", "orgChart", "officeEquipment", "itemsAndStaff", "rules", "dutyStaffPublished")


def room(url: str, token: str, code: str) -> dict:
    query = f"""{{ organizations(where: {{code: {{eq: "{code}"}}}}) {{ nodes {{
        id name constructionStatus constructionStartedOn builtOn standardizedOn
        inspections(orderBy: [{{inspectedOn: DESC}}]) {{ totalCount nodes {{
          inspectedOn inspectorName notes {" ".join(CHECKS)} }} }} }} }} }}"""
    return graphql_at(url, query, token)["organizations"]["nodes"][0]


def table(app, name: str):
    """One of the page's tables, in page order: every room, what rooms lack, rooms under construction."""
    return app.dataframe[("rooms", "lacking", "building").index(name)].value


def change_status(room_id: str, status: str, day: dt.date | None):
    def step(app):
        app.selectbox(key="rooms_status_room").select(room_id)
        app.selectbox(key="rooms_new_status").select(status)
        app.date_input(key="rooms_status_date").set_value(day)
        app.button(key="rooms_status_submit").click()

    return step


async def test_the_page_lists_the_38_rooms_the_7_under_construction_and_what_each_lacks(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    app = await asyncio.to_thread(run, shared_api_url, ROOMS, auth)
    assert not app.exception, app.exception
    assert app.title[0].value == "便民服务室建设"
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["总数"], metrics["已建成"], metrics["已标准化"], metrics["在建"]) == (
        "38",
        "31",
        "24",
        "7",
    )
    rooms, lacking, building = (table(app, name) for name in ("rooms", "lacking", "building"))
    assert len(rooms) == 38 and set(rooms["建设状态"]) == {"已标准化", "已建成", "在建"}
    standardized = rooms[rooms["建设状态"] == "已标准化"]
    assert (standardized[["统一阵地", "值班人员信息公开"]] == "✓").all().all()
    assert (standardized["已公开"] > 0).all()
    under_construction = graphql_at(
        shared_api_url,
        "{ organizations(where: {constructionStatus: {eq: UNDER_CONSTRUCTION}, tier: {eq: ROOM}}) "
        "{ nodes { code } } }",
        auth.token,
    )["organizations"]["nodes"]
    assert sorted(building["编码"]) == sorted(o["code"] for o in under_construction) and len(building) == 7
    # 7 not built, 7 built but short of some of the six checks; the 24 standardized rooms lack nothing
    assert len(lacking) == 14
    assert lacking["尚缺"].str.contains("尚未建成").sum() == 7
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    built, standardized_line = chart["data"][0]["y"], chart["data"][1]["y"]
    assert (built[-1], standardized_line[-1]) == (31, 24) and list(built) == sorted(built)


async def test_an_inspection_recorded_by_the_supervisor_is_in_the_api(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "supervisor")
    before = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R04")
    assert before["constructionStatus"] == "BUILT" and not before["inspections"]["nodes"][0]["itemsAndStaff"]

    def record(app):
        app.selectbox(key="rooms_inspect_room").select(before["id"])
        for check in CHECKS:
            app.checkbox(key=f"rooms_check_{check}").check()
        app.date_input(key="rooms_inspected_on").set_value(dt.date(2018, 3, 1))
        app.text_input(key="rooms_inspector").input("督查组 王某")
        app.text_area(key="rooms_notes").input("六项复查全部达到")
        app.button(key="rooms_inspect_submit").click()

    app = await asyncio.to_thread(run, api_url, ROOMS, auth, None, [record])
    assert not app.exception, app.exception
    assert app.success[0].value == f"已录入 {before['name']} 的检查。"
    after = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R04")
    latest = after["inspections"]["nodes"][0]
    assert after["inspections"]["totalCount"] == before["inspections"]["totalCount"] + 1
    assert (latest["inspectedOn"], latest["inspectorName"], latest["notes"]) == (
        "2018-03-01",
        "督查组 王某",
        "六项复查全部达到",
    )
    assert all(latest[check] for check in CHECKS)
    row = table(app, "rooms").set_index("编码").loc["QJL-H1-R04"]
    assert row["检查日期"] == "2018-03-01" and row["事项及人员"] == "✓"
    assert before["name"] not in set(table(app, "lacking")["便民服务室"])


async def test_a_room_built_without_a_date_or_in_the_future_is_refused_and_nothing_changes(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "supervisor")
    before = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R09")
    assert before["constructionStatus"] == "UNDER_CONSTRUCTION"
    tomorrow = district_today() + dt.timedelta(days=1)  # the district's, as the page judges it

    first_refusal = []

    def in_the_future(app):
        first_refusal.append(app.warning[0].value)
        app.date_input(key="rooms_status_date").set_value(tomorrow)
        app.button(key="rooms_status_submit").click()

    steps = [change_status(before["id"], "BUILT", None), in_the_future]
    app = await asyncio.to_thread(run, api_url, ROOMS, auth, None, steps)
    assert not app.exception, app.exception
    assert first_refusal == ["“已建成”需要填写日期。"]
    assert app.warning[0].value == "日期不能晚于今天。"
    assert await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R09") == before
    assert len(table(app, "building")) == 7


async def test_a_valid_status_change_reaches_the_api(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    before = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R09")
    app = await asyncio.to_thread(
        run, api_url, ROOMS, auth, None, [change_status(before["id"], "BUILT", dt.date(2018, 2, 28))]
    )
    assert not app.exception, app.exception
    assert app.success[0].value == f"{before['name']} 已变更为“已建成”。"
    after = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R09")
    assert (after["constructionStatus"], after["builtOn"]) == ("BUILT", "2018-02-28")
    assert after["constructionStartedOn"] == before["constructionStartedOn"]
    assert len(table(app, "building")) == 6
    assert {m.label: m.value for m in app.metric}["已建成"] == "32"


async def test_standardizing_needs_all_six_checks(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "supervisor")
    before = await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R04")
    app = await asyncio.to_thread(
        run, api_url, ROOMS, auth, None, [change_status(before["id"], "STANDARDIZED", dt.date(2018, 2, 1))]
    )
    assert app.warning[0].value == "最近一次检查未通过全部六项，不能标准化。"
    assert await asyncio.to_thread(room, api_url, auth.token, "QJL-H1-R04") == before


async def test_a_role_the_api_refuses_is_shown_its_refusal_and_nothing_changes(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    page = await asyncio.to_thread(run, api_url, ROOMS, clerk)
    assert page.warning[0].value == "角色 CLERK 无权使用此页面。" and not page.dataframe

    # A session whose role no longer matches its token (changed since sign-in): the API decides.
    stale = Auth("clerk", clerk.token, "SUPERVISOR", clerk.organization_id)
    before = await asyncio.to_thread(room, api_url, clerk.token, "QJL-H1-R09")
    app = await asyncio.to_thread(
        run, api_url, ROOMS, stale, None, [change_status(before["id"], "BUILT", dt.date(2018, 2, 28))]
    )
    assert not app.exception, app.exception
    error = app.error[0].value
    assert error.startswith("无法从接口获取数据") and "may not change organizations" in error
    assert "FORBIDDEN" in error and not app.success
    assert await asyncio.to_thread(room, api_url, clerk.token, "QJL-H1-R09") == before


async def test_a_large_area_is_shown_per_hall_and_a_hall_chosen_lists_its_rooms(shared_api_url, monkeypatch):
    """Above SANJI_UI_ROOM_LIST rooms (a province's 25,000) the page reads no room one by one: its
    figures per hall come from one aggregate; choosing a hall lists that hall's rooms only."""
    monkeypatch.setenv("SANJI_UI_ROOM_LIST", "10")  # the fixture's 38 are above it
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    rooms = graphql_at(
        shared_api_url,
        "{ organizations(first: 100, where: {tier: {eq: ROOM}}) "
        "{ nodes { code constructionStatus parent { id code } } } }",
        auth.token,
    )["organizations"]["nodes"]
    app = await asyncio.to_thread(run, shared_api_url, ROOMS, auth)
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["总数"], metrics["已建成"], metrics["已标准化"]) == ("38", "31", "24")
    halls = app.dataframe[0].value
    assert list(halls["编码"]) == ["QJL-H1", "QJL-H2", "QJL-H3", "QJL-H4"]
    for _, hall in halls.iterrows():
        own = [r for r in rooms if r["parent"]["code"] == hall["编码"]]
        assert hall["总数"] == len(own) and hall["在建"] == sum(
            r["constructionStatus"] == "UNDER_CONSTRUCTION" for r in own
        ), hall["编码"]
    assert "该辖区有 38 个便民服务室" in app.caption[0].value
    assert not app.get("form")  # no room to pick: the forms wait for a smaller area

    smallest = min(
        ("QJL-H1", "QJL-H2", "QJL-H3", "QJL-H4"), key=lambda c: sum(r["parent"]["code"] == c for r in rooms)
    )
    own = [r for r in rooms if r["parent"]["code"] == smallest]
    assert len(own) <= 10

    def hall(app):
        app.selectbox(key="rooms_area").select(own[0]["parent"]["id"])

    app = await asyncio.to_thread(run, shared_api_url, ROOMS, auth, None, [hall])
    assert not app.exception, app.exception
    listed = table(app, "rooms")
    assert sorted(listed["编码"]) == sorted(r["code"] for r in own)
    assert {m.label: m.value for m in app.metric}["总数"] == str(len(own))
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    built = sum(r["constructionStatus"] in ("BUILT", "STANDARDIZED") for r in own)
    assert chart["data"][0]["y"][-1] == built


def test_progress_counts_up_month_by_month_even_within_one_month():
    from admin_ui.views.rooms import progress

    assert progress({"2024-05": 3}, {}) == (["2024-05"], [3], [0])
    assert progress({"2023-11": 2, "2024-01": 1}, {"2024-02": 2}) == (
        ["2023-11", "2023-12", "2024-01", "2024-02"],
        [2, 2, 3, 3],
        [0, 0, 0, 2],
    )
    assert progress({}, {}) == ([], [], [])
