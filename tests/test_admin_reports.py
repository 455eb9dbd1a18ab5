"""The 报表 page against a real API server: a report built by choosing (no GraphQL typed), saved,
opened again in a new session by another user, who sees their own area's figures."""

from __future__ import annotations

import asyncio
import io

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
        app.number_input(key="reports_at_least").set_value(590)

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
