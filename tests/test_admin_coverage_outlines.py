"""The coverage page's area outlines against a real API: an administrator stores the district's
outline for everyone; a bad file or a refused write changes nothing and says why."""

from __future__ import annotations

import asyncio
import json

from admin_ui.session import Auth
from tests.ui_support import PAGES, graphql_at, run, signed_in

COVERAGE = str(PAGES / "coverage.py")
SQUARE = [[112.5, 30.8], [112.7, 30.8], [112.7, 31.0], [112.5, 31.0], [112.5, 30.8]]
OUTLINE = json.dumps(
    {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}
)
STORED = "{ areaOutlines { nodes { name organization { code } } } }"


def district_id(url: str, token: str) -> str:
    return graphql_at(url, '{ organizations(where: {code: {eq: "QJL"}}) { nodes { id } } }', token)[
        "organizations"
    ]["nodes"][0]["id"]


def upload(district: str, content: bytes, name: str = "qujialing.geojson"):
    def step(app):
        app.selectbox(key="outline_for").select(district)
        app.get("file_uploader")[0].upload(name, content, "application/geo+json")
        app.button(key="outline_save").click()

    return step


def outline_traces(app) -> list[dict]:
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    return [trace for trace in figure["data"] if trace.get("mode") == "lines"]


async def test_an_administrator_stores_the_outline_and_a_supervisor_sees_it(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    district = district_id(api_url, admin.token)
    app = await asyncio.to_thread(run, api_url, COVERAGE, admin, None, [upload(district, OUTLINE.encode())])
    assert not app.exception, app.exception
    assert app.success[0].value == "已保存屈家岭管理区的辖区边界。"
    assert graphql_at(api_url, STORED, admin.token)["areaOutlines"]["nodes"] == [
        {"name": "qujialing.geojson", "organization": {"code": "QJL"}}
    ]
    assert [list(zip(t["x"], t["y"], strict=True)) for t in outline_traces(app)] == [
        [tuple(p) for p in SQUARE]
    ]

    supervisor = await asyncio.to_thread(signed_in, api_url, "supervisor")
    seen = await asyncio.to_thread(run, api_url, COVERAGE, supervisor)
    assert not seen.exception and len(outline_traces(seen)) == 1
    assert not seen.get("file_uploader")  # only administrators change outlines


async def test_a_file_that_is_not_an_outline_is_refused_on_the_page(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    district = district_id(api_url, admin.token)
    point = json.dumps({"type": "Point", "coordinates": [112.6, 30.9]}).encode()
    app = await asyncio.to_thread(run, api_url, COVERAGE, admin, None, [upload(district, point)])
    assert not app.exception, app.exception
    assert app.warning[0].value == "无法读取边界文件: the outline is a Point, not a polygon"
    assert graphql_at(api_url, STORED, admin.token)["areaOutlines"]["nodes"] == []


async def test_a_refusal_by_the_api_is_shown_with_its_code(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    district = district_id(api_url, admin.token)
    stale = Auth("clerk", clerk.token, "ADMIN", clerk.organization_id)  # the role changed since sign-in
    app = await asyncio.to_thread(run, api_url, COVERAGE, stale, None, [upload(district, OUTLINE.encode())])
    assert not app.exception, app.exception
    assert app.error[0].value == "无法从接口获取数据: role CLERK may not create areaOutlines (FORBIDDEN)"
    assert graphql_at(api_url, STORED, admin.token)["areaOutlines"]["nodes"] == []


async def test_deleting_an_outline_asks_first(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    district = district_id(api_url, admin.token)
    seen = {}

    def ask(app):
        app.button(key=f"outline_delete_{district}").click()

    def cancel(app):
        seen["question"] = app.warning[0].value
        app.button(key="outline_confirm_no").click()

    def ask_again(app):
        seen["kept"] = graphql_at(api_url, STORED, admin.token)["areaOutlines"]["nodes"]
        ask(app)

    def confirm(app):
        app.button(key="outline_confirm_yes").click()

    steps = [upload(district, OUTLINE.encode()), ask, cancel, ask_again, confirm]
    app = await asyncio.to_thread(run, api_url, COVERAGE, admin, None, steps)
    assert not app.exception, app.exception
    assert seen["question"] == "确定删除屈家岭管理区的辖区边界吗？辖区内所有用户的地图上都将不再显示。"
    assert len(seen["kept"]) == 1  # cancelled: still there
    assert app.success[0].value == "已删除屈家岭管理区的辖区边界。"
    assert graphql_at(api_url, STORED, admin.token)["areaOutlines"]["nodes"] == []
    assert outline_traces(app) == []
