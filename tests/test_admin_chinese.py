"""Issue 14, a Chinese UI with no leftovers: every page read from its rendered elements in Chinese shows
no "None", no English placeholder, no role number for a person, no ISO time, no global id and no
emoji; markers are drawn, legends clear the chart toolbar, dates default to the district's day, and
the English switch shows English."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import date, datetime

import httpx
import pytest
import pytest_asyncio

from admin_ui.introspection import Schema, shipped_schema
from admin_ui.labels import CJK, chinese_term, english_words, enum_label, type_label
from admin_ui.records import headers
from admin_ui.session import Auth
from tests.conftest import DB_KIND, DEMO_PASSWORD, serving
from tests.ui_support import PAGES, graphql_at, run, serving_api, signed_in
from tests.ui_texts import (
    DISTRICT,
    LOCAL_TIME,
    another_local_day,
    chinese_labels,
    district_today,
    elements,
    leftovers,
)

COVERAGE, ROOMS, DASHBOARD = (str(PAGES / f"{page}.py") for page in ("coverage", "rooms", "dashboard"))
DELEGATION, BROWSER, CATALOGUE = (
    str(PAGES / f"{page}.py") for page in ("delegation", "browser", "catalogue")
)
HALL_ONE_AND_AN_ITEM = """{ organizations(where: {code: {eq: "QJL-H1"}}) { nodes { id } }
  items(first: 1, orderBy: [{code: DESC}],
        where: {not: {assignments: {organization: {code: {eq: "QJL-H1"}}}}}) { nodes { id } } }"""
ASSIGN = """mutation($inputs: [CreateItemAssignmentInput!]!) {
  createItemAssignments(inputs: $inputs) { id } }"""
LATEST_ASSIGNMENT_ENTRY = """{ auditEntries(first: 1, where: {objectType: {eq: "ItemAssignment"}},
  orderBy: [{occurredAt: DESC}]) { nodes { occurredAt } } }"""
FIRST_ITEMS_GUIDES = """{ items(first: 1, orderBy: [{code: ASC}]) {
  nodes { guideRevisions(first: 100) { nodes { effectiveFrom } } } } }"""


def charts(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def below_the_plot(spec: dict) -> bool:
    """A horizontal legend along the bottom of the figure: clear of the toolbar over the top right corner."""
    legend = spec["layout"].get("legend", {})
    return legend.get("orientation") == "h" and legend.get("yref") == "container" and legend.get("y") == 0


def frame(app, column: str):
    return next(df.value for df in app.dataframe if column in df.value.columns)


async def test_the_coverage_page_draws_its_markers_and_keeps_its_legend_clear(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    app = await asyncio.to_thread(run, shared_api_url, COVERAGE, auth)
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    tree = app.markdown[-1].value
    assert tree.count("border-radius:50%") == tree.count("\n") + 1  # a drawn dot on every line
    assert {"#c0392b", "#2471a3", "#52be80", "#f39c12"} <= set(re.findall(r"background:(#[0-9a-f]{6})", tree))
    (spec,) = charts(app)
    assert below_the_plot(spec)
    assert list(frame(app, "编码")["编码"]) == ["QJL", "QJL-H1-R07", "QJL-H4-R02", "QJL-H4-R07"]


async def test_the_coverage_figures_show_before_and_without_the_maps_data(seeded_url):
    """With a budget of one request a minute the API answers the figures and refuses the map's
    organizations: the figures are on the page, with their formulas, and the refusal after them."""
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    async with serving_api(seeded_url, SANJI_RATE_LIMIT_PER_MINUTE="1") as url:
        response = await asyncio.to_thread(
            httpx.post, f"{url}/auth/token", data={"username": "supervisor", "password": DEMO_PASSWORD}
        )
        auth = Auth("supervisor", response.json()["access_token"], "SUPERVISOR", None)  # no call spent
        while time.time() % 60 > 55:  # the two calls in one window of the budget
            await asyncio.sleep(1)
        app = await asyncio.to_thread(run, url, COVERAGE, auth)
    assert not app.exception, app.exception
    assert [m.value for m in app.metric] == ["100.0%", "81.6%"]
    assert "计算公式: built 31 / total 38 = 81.6%" in [c.value for c in app.code]
    assert "RATE_LIMITED" in app.error[0].value and not app.get("plotly_chart")
    order = [element.type for element in elements(app)]
    assert order.index("metric") < order.index("code") < order.index("error")


async def test_the_rooms_page_shows_a_dash_for_missing_dates_and_its_legend_under_the_chart(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    with another_local_day():
        app = await asyncio.to_thread(run, shared_api_url, ROOMS, auth)
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    rooms = frame(app, "建成日期")
    building = rooms[rooms["建设状态"] == "在建"]
    assert len(building) == 7 and set(building["建成日期"]) == {"—"}
    (spec,) = charts(app)
    assert below_the_plot(spec)
    (total,) = spec["layout"]["annotations"]
    assert total["text"] == "总数 38" and total["xanchor"] == "left"  # away from the toolbar's corner
    assert app.date_input(key="rooms_inspected_on").value == district_today()


async def test_the_delegation_history_names_the_person_and_the_local_minute(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    found = graphql_at(api_url, HALL_ONE_AND_AN_ITEM, auth.token)
    hall, item = found["organizations"]["nodes"][0]["id"], found["items"]["nodes"][0]["id"]
    assignment = {
        "itemId": item,
        "organizationId": hall,
        "power": "FULL",
        "legalBasis": "通知（测试）",
        "effectiveFrom": "2025-01-01",
    }
    made = await asyncio.to_thread(
        httpx.post,
        f"{api_url}/graphql",
        json={"query": ASSIGN, "variables": {"inputs": [assignment]}},
        headers={"Authorization": f"Bearer {auth.token}"},
    )
    assert "errors" not in made.json(), made.json()
    entry = graphql_at(api_url, LATEST_ASSIGNMENT_ENTRY, auth.token)["auditEntries"]["nodes"][0]
    with another_local_day():
        app = await asyncio.to_thread(run, api_url, DELEGATION, auth)
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    history = frame(app, "操作人")
    assert history["操作人"][0] == "admin（管理员）"
    moment = datetime.fromisoformat(entry["occurredAt"]).astimezone(DISTRICT)
    assert history["时间"][0] == moment.strftime("%Y-%m-%d %H:%M")
    assert all(LOCAL_TIME.match(when) for when in history["时间"])
    assert "第一办事处便民服务大厅" in history["对象"][0] and "全权办理" in history["对象"][0]
    assert app.multiselect(key="dg_items").proto.placeholder == "请选择（可多选）"
    assert app.date_input(key="dg_effective").value == district_today()

    english = await asyncio.to_thread(run, api_url, DELEGATION, auth, "en")
    history = frame(english, "Who")
    assert history["Who"][0] == "admin (Administrator)"
    assert english.multiselect(key="dg_items").proto.placeholder == "Choose one or more"


async def estimated_case(url: str) -> dict:
    """A case accepted on 28 December 2026, whose promised due date falls in 2027: a year the
    calendar does not know yet, so the due date is estimated."""
    moment = datetime(2026, 12, 28, 10, 0, tzinfo=DISTRICT)
    async with serving(url, clock=moment.timestamp) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        item = (await clerk.data('{ items(where: {code: {eq: "XK-003"}}) { nodes { id } } }'))["items"][
            "nodes"
        ][0]
        submitted = await clerk.data(
            f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", applicantType: PERSON, '
            'applicantName: "李四", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) '
            "{ case { id } } }"
        )
        case_id = submitted["submitCase"]["case"]["id"]
        accepted = await clerk.data(
            f'mutation {{ acceptCase(id: "{case_id}", version: 1) {{ '
            "number promisedDueDate dueDatesEstimated } }"
        )
    case = accepted["acceptCase"]
    assert case["dueDatesEstimated"] is True
    return case


@pytest_asyncio.fixture
async def estimating_url(seeded_url: str):
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    case = await estimated_case(seeded_url)
    async with serving_api(seeded_url) as url:
        yield url, case


async def test_the_dashboard_marks_an_estimated_due_date_in_its_tables_and_the_timeline(estimating_url):
    url, case = estimating_url
    auth = await asyncio.to_thread(signed_in, url, "supervisor")

    def find(app):
        app.text_input(key="recent_number").input(case["number"])

    def click(app):
        app.session_state["recent_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}

    app = await asyncio.to_thread(run, url, DASHBOARD, auth, None, [find, click])
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    recent = frame(app, "办件编号")
    assert list(recent["办件编号"]) == [case["number"]]
    assert list(recent["承诺办结日"]) == [f"{case['promisedDueDate']}（估算）"]
    assert f"承诺办结日 {case['promisedDueDate']}（估算）" in app.markdown[-1].value
    timeline = frame(app, "环节")
    assert all(LOCAL_TIME.match(when) for when in timeline["时间（北京时间）"])

    english = await asyncio.to_thread(run, url, DASHBOARD, auth, "en", [find, click])
    assert list(frame(english, "Case number")["Promised by"]) == [f"{case['promisedDueDate']} (estimated)"]


async def test_the_data_browser_labels_fields_and_values_and_names_relations(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")

    def organizations(app):
        app.selectbox(key="browser_model").select("organizations")

    app = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, None, [organizations])
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    rows = app.dataframe[0].value
    assert {"编码", "名称", "层级", "建设状态", "上级组织", "建成日期", "创建时间"} <= set(rows.columns)
    assert not {"id", "code", "tier", "constructionStatus", "parent"} & set(rows.columns)
    assert set(rows["层级"]) <= {"管理区", "政务服务中心", "便民服务大厅", "便民服务室"}
    hall_one = rows[rows["编码"] == "QJL-H1"].iloc[0]
    assert hall_one["上级组织"] == "屈家岭管理区政务服务中心"
    assert app.selectbox(key="browser_model").options[0] == "组织"

    def cases(app):
        app.selectbox(key="browser_model").select("cases")

    app = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, None, [cases])
    assert not app.exception, app.exception
    assert leftovers(app) == {}
    rows = app.dataframe[0].value
    assert all(LOCAL_TIME.match(when) for when in rows["申请时间"])
    assert set(rows["办件状态"]) <= {
        "已申请",
        "已受理",
        "不予受理",
        "已初审",
        "待补正",
        "已审查",
        "已决定",
        "已办结",
        "已送达",
        "已撤回",
    }

    english = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, "en", [organizations])
    rows = english.dataframe[0].value
    assert {"Unique code", "Name", "Tier", "Organization directly above"} <= set(rows.columns)
    assert english.selectbox(key="browser_model").options[0] == "Organization"


async def test_date_inputs_start_on_the_districts_day(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")

    first = graphql_at(shared_api_url, FIRST_ITEMS_GUIDES, auth.token)["items"]["nodes"][0]
    latest = max(
        (date.fromisoformat(r["effectiveFrom"]) for r in first["guideRevisions"]["nodes"]), default=None
    )
    with another_local_day():
        app = await asyncio.to_thread(run, shared_api_url, CATALOGUE, auth)
    assert not app.exception, app.exception
    assert app.date_input(key="guide_effective_from").value == max(
        district_today(), latest or district_today()
    )
    assert leftovers(app) == {}


async def test_the_english_switch_labels_every_page_in_english(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    names = graphql_at(shared_api_url, "{ organizations(first: 500) { nodes { name } } }", auth.token)
    organizations = frozenset(o["name"] for o in names["organizations"]["nodes"])  # the matrix's columns
    shown = {}
    for page in ("coverage", "rooms", "dashboard", "delegation", "catalogue", "browser"):
        app = await asyncio.to_thread(run, shared_api_url, str(PAGES / f"{page}.py"), auth, "en")
        assert not app.exception, (page, app.exception)
        shown[page] = chinese_labels(app, organizations)
    assert shown == {page: [] for page in shown}


def test_labels_are_read_from_descriptions_in_both_languages():
    assert chinese_term("Amount in fen (金额, 分)") == "金额（分）"
    assert chinese_term("Kind: 办事处, 队, 村 or 社区 (类型)") == "类型"
    assert chinese_term("统一阵地: a fixed place") == "统一阵地"
    assert chinese_term("Whose area it is (the district, a sub-district)") is None
    assert english_words("Kind: 办事处, 队, 村 or 社区 (类型)", "kind") == "Kind"
    assert english_words("统一阵地: a fixed place", "fixedPlace") == "A fixed place"
    assert english_words("Legal due date, stored (法定办结日期)", "legalDueDate") == "Legal due date"
    assert english_words("", "statusBeforePause") == "Status before pause"


def test_every_field_model_and_enum_value_of_the_shipped_schema_has_a_chinese_label():
    models = Schema(shipped_schema()).models()
    missing = [type_label(m.type_name, m.description, "zh") for m in models]
    missing = [label for label in missing if not CJK.search(label)]
    for model in models:
        missing += [t for t in headers(model, "zh").values() if not CJK.search(t)]
        missing += [
            f"{c.ref.name}.{value}"
            for c in model.columns
            for value in c.choices
            if not CJK.search(enum_label(c.ref.name, value, "zh"))
        ]
    assert missing == []
