"""The 报表 page against a real API server: a report built by choosing (no GraphQL typed), saved,
opened again in a new session by another user, who sees their own area's figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import httpx
from openpyxl import load_workbook

from admin_ui import report_files
from tests.ui_support import PAGES, graphql_at, run, signed_in

REPORTS = str(PAGES / "reports.py")
LABELS = {"handlingOrganizationCode": "办理单位 · 编码", "count": "数量"}
PER_HALL = """{ casesAggregate(groupBy: [{handlingOrganizationCode: true}]) {
  groups { keys { handlingOrganizationCode } count } } }"""


def per_hall(url: str, token: str) -> list[dict]:
    """The direct aggregate, as the reader may read it: one row per handling organization."""
    groups = graphql_at(url, PER_HALL, token)["casesAggregate"]["groups"]
    return [
        {"handlingOrganizationCode": g["keys"]["handlingOrganizationCode"], "count": g["count"]}
        for g in groups
    ]


def table(app) -> list[dict]:
    """The report's table as the API's rows: its two columns (the grouping, then 数量) by field name."""
    (found,) = [d.value for d in app.dataframe if "数量" in d.value.columns and len(d.value.columns) == 2]
    grouping = next(c for c in found.columns if c != "数量")
    return [
        {"handlingOrganizationCode": row[grouping], "count": row["数量"]} for row in found.to_dict("records")
    ]


async def test_a_report_built_by_choosing_is_saved_and_opened_by_a_hall_clerk_with_their_figures(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    seen = {}

    def build(app):
        app.selectbox(key="reports_model").select("casesAggregate")

    def group(app):
        app.selectbox(key="reports_group_casesAggregate").select("handlingOrganizationCode")
        app.radio(key="reports_view").set_value("bar")

    def save(app):
        seen["preview"] = table(app)
        app.text_input(key="reports_name").input("各单位办件量")
        app.selectbox(key="reports_visibility").select("AREA")
        app.button(key="reports_save").click()

    app = await asyncio.to_thread(run, api_url, REPORTS, admin, None, [build, group, save])
    assert not app.exception, app.exception
    assert app.success[0].value == "已保存报表“各单位办件量”。"
    assert seen["preview"] == await asyncio.to_thread(per_hall, api_url, admin.token)

    clerk = await asyncio.to_thread(signed_in, api_url, "hall_clerk")
    listed = graphql_at(api_url, "{ reports { nodes { id name view } } }", clerk.token)["reports"]["nodes"]
    (saved,) = [r for r in listed if r["name"] == "各单位办件量"]
    assert saved["view"] == {"kind": "bar", "x": "handlingOrganizationCode", "y": "count"}

    def open_it(app):
        app.selectbox(key="reports_open").select(saved["id"])

    page = await asyncio.to_thread(run, api_url, REPORTS, clerk, None, [open_it])
    assert not page.exception, page.exception
    shown = table(page)
    # computed independently: the clerk's own aggregate, through the API with the clerk's token
    assert shown == await asyncio.to_thread(per_hall, api_url, clerk.token)
    # the hall's own cases, and those it carried up to the center: not the district's
    assert {row["handlingOrganizationCode"] for row in shown} == {"QJL-H1", "QJL-ZWFW"}
    assert sum(r["count"] for r in shown) < sum(r["count"] for r in seen["preview"])
    assert "创建人：admin · 本区域共享" in [c.value for c in page.caption]
    assert len(page.get("download_button")) == 2  # Excel and CSV of what is shown

    # the Excel file holds the rows shown, under their labels, with a native chart of them
    book = load_workbook(io.BytesIO(report_files.workbook("各单位办件量", shown, saved["view"], LABELS)))
    sheet = book.worksheets[0]
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == ["办理单位 · 编码", "数量"]
    assert cells[1:] == [[row["handlingOrganizationCode"], row["count"]] for row in shown]
    (chart,) = sheet._charts
    assert chart.tagname == "barChart"
    text = report_files.csv_file(shown, LABELS).decode("utf-8-sig").splitlines()
    assert text[0] == "办理单位 · 编码,数量" and len(text) == len(shown) + 1


async def test_every_model_with_an_aggregate_is_offered_with_no_page_code(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    app = await asyncio.to_thread(run, api_url, REPORTS, admin, "en")
    assert not app.exception, app.exception
    offered = set(app.selectbox(key="reports_model").options)
    fields = graphql_at(api_url, "{ __schema { queryType { fields { name } } } }", admin.token)
    expected = {
        f["name"] for f in fields["__schema"]["queryType"]["fields"] if f["name"].endswith("Aggregate")
    }
    assert len(offered) == len(expected) and len(offered) > 10


async def test_groups_are_ordered_by_the_measure_and_kept_above_a_threshold(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")

    def build(app):
        app.selectbox(key="reports_model").select("casesAggregate")

    def group(app):
        app.selectbox(key="reports_group_casesAggregate").select("handlingOrganizationCode")

    def order(app):
        app.selectbox(key="reports_order").select("DESC")
        app.number_input(key="reports_at_least_whole").set_value(590)

    app = await asyncio.to_thread(run, api_url, REPORTS, admin, None, [build, group, order])
    assert not app.exception, app.exception
    shown = table(app)
    direct = graphql_at(
        api_url,
        """{ casesAggregate(groupBy: [{handlingOrganizationCode: true}], having: {count: {gte: 590}},
             orderBy: [{count: DESC}]) { groups { keys { handlingOrganizationCode } count } } }""",
        admin.token,
    )["casesAggregate"]["groups"]
    assert shown == [
        {"handlingOrganizationCode": g["keys"]["handlingOrganizationCode"], "count": g["count"]}
        for g in direct
    ]
    counts = [row["count"] for row in shown]
    assert counts == sorted(counts, reverse=True) and min(counts) >= 590 and len(counts) >= 2
    everything = per_hall(api_url, admin.token)
    assert len(shown) < len(everything)  # a group under the threshold is left out


RATES = """query($where: CaseWhere) { casesAggregate(where: $where,
  groupBy: [{handlingOrganizationName: true}, {acceptedOn: MONTH}]) {
    groups { keys { handlingOrganizationName acceptedOn } figures { onTimeRate } } } }"""


def rates(url: str, token: str, where: dict) -> dict:
    """限时办结率 per (organization, month), from the API directly with the reader's token (a
    group with none completed has no rate: its cell is empty)."""
    groups = graphql_at(url, RATES, token, {"where": where})["casesAggregate"]["groups"]
    return {
        (g["keys"]["handlingOrganizationName"], g["keys"]["acceptedOn"]): g["figures"]["onTimeRate"]
        for g in groups
        if g["figures"]["onTimeRate"] is not None
    }


def pivoted(app) -> dict:
    """The pivot table shown: (row's organization, column's month) -> the rate in that cell."""
    (found,) = [d.value for d in app.dataframe if "承办单位 · 名称" in d.value.columns]
    out = {}
    for row in found.to_dict("records"):
        name = row.pop("承办单位 · 名称")
        # a month's column ("—": not accepted yet); empty where the pair has no group or no rate
        out |= {
            (name, None if month == "—" else month): rate
            for month, rate in row.items()
            if rate is not None and rate == rate
        }
    return out


async def test_a_rate_per_hall_and_month_is_built_with_a_relation_filter_and_refiltered_when_opened(
    varied_ui_url,
):
    """限时办结率 (computed by the API) per hall and month, as a pivot, filtered to the halls through
    the handling organization's tier; saved; opened by the supervisor in a new session, who then
    narrows it to a month of acceptance: each time the figures of the API asked directly."""
    url = varied_ui_url
    admin = await asyncio.to_thread(signed_in, url, "admin")
    seen = {}
    key = "reports_casesAggregate"

    def build(app):
        app.selectbox(key="reports_model").select("casesAggregate")

    def group(app):
        app.selectbox(key="reports_group_casesAggregate").select("handlingOrganizationName")
        app.selectbox(key="reports_measure_casesAggregate").select("figures:onTimeRate")

    def series(app):
        app.selectbox(key="reports_series_casesAggregate").select("acceptedOn")

    def bucket(app):
        app.selectbox(key="reports_series_bucket").select("MONTH")
        app.multiselect(key=f"{key}_filters").select("handlingOrganization.tier")

    def hall(app):
        app.selectbox(key=f"{key}_op_handlingOrganization.tier").select("eq")

    def value(app):
        app.selectbox(key=f"{key}_value_handlingOrganization.tier").select("HALL")

    def view(app):
        app.radio(key="reports_view").set_value("pivot")

    def save(app):
        seen["preview"] = pivoted(app)
        seen["labels"] = [s.label for s in app.selectbox] + [m.label for m in app.multiselect]
        app.text_input(key="reports_name").input("各大厅限时办结率")
        app.selectbox(key="reports_visibility").select("ROLE")
        app.selectbox(key="reports_role").select("SUPERVISOR")
        app.button(key="reports_save").click()

    steps = [build, group, series, bucket, hall, value, view, save]
    app = await asyncio.to_thread(run, url, REPORTS, admin, None, steps)
    assert not app.exception, app.exception
    assert app.success[0].value == "已保存报表“各大厅限时办结率”。", [e.value for e in app.error]
    halls = {"handlingOrganization": {"tier": {"eq": "HALL"}}}
    direct = await asyncio.to_thread(rates, url, admin.token, halls)
    assert seen["preview"] == direct and len(set(direct.values())) > 1
    assert "限时办结率" in app.selectbox(key="reports_measure_casesAggregate").format_func(
        "figures:onTimeRate"
    )

    supervisor = await asyncio.to_thread(signed_in, url, "supervisor")
    listed = graphql_at(url, "{ reports { nodes { id name view } } }", supervisor.token)["reports"]["nodes"]
    (saved,) = [r for r in listed if r["name"] == "各大厅限时办结率"]
    assert saved["view"] == {
        "kind": "pivot",
        "x": "handlingOrganizationName",
        "series": "acceptedOn",
        "y": "figures:onTimeRate",
    }
    month = sorted({m for _hall, m in direct})[1]
    opened = f"reports_open_{saved['id']}"

    def open_it(app):
        app.selectbox(key="reports_open").select(saved["id"])

    def refilter(app):
        seen["opened"] = pivoted(app)
        app.multiselect(key=f"{opened}_filters").select("acceptedOn")

    first = dt.date.fromisoformat(month)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)

    def within(app):
        app.selectbox(key=f"{opened}_op_acceptedOn").select("between")

    def days(app):
        app.date_input(key=f"{opened}_value_acceptedOn_gte").set_value(first)
        app.date_input(key=f"{opened}_value_acceptedOn_lte").set_value(last)

    page = await asyncio.to_thread(run, url, REPORTS, supervisor, None, [open_it, refilter, within, days])
    assert not page.exception, page.exception
    assert seen["opened"] == await asyncio.to_thread(rates, url, supervisor.token, halls)
    one_month = {**halls, "acceptedOn": {"gte": first.isoformat(), "lte": last.isoformat()}}
    narrowed = await asyncio.to_thread(rates, url, supervisor.token, one_month)
    assert pivoted(page) == narrowed and 0 < len(narrowed) < len(seen["opened"])
    assert {m for _hall, m in narrowed} == {month}  # the month chosen, by a range of its days
    captions = [c.value for c in page.caption]
    assert "报表保存的筛选：承办单位（层级） = 便民服务大厅" in captions, captions
    assert len(page.get("download_button")) == 2

    # Excel of a report with two groupings: the rows as shown, and a sheet 透视 of them pivoted
    # (a row per hall, a column per month, the months in order) from which Excel draws a line
    # per month; a stacked bar view stacks them
    rows = [
        {"handlingOrganizationName": name, "acceptedOn": day, "figures:onTimeRate": rate}
        for (name, day), rate in narrowed.items()
    ]
    headers = {
        "handlingOrganizationName": "承办单位 · 名称",
        "acceptedOn": "受理日期",
        "figures:onTimeRate": "限时办结率",
    }
    lines = {**saved["view"], "kind": "line"}
    order = sorted({day for _name, day in narrowed})
    book = load_workbook(
        io.BytesIO(report_files.workbook("各大厅限时办结率", rows[::-1], lines, headers, order))
    )
    data, table = book["数据"], book["透视"]
    assert [c.value for c in data[1]] == ["承办单位 · 名称", "受理日期", "限时办结率"]
    assert data.max_row == len(rows) + 1
    months = [c.value for c in table[1]][1:]
    assert months == order
    for line in table.iter_rows(min_row=2, values_only=True):
        name, *cells = line
        assert {m: v for m, v in zip(months, cells, strict=True) if v is not None} == {
            day: rate for (hall, day), rate in narrowed.items() if hall == name
        }
    (chart,) = table._charts
    assert chart.tagname == "lineChart" and len(chart.series) == len(months)
    counts = [{**row, "figures:onTimeRate": 1} for row in rows]
    stacked = load_workbook(
        io.BytesIO(report_files.workbook("计数", counts, {**lines, "kind": "stacked_bar"}, headers))
    )
    (chart,) = stacked["透视"]._charts
    assert chart.tagname == "barChart" and chart.grouping == "stacked"


async def test_a_link_to_a_private_report_shows_the_api_s_refusal_with_its_code(api_url):
    admin = await asyncio.to_thread(signed_in, api_url, "admin")
    saved = await asyncio.to_thread(
        lambda: httpx.post(
            f"{api_url}/graphql",
            json={
                "query": "mutation($input: CreateReportInput!) { createReport(input: $input) { id } }",
                "variables": {"input": {"name": "私人草稿", "document": PER_HALL, "visibility": "PRIVATE"}},
            },
            headers={"Authorization": f"Bearer {admin.token}"},
        ).json()
    )
    private = saved["data"]["createReport"]["id"]
    clerk = await asyncio.to_thread(signed_in, api_url, "hall_clerk")

    def linked(app):
        app.query_params["report"] = private

    page = await asyncio.to_thread(run, api_url, REPORTS, clerk, None, [linked])
    assert not page.exception, page.exception
    (refusal,) = [e.value for e in page.error]
    assert refusal.endswith("(NOT_FOUND)") and "not shared with you" in refusal, refusal
    assert "私人草稿" not in [o for s in page.selectbox for o in s.options]
    mine = await asyncio.to_thread(run, api_url, REPORTS, admin, None, [linked])  # the owner's own
    assert not mine.error and "私人草稿" in mine.selectbox(key="reports_open").options


async def test_an_average_per_group_is_offered_without_an_order_the_api_cannot_take(api_url):
    """Groups are ordered and kept by count, sums and figures (orderBy, having): for an average the
    page offers neither, instead of sending what the API refuses."""
    admin = await asyncio.to_thread(signed_in, api_url, "admin")

    def build(app):
        app.selectbox(key="reports_model").select("casesAggregate")

    def group(app):
        app.selectbox(key="reports_group_casesAggregate").select("handlingOrganizationCode")
        app.selectbox(key="reports_measure_casesAggregate").select("avg:workingDaysTaken")

    app = await asyncio.to_thread(run, api_url, REPORTS, admin, None, [build, group])
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    assert "reports_order" not in [s.key for s in app.selectbox]
    direct = graphql_at(
        api_url,
        """{ casesAggregate(groupBy: [{handlingOrganizationCode: true}]) {
             groups { keys { handlingOrganizationCode } avg { workingDaysTaken } } } }""",
        admin.token,
    )["casesAggregate"]["groups"]
    (shown,) = [d.value for d in app.dataframe if len(d.value.columns) == 2]
    averages = dict(zip(shown.iloc[:, 0], shown.iloc[:, 1], strict=True))
    assert averages == {g["keys"]["handlingOrganizationCode"]: g["avg"]["workingDaysTaken"] for g in direct}
