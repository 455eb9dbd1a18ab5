"""报表 Reports: build a report by choosing a model, a grouping, a measure and a filter (no GraphQL
typed), preview it live with your own rights, save it (private, for a role, or for your area), and
open the reports saved by you or shared with you; each runs with the reader's rights (runReport).
Every model with an aggregate field is offered, read from the schema (admin_ui.introspection)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from admin_ui import report_files, session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe
from admin_ui.i18n import ROLE_LABELS, add, label, t
from admin_ui.introspection import (
    Aggregate,
    aggregate_document,
    aggregates,
    report_rows,
    where,
)
from admin_ui.labels import enum_label, term, type_label
from admin_ui.views import browser

add(
    {
        "reports_title": {"zh": "报表", "en": "Reports"},
        "reports_saved": {"zh": "已保存的报表", "en": "Saved reports"},
        "reports_none": {"zh": "还没有你可以打开的报表。", "en": "No report you may open yet."},
        "reports_open": {"zh": "打开报表", "en": "Open a report"},
        "reports_by": {"zh": "创建人：{owner} · {shared}", "en": "By {owner} · {shared}"},
        "reports_build": {"zh": "新建报表", "en": "Build a report"},
        "reports_model": {"zh": "数据", "en": "Data"},
        "reports_group": {"zh": "分组", "en": "Group by"},
        "reports_no_group": {"zh": "不分组（合计）", "en": "No grouping (totals)"},
        "reports_bucket": {"zh": "时间粒度", "en": "Period"},
        "reports_measure": {"zh": "指标", "en": "Measure"},
        "reports_count": {"zh": "数量", "en": "Count"},
        "reports_filter": {"zh": "筛选", "en": "Filter"},
        "reports_no_filter": {"zh": "不筛选", "en": "No filter"},
        "reports_value": {"zh": "等于", "en": "Equals"},
        "reports_view": {"zh": "展示方式", "en": "View"},
        "reports_order": {"zh": "排序", "en": "Order"},
        "reports_at_least": {"zh": "只显示指标不小于", "en": "Only groups whose measure is at least"},
        "reports_name": {"zh": "报表名称", "en": "Name"},
        "reports_description": {"zh": "说明", "en": "Description"},
        "reports_visibility": {"zh": "共享范围", "en": "Shared with"},
        "reports_role": {"zh": "共享角色", "en": "Role"},
        "reports_save": {"zh": "保存报表", "en": "Save the report"},
        "reports_saved_as": {"zh": "已保存报表“{name}”。", "en": "Report “{name}” saved."},
        "reports_name_needed": {"zh": "请填写报表名称。", "en": "Give the report a name."},
        "reports_link": {"zh": "链接：{link}", "en": "Link: {link}"},
        "reports_empty": {"zh": "没有数据。", "en": "No data."},
        "reports_excel": {"zh": "导出 Excel", "en": "Export to Excel"},
        "reports_csv": {"zh": "导出 CSV", "en": "Export to CSV"},
    }
)

MEASURE_WORDS = {
    "sum": {"zh": "合计", "en": "Sum of"},
    "avg": {"zh": "平均", "en": "Average"},
    "min": {"zh": "最小", "en": "Least"},
    "max": {"zh": "最大", "en": "Greatest"},
}
ORDERS = {
    None: {"zh": "按分组", "en": "By group"},
    "DESC": {"zh": "指标从大到小", "en": "Measure, largest first"},
    "ASC": {"zh": "指标从小到大", "en": "Measure, smallest first"},
}
VIEWS = {
    "table": {"zh": "表格", "en": "Table"},
    "bar": {"zh": "柱状图", "en": "Bar chart"},
    "line": {"zh": "折线图", "en": "Line chart"},
}
VISIBILITY = ("PRIVATE", "ROLE", "AREA")
SAVED = """{ reports(first: 200, orderBy: [{updatedAt: DESC}]) { nodes {
  id name description visibility role ownerName view } } }"""
RUN = "query($id: ID!) { runReport(id: $id) }"
SAVE = "mutation($input: CreateReportInput!) { createReport(input: $input) { id name } }"
FLASH = "reports_flash"
SCHEMA_KEY, MODELS_KEY = "reports_aggregates", "reports_models"


def render() -> None:
    session.require()
    lang = session.lang()
    st.title(t("reports_title", lang))
    session.show_flash(FLASH)
    found = _aggregates()
    if found is None:
        return
    _saved(lang)
    st.divider()
    _builder(found, lang)


def _aggregates() -> dict[str, Aggregate] | None:
    """The models with an aggregate field, from the schema (read once per session)."""
    if st.session_state.get(SCHEMA_KEY) is None:
        found = browser.schema()
        if found is None:
            return None
        st.session_state[SCHEMA_KEY] = {a.field: a for a in aggregates(found)}
        st.session_state[MODELS_KEY] = {m.plural: m for m in found.models()}
    return st.session_state[SCHEMA_KEY]


def _saved(lang: str) -> None:
    st.subheader(t("reports_saved", lang))
    try:
        reports = session.query(SAVED, fresh=True)["reports"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    if not reports:
        st.info(t("reports_none", lang))
        return
    names = {r["id"]: r["name"] for r in reports}
    asked = st.query_params.get("report")  # a link opens its report (after sign-in too)
    if asked in names and "reports_open" not in st.session_state:
        st.session_state["reports_open"] = asked
    chosen = st.selectbox(
        t("reports_open", lang),
        list(names),
        index=None,
        format_func=names.__getitem__,
        placeholder=t("choose_one", lang),
        key="reports_open",
    )
    if chosen is None:
        return
    report = next(r for r in reports if r["id"] == chosen)
    shared = enum_label("Visibility", report["visibility"], lang) or report["visibility"]
    if report["role"]:
        shared += f"（{label(ROLE_LABELS, report['role'], lang)}）"
    st.caption(t("reports_by", lang).format(owner=report["ownerName"], shared=shared))
    if report["description"]:
        st.markdown(report["description"])
    st.query_params["report"] = chosen
    st.caption(t("reports_link", lang).format(link=f"?report={chosen}"))
    try:
        data = session.query(RUN, {"id": chosen}, fresh=True)["runReport"]
    except ApiError as error:
        session.show_error(error)
        return
    rows = report_rows(data, report["view"])
    _show(rows, report["view"], lang, f"report_{chosen}", next(iter(data)))
    if rows:
        headers = _headers(next(iter(data)), report["view"], lang)
        columns = st.columns(2)
        columns[0].download_button(
            t("reports_excel", lang),
            report_files.workbook(report["name"], rows, report["view"], headers),
            file_name=f"{report['name']}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="reports_excel",
        )
        columns[1].download_button(
            t("reports_csv", lang),
            report_files.csv_file(rows, headers),
            file_name=f"{report['name']}.csv",
            mime="text/csv",
            key="reports_csv",
        )


def _headers(field: str, view: dict, lang: str) -> dict[str, str]:
    """Column headers of a report's rows: the grouping's and the measure's labels."""
    aggregate = st.session_state[SCHEMA_KEY].get(field)
    out = {"count": t("reports_count", lang)}
    if aggregate is None:
        return out
    if view.get("x"):
        out[view["x"]] = _grouping_label(aggregate, view["x"], lang)
    y = view.get("y", "count")
    out[y] = _measure_labels(aggregate, lang).get(y, y)
    return out


def _measure_labels(aggregate: Aggregate, lang: str) -> dict[str, str]:
    """Each measure of the aggregate ("count", "sum:views" ...) by its label ("合计 浏览量")."""
    labels = {"count": t("reports_count", lang)}
    for function, fields in aggregate.measures.items():
        for field in fields:
            words = MEASURE_WORDS[function][lang]
            labels[f"{function}:{field.name}"] = (
                f"{words} {term(aggregate.type_name, field.name, field.description, lang)}"
            )
    return _unique(labels)


def _builder(found: dict[str, Aggregate], lang: str) -> None:
    st.subheader(t("reports_build", lang))
    columns = st.columns(3)
    chosen = columns[0].selectbox(
        t("reports_model", lang),
        list(found),
        format_func=lambda name: type_label(found[name].type_name, found[name].description, lang),
        placeholder=t("choose_one", lang),
        key="reports_model",
    )
    aggregate = found[chosen]
    groupings = {g.name: g for g in aggregate.groupings}
    labels = _unique({name: _grouping_label(aggregate, name, lang) for name in groupings})
    group = columns[1].selectbox(
        t("reports_group", lang),
        [None, *groupings],
        format_func=lambda name: t("reports_no_group", lang) if name is None else labels[name],
        placeholder=t("choose_one", lang),
        key=f"reports_group_{chosen}",
    )
    grouping = groupings.get(group) if group else None
    bucket = None
    if grouping is not None and grouping.buckets:
        bucket = columns[1].selectbox(
            t("reports_bucket", lang),
            grouping.buckets,
            key="reports_bucket",
            placeholder=t("choose_one", lang),
        )
    measures = _measure_labels(aggregate, lang)
    measure = columns[2].selectbox(
        t("reports_measure", lang),
        list(measures),
        format_func=measures.__getitem__,
        placeholder=t("choose_one", lang),
        key=f"reports_measure_{chosen}",
    )
    condition = _filter(chosen, lang)
    order, at_least = None, None
    if grouping is not None:
        columns = st.columns(2)
        order = columns[0].selectbox(
            t("reports_order", lang),
            [None, "DESC", "ASC"],
            format_func=lambda o: ORDERS[o][lang],
            placeholder=t("choose_one", lang),
            key="reports_order",
        )
        at_least = columns[1].number_input(
            t("reports_at_least", lang), value=None, step=1, key="reports_at_least", placeholder="—"
        )
    kind = st.radio(
        t("reports_view", lang),
        list(VIEWS),
        format_func=lambda k: VIEWS[k][lang],
        horizontal=True,
        key="reports_view",
    )
    document = aggregate_document(
        aggregate, grouping, bucket, measure, order, int(at_least) if at_least is not None else None
    )
    variables = {"where": condition} if aggregate.where else {}
    view = {"kind": kind, "x": group, "y": measure}
    try:
        data = session.query(document, variables)
    except ApiError as error:
        session.show_error(error)
        return
    _show(report_rows(data, view), view, lang, "reports_preview", aggregate.field)
    _save_form(document, variables, view, lang)


def _grouping_label(aggregate: Aggregate, name: str, lang: str) -> str:
    """A grouping as the model's own field, or as a to-one relation's field ("办理单位 · 编码")."""
    models = st.session_state[MODELS_KEY]
    model = models.get(aggregate.plural)
    if model is None:
        return name
    columns = {c.name: c for c in model.columns}
    if name in columns:
        return term(model.type_name, name, columns[name].description, lang)
    for relation in sorted(model.relations, key=lambda r: -len(r.name)):
        if name.startswith(relation.name) and len(name) > len(relation.name):
            rest = name[len(relation.name)].lower() + name[len(relation.name) + 1 :]
            related = next((m for m in models.values() if m.type_name == relation.type_name), None)
            described = (
                next((c.description for c in related.columns if c.name == rest), "") if related else ""
            )
            head = term(model.type_name, relation.name, relation.description, lang)
            return f"{head} · {term(relation.type_name, rest, described, lang)}"
    return name


def _unique(labels: dict[str, str]) -> dict[str, str]:
    """Labels a selectbox can tell apart: a repeated one carries its field's name."""
    seen: dict[str, int] = {}
    for text in labels.values():
        seen[text] = seen.get(text, 0) + 1
    return {key: text if seen[text] == 1 else f"{text} ({key})" for key, text in labels.items()}


def _filter(chosen: str, lang: str) -> dict | None:
    """One condition (a field equal to a value), from the model's `where` filters."""
    model = st.session_state[MODELS_KEY].get(chosen.removesuffix("Aggregate"))
    if model is None:
        return None
    filters = {f.label: f for f in model.filters if any(op.name == "eq" for op in f.operators)}
    columns = st.columns(2)
    picked = columns[0].selectbox(
        t("reports_filter", lang),
        [None, *filters],
        format_func=lambda name: t("reports_no_filter", lang) if name is None else name,
        placeholder=t("choose_one", lang),
        key=f"reports_filter_{chosen}",
    )
    if picked is None:
        return None
    chosen_filter = filters[picked]
    operator = next(op for op in chosen_filter.operators if op.name == "eq")
    if operator.choices:
        value = columns[1].selectbox(
            t("reports_value", lang),
            operator.choices,
            key="reports_filter_value",
            placeholder=t("choose_one", lang),
        )
    else:
        value = columns[1].text_input(t("reports_value", lang), key="reports_filter_value").strip()
    if value in (None, ""):
        return None
    try:
        return where([(chosen_filter, "eq", value)])
    except ValueError:
        return None


def _show(rows: list[dict], view: dict, lang: str, key: str, field: str) -> None:
    """The rows under their labels (an enum's values in words), and the view's chart of them."""
    if not rows:
        st.info(t("reports_empty", lang))
        return
    x, y = view.get("x"), view.get("y", "count")
    headers, enum = _headers(field, view, lang), _enum_of(field, x)
    shown = [
        {
            headers.get(name, name): (enum_label(enum, value, lang) or value) if name == x and enum else value
            for name, value in row.items()
        }
        for row in rows
    ]
    dataframe(shown, hide_index=True, key=key)
    if x and view.get("kind") in ("bar", "line") and len(rows) > 1:
        across, up = headers.get(x, x), headers.get(y, y)
        chart = {row[across] if row[across] is not None else "—": row[up] or 0 for row in shown}
        if view["kind"] == "bar":
            st.bar_chart(chart, x_label=across, y_label=up)
        else:
            st.line_chart(chart, x_label=across, y_label=up)


def _enum_of(field: str, x: str | None) -> str | None:
    """The enum type of the grouping `x` of the aggregate `field`, when it is a plain enum field."""
    aggregate = st.session_state[SCHEMA_KEY].get(field)
    model = st.session_state[MODELS_KEY].get(aggregate.plural) if aggregate else None
    column = next((c for c in model.columns if c.name == x), None) if model else None
    return column.ref.name if column is not None and column.choices else None


def _save_form(document: str, variables: dict, view: dict, lang: str) -> None:
    with st.form("reports_save_form"):
        st.text_input(t("reports_name", lang), max_chars=100, key="reports_name")
        st.text_area(t("reports_description", lang), key="reports_description")
        columns = st.columns(2)
        columns[0].selectbox(
            t("reports_visibility", lang),
            VISIBILITY,
            format_func=lambda v: enum_label("Visibility", v, lang) or v,
            placeholder=t("choose_one", lang),
            key="reports_visibility",
        )
        columns[1].selectbox(
            t("reports_role", lang),
            [r for r in ROLE_LABELS if r not in ("PUBLIC", "INTEGRATOR")],
            format_func=lambda r: label(ROLE_LABELS, r, lang),
            placeholder=t("choose_one", lang),
            key="reports_role",
        )
        st.form_submit_button(
            t("reports_save", lang),
            key="reports_save",
            on_click=_save,
            args=(document, variables, view, lang),
        )


def _save(document: str, variables: dict, view: dict, lang: str) -> None:
    state = st.session_state
    name = state["reports_name"].strip()
    if not name:
        state[FLASH] = ("warning", t("reports_name_needed", lang))
        return
    visibility = state["reports_visibility"]
    report: dict[str, Any] = {
        "name": name,
        "description": state["reports_description"].strip(),
        "document": document,
        "variables": variables,
        "view": view,
        "visibility": visibility,
        "role": state["reports_role"] if visibility == "ROLE" else None,
    }
    session.write(FLASH, SAVE, {"input": report}, t("reports_saved_as", lang).format(name=name))


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
