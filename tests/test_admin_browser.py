"""The data browser page, built from the schema's introspection, against a real API server."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import secrets
import uuid

import httpx
import pytest
import pytest_asyncio
from streamlit.runtime.media_file_manager import MediaFileManager

from admin_ui.introspection import Filter, Ref, Step, convert, where
from api import db
from api.models.user import User
from api.settings import Settings
from tests.conftest import DB_KIND
from tests.ui_support import PAGES, graphql_at, run, serving_api, signed_in

BROWSER = str(PAGES / "browser.py")
CONNECTIONS = "{ __schema { queryType { fields { name type { kind name ofType { kind name } } } } } }"
FUNDINGS = """query($source: String!) { fundings(where: {source: {eq: $source}}) {
  totalCount nodes { id amountFen purpose grantedOn source note organization { id } } } }"""


def connection_fields(url: str, token: str) -> list[str]:
    fields = graphql_at(url, CONNECTIONS, token)["__schema"]["queryType"]["fields"]
    named = [(f["name"], f["type"]["ofType"] or f["type"]) for f in fields]
    return [name for name, kind in named if kind["kind"] == "OBJECT" and kind["name"].endswith("Connection")]


def call(url: str, query: str, variables: dict, token: str) -> dict:
    """The whole GraphQL response, data and errors."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers).json()


def fundings_from(url: str, source: str, token: str) -> dict:
    return call(url, FUNDINGS, {"source": source}, token)["data"]["fundings"]


def choose(model: str):
    def step(app):
        app.selectbox(key="browser_model").select(model)

    return step


def rooms_sorted_by_code(first: int):
    def step(app):
        app.multiselect(key="browser_Organization_filters").select("tier")
        app.selectbox(key="browser_Organization_order").select("code")
        app.number_input(key="browser_Organization_first").set_value(first)

    def value(app):
        assert app.selectbox(key="browser_Organization_op_tier").value == "eq"
        app.selectbox(key="browser_Organization_value_tier").select("ROOM")

    return [choose("organizations"), step, value]


CODE = {"zh": "编码", "en": "Unique code"}  # the code's column, titled from the schema's description


def codes(app, lang: str = "zh") -> list[str]:
    return list(app.dataframe[0].value[CODE[lang]])


def fill_funding(organization_code: str, source: str):
    def step(app):  # the organization by its code: the form finds its id
        key = "browser_create_Funding"
        app.text_input(key=f"{key}_organizationId").input(organization_code)
        app.number_input(key=f"{key}_amountFen").set_value(1_250_000)
        app.selectbox(key=f"{key}_purpose").select("HALL_CONSTRUCTION")
        app.date_input(key=f"{key}_grantedOn").set_value(dt.date(2025, 3, 15))
        app.text_input(key=f"{key}_source").input(source)
        app.button(key=f"{key}_submit").click()

    return step


async def test_the_model_list_is_every_connection_the_schema_offers(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "supervisor")
    app = await asyncio.to_thread(run, shared_api_url, BROWSER, auth)
    assert not app.exception, app.exception
    assert app.title[0].value == "数据浏览"
    models = list(app.session_state["browser_schema"])  # introspected once, kept for the session
    assert models == await asyncio.to_thread(connection_fields, shared_api_url, auth.token)
    assert {"organizations", "items", "cases", "calendarDays"} <= set(models)
    shown = app.selectbox(key="browser_model").options  # each model by its Chinese term
    assert len(shown) == len(models) and {"组织", "政务服务事项", "办件", "工作日历"} <= set(shown)
    columns = set(app.dataframe[0].value.columns)
    assert {"编码", "名称", "层级", "建设状态", "上级组织"} <= columns and "id" not in columns


async def test_filtering_rooms_shows_their_total_and_pages_through_them(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "clerk")

    def next_page(app):
        app.button(key="browser_next").click()

    def previous_page(app):
        app.button(key="browser_previous").click()

    steps = rooms_sorted_by_code(20)
    first = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, None, steps)
    assert not first.exception, first.exception
    assert first.metric[0].value == "38"
    assert len(codes(first)) == 20 and codes(first) == sorted(codes(first))
    assert set(first.dataframe[0].value["层级"]) == {"便民服务室"}
    assert first.button(key="browser_previous").disabled

    second = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, None, [*steps, next_page])
    assert second.metric[0].value == "38"
    assert len(codes(second)) == 18 and codes(second)[0] > codes(first)[-1]
    assert second.button(key="browser_next").disabled
    assert "第 2 页：第 21–38 条" in [c.value for c in second.caption]

    back = await asyncio.to_thread(
        run, shared_api_url, BROWSER, auth, None, [*steps, next_page, previous_page]
    )
    assert codes(back) == codes(first)


async def test_the_csv_export_holds_the_rows_of_the_page(shared_api_url, monkeypatch):
    files = []
    add = MediaFileManager.add

    def recording(self, data, mimetype, *args, **kwargs):
        files.append((data, mimetype))
        return add(self, data, mimetype, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", recording)
    auth = await asyncio.to_thread(signed_in, shared_api_url, "agent")
    app = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, "en", rooms_sorted_by_code(7))
    assert not app.exception, app.exception
    assert app.download_button(key="browser_csv").label == "Export this page (CSV)"
    data, mimetype = files[-1]
    assert mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    shown = app.dataframe[0].value
    assert [r["Unique code"] for r in rows] == codes(app, "en") and len(rows) == 7
    assert list(rows[0]) == list(shown.columns)  # the table as shown
    assert rows[0]["Name"] == shown["Name"][0] and {r["Tier"] for r in rows} == {"Rooms"}


ROOM = "QJL-H1-R01"


def first_room(url: str) -> str:
    """The global id of room QJL-H1-R01."""
    found = graphql_at(url, f'{{ organizations(where: {{code: {{eq: "{ROOM}"}}}}) {{ nodes {{ id }} }} }}')
    return found["organizations"]["nodes"][0]["id"]


def only_source(source: str):
    """The browse page narrowed to the fundings of this source."""

    def step(app):
        app.multiselect(key="browser_Funding_filters").select("source")

    def value(app):
        app.text_input(key="browser_Funding_value_source").input(source)

    return [step, value]


async def test_an_admin_creates_and_updates_a_funding_through_the_generated_forms(api_url):
    auth = await asyncio.to_thread(signed_in, api_url, "admin")
    room_id = first_room(api_url)
    source = f"browser test {uuid.uuid4().hex[:8]}"
    app = await asyncio.to_thread(
        run, api_url, BROWSER, auth, None, [choose("fundings"), fill_funding(ROOM, source)]
    )
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    created = fundings_from(api_url, source, auth.token)
    assert created["totalCount"] == 1
    funding = created["nodes"][0]
    assert (funding["amountFen"], funding["purpose"], funding["grantedOn"]) == (
        1_250_000,
        "HALL_CONSTRUCTION",
        "2025-03-15",
    )
    assert funding["organization"]["id"] == room_id and funding["note"] == ""
    assert app.success[0].value == "已新建资金。"
    assert app.metric[0].value == str(
        graphql_at(api_url, "{ fundings { totalCount } }", auth.token)["fundings"]["totalCount"]
    )

    def update(app):  # the record picked among the rows shown, by their values
        picker = app.selectbox(key="browser_update_Funding_id")
        assert picker.options == ["第 1 行 · 1250000 · 大厅建设 · 2025-03-15"]
        picker.select(funding["id"])
        app.text_input(key="browser_update_Funding_note").input("checked")
        app.button(key="browser_update_Funding_submit").click()

    steps = [choose("fundings"), *only_source(source), update]
    app = await asyncio.to_thread(run, api_url, BROWSER, auth, None, steps)
    assert not app.exception and not app.error, [e.value for e in app.error]
    after = fundings_from(api_url, source, auth.token)["nodes"][0]
    assert after == {**funding, "note": "checked"}  # only the field filled in changed


async def test_a_clerk_is_refused_the_create_with_the_apis_message_and_nothing_is_written(api_url):
    clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    room_id = first_room(api_url)
    source = f"browser test {uuid.uuid4().hex[:8]}"
    app = await asyncio.to_thread(
        run, api_url, BROWSER, clerk, None, [choose("fundings"), fill_funding(ROOM, source)]
    )
    assert not app.exception, app.exception
    refusal = call(
        api_url,
        "mutation($input: CreateFundingInput!) { createFunding(input: $input) { id } }",
        {
            "input": {
                "organizationId": room_id,
                "amountFen": 1,
                "purpose": "OTHER",
                "grantedOn": "2025-03-15",
                "source": source,
            }
        },
        clerk.token,
    )["errors"][0]
    assert refusal["extensions"]["code"] == "FORBIDDEN"
    shown = [e.value for e in app.error]
    assert f"无法从接口获取数据: {refusal['message']} (FORBIDDEN)" in shown
    assert not app.success
    assert fundings_from(api_url, source, admin.token)["totalCount"] == 0


async def test_every_model_lists_for_an_administrator(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "admin")
    models = await asyncio.to_thread(connection_fields, shared_api_url, auth.token)
    seen = {}

    def record(app):  # what the previous run showed
        model = app.selectbox(key="browser_model").value
        seen[model] = (list(app.exception), [e.value for e in app.error], app.metric[0].label)

    def visit(model: str):
        def step(app):
            record(app)
            app.selectbox(key="browser_model").select(model)

        return step

    app = await asyncio.to_thread(run, shared_api_url, BROWSER, auth, None, [visit(m) for m in models[1:]])
    record(app)
    assert list(seen) == models
    assert {model: shown for model, shown in seen.items() if shown != ([], [], "总条数")} == {}


def test_widget_values_become_variables_of_their_graphql_type():
    def kind(name: str, is_list: bool = False) -> Ref:
        return Ref(name, "SCALAR", False, is_list, name)

    assert convert(kind("BigInt"), 1_250_000.0) == 1_250_000
    assert convert(kind("Date"), dt.date(2025, 3, 15)) == "2025-03-15"
    assert convert(kind("DateTime"), " 2025-03-15T09:30:00+08:00 ") == "2025-03-15T09:30:00+08:00"
    assert convert(kind("DateTime"), "2025-03-15 09:30") == "2025-03-15T09:30:00+08:00"  # the district's
    assert convert(kind("Int", is_list=True), "3, 5,,") == [3, 5]
    assert convert(kind("Boolean"), False) is False
    assert [convert(kind("String"), v) for v in (None, "", "  ", [])] == [None] * 4
    for name, bad in (("DateTime", "next tuesday"), ("Int", 2.5), ("Boolean", "maybe")):
        with pytest.raises(ValueError):
            convert(kind(name), bad)
    tier = Filter((Step("Organization", "tier", ""),), ())
    parent = Filter((Step("Organization", "parent", ""), Step("Organization", "id", "")), ())
    assert where([(tier, "in", ["HALL", "ROOM"]), (parent, "eq", "T3JnOjE=")]) == {
        "tier": {"in": ["HALL", "ROOM"]},
        "parent": {"id": {"eq": "T3JnOjE="}},
    }
    assert where([]) is None


@pytest_asyncio.fixture
async def production_seeded_url(seeded_url: str, monkeypatch):
    """A production server (introspection off) on the fixture, its people no longer demo users (which
    production refuses); the admin UI runs in the same environment."""
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    async with db.database(Settings(database_url=seeded_url)):
        await User.filter(is_demo=True).update(is_demo=False)
    monkeypatch.setenv("SANJI_ENV", "production")
    monkeypatch.setenv("SANJI_SECRET_KEY", secrets.token_hex(32))
    async with serving_api(seeded_url) as url:
        yield url


async def test_in_production_the_data_browser_reads_the_shipped_schema(production_seeded_url):
    auth = await asyncio.to_thread(signed_in, production_seeded_url, "supervisor")
    app = await asyncio.to_thread(run, production_seeded_url, BROWSER, auth)
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.selectbox(key="browser_model").options[0] == "组织"
    assert app.metric[0].value == "44" and "层级" in app.dataframe[0].value.columns


async def test_an_unusable_filter_value_is_explained_and_not_sent(shared_api_url):
    auth = await asyncio.to_thread(signed_in, shared_api_url, "integrator")

    def filter_on(app):
        app.multiselect(key="browser_Case_filters").select("submittedAt")

    def since(app):
        app.selectbox(key="browser_Case_op_submittedAt").select("gte")
        app.text_input(key="browser_Case_value_submittedAt").input("yesterday")

    app = await asyncio.to_thread(
        run, shared_api_url, BROWSER, auth, "en", [choose("cases"), filter_on, since]
    )
    assert not app.exception, app.exception
    assert [e.value for e in app.error] == [
        "Cannot use the value of Submitted: Invalid isoformat string: 'yesterday'"
    ]
    assert not app.metric and not app.dataframe  # no list was asked for
    assert [i.value for i in app.info] == [
        "The API offers no create for this model.",
        "The API offers no update for this model.",
    ]
