"""报表 Reports: build a report by choosing a model, up to two groupings, a measure (a count, a sum
… or one of the domain's figures the API computes: 办结率, 限时办结率, overdue, 满意率) and filters
(no GraphQL typed), preview it live with your own rights, save it (private, for a role, or for your
area), and open the reports saved by you or shared with you; each runs with the reader's rights
(runReport). Every model with an aggregate field is offered, read from the schema
(admin_ui.introspection)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from admin_ui import report_files, session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe
from admin_ui.i18n import ROLE_LABELS, add, label, t
from admin_ui.introspection import (
    MAX_GROUPS,
    Aggregate,
    Grouping,
    aggregate_document,
    aggregates,
    report_rows,
    where,
)
from admin_ui.labels import enum_label, term, type_label
from admin_ui.records import filter_label
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
        "reports_series": {"zh": "再按…分组（系列）", "en": "Then by (series)"},
        "reports_no_series": {"zh": "不再分组", "en": "No second grouping"},
        "reports_bucket": {"zh": "时间粒度", "en": "Period"},
        "reports_series_bucket": {"zh": "系列的时间粒度", "en": "Series period"},
        "reports_measure": {"zh": "指标", "en": "Measure"},
        "reports_count": {"zh": "数量", "en": "Count"},
        "reports_view": {"zh": "展示方式", "en": "View"},
        "reports_refilter": {"zh": "更改或增加筛选条件", "en": "Change or add filters"},
        "reports_saved_filter": {"zh": "报表保存的筛选：{where}", "en": "The report's own filters: {where}"},
        "reports_no_filter": {"zh": "无", "en": "none"},
        "reports_order": {"zh": "排序", "en": "Order"},
        "reports_at_least": {"zh": "只显示指标不小于", "en": "Only groups whose measure is at least"},
        "reports_at_least_rate": {
            "zh": "只显示比率不小于（%）",
            "en": "Only groups whose rate is at least (%)",
        },
        "reports_name": {"zh": "报表名称", "en": "Name"},
        "reports_description": {"zh": "说明", "en": "Description"},
        "reports_visibility": {"zh": "共享范围", "en": "Shared with"},
        "reports_role": {"zh": "共享角色", "en": "Role"},
        "reports_save": {"zh": "保存报表", "en": "Save the report"},
        "reports_saved_as": {"zh": "已保存报表“{name}”。", "en": "Report “{name}” saved."},
        "reports_name_needed": {"zh": "请填写报表名称。", "en": "Give the report a name."},
        "reports_link": {"zh": "链接：{link}", "en": "Link: {link}"},
        "reports_empty": {"zh": "没有数据。", "en": "No data."},
        "reports_cut": {
            "zh": "分组过多：只显示前 {n} 组，请增加筛选条件。",
            "en": "Too many groups: only the first {n} are shown; filter further.",
        },
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
MEASURE_WORDS["figures"] = {"zh": "", "en": ""}  # a figure is named by its own label (限时办结率)
VIEWS = {
    "table": {"zh": "表格", "en": "Table"},
    "bar": {"zh": "柱状图", "en": "Bar chart"},
    "stacked_bar": {"zh": "堆叠柱状图", "en": "Stacked bar chart"},
    "line": {"zh": "折线图", "en": "Line chart"},
    "pivot": {"zh": "透视表", "en": "Pivot table"},
}
SERIES_VIEWS = ("stacked_bar", "pivot")  # views that need the second grouping
ORDERABLE = ("sum:", "figures:")  # besides count, the measures groups are ordered and kept by
VISIBILITY = ("PRIVATE", "ROLE", "AREA")
SAVED = """{ reports(first: 200, orderBy: [{updatedAt: DESC}]) { nodes {
  id name description visibility role ownerName document variables view } } }"""
RUN = "query($id: ID!, $variables: JSON) { runReport(id: $id, variables: $variables) }"
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
    names = {r["id"]: r["name"] for r in reports}
    asked = st.query_params.get("report")  # a link opens its report (after sign-in too)
    if asked and asked not in names:
        _refused(asked)
    if not reports:
        st.info(t("reports_none", lang))
        return
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
    st.markdown(f"#### {_escaped(report['name'])}")
    shared = enum_label("Visibility", report["visibility"], lang) or report["visibility"]
    if report["role"]:
        shared += f"（{label(ROLE_LABELS, report['role'], lang)}）"
    st.caption(t("reports_by", lang).format(owner=report["ownerName"], shared=shared))
    if report["description"]:
        st.markdown(_escaped(report["description"]))  # another user's text, shown as typed
    st.query_params["report"] = chosen
    st.caption(t("reports_link", lang).format(link=f"?report={chosen}"))
    replaced = _refilter(report, lang)
    if replaced is None:
        return
    try:
        data = session.query(RUN, {"id": chosen, "variables": replaced}, fresh=True)["runReport"]
    except ApiError as error:
        session.show_error(error)
        return
    field = next(iter(data))
    raw = report_rows(data, report["view"])
    rows, series = _show(raw, report["view"], lang, f"report_{chosen}", field)
    if rows:
        headers = _headers(field, report["view"], lang)
        columns = st.columns(2)
        columns[0].download_button(
            t("reports_excel", lang),
            report_files.workbook(report["name"], rows, report["view"], headers, series),
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


def _refused(asked: str) -> None:
    """A link to a report the reader may not open (private, shared with another role or area, or
    deleted): the API's own refusal, with its code, as running it answers."""
    try:
        session.query(RUN, {"id": asked, "variables": {}}, fresh=True)
    except ApiError as error:
        session.show_error(error)


def _refilter(report: dict, lang: str) -> dict | None:
    """Filters changed or added on an opened report, chosen as when building one: each replaces
    the saved condition of its field and operator, or is added to the saved ones, for this run
    (the saved report is unchanged); {} keeps the saved ones, None when a value is unusable."""
    operation = _operation(report["document"])
    aggregate = st.session_state[SCHEMA_KEY].get(_root_field(operation) or "")
    if aggregate is None or not aggregate.where or not _declares(operation, "where"):
        return {}  # a query of its own variables: run as saved
    saved = report.get("variables", {}).get("where")
    with st.expander(t("reports_refilter", lang)):
        st.caption(t("reports_saved_filter", lang).format(where=_words(saved, aggregate, lang)))
        chosen = _conditions(aggregate.field, lang, f"reports_open_{report['id']}")
    if chosen is None:
        return None
    return {"where": merged(saved, where(chosen))} if chosen else {}


def merged(saved: Any, changed: Any) -> Any:
    """`changed` laid over `saved` (two `where` objects): its operators replace the saved ones of
    the same field, the rest of the saved conditions stay."""
    if not isinstance(saved, dict) or not isinstance(changed, dict):
        return changed
    return {**saved, **{key: merged(saved.get(key), value) for key, value in changed.items()}}


def _operation(document: str) -> Any:
    """The report's query operation, parsed; None when it does not parse."""
    from graphql import parse
    from graphql.error import GraphQLError
    from graphql.language import OperationDefinitionNode

    try:
        parsed = parse(document)
    except GraphQLError:
        return None
    return next((d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)), None)


def _declares(operation: Any, variable: str) -> bool:
    """Whether the report's query (`_operation`) declares `$variable` (only then does a value for
    it count)."""
    definitions = operation.variable_definitions or () if operation is not None else ()
    return any(d.variable.name.value == variable for d in definitions)


def _root_field(operation: Any) -> str | None:
    """The root field a report's query (`_operation`) reads (reports built here read one aggregate)."""
    if operation is None or not operation.selection_set.selections:
        return None
    return operation.selection_set.selections[0].name.value


def _words(condition: Any, aggregate: Aggregate, lang: str) -> str:
    """A saved `where` in words: each filter's label, operator and value ("层级 = 便民服务大厅")."""
    if not condition:
        return t("reports_no_filter", lang)
    model = st.session_state[MODELS_KEY].get(aggregate.plural)
    offered = {f.label: f for f in (*model.filters, *model.related_filters)}.values() if model else ()
    parts = []
    for flt in offered:
        level: Any = condition
        for step in flt.path:
            level = level.get(step) if isinstance(level, dict) else None
        if isinstance(level, dict):
            operators = {o.name: o for o in flt.operators}
            for operator, value in level.items():
                if operator in operators:
                    shown = _value_words(operators[operator], value, lang)
                    label = f"{filter_label(flt, lang)} {browser.operator_label(operator, lang)}"
                    parts.append(f"{label} {shown}")
    return "；".join(parts) or json.dumps(condition, ensure_ascii=False)


def _value_words(operator: Any, value: Any, lang: str) -> str:
    """A filter's value as shown: an enum's values in words (便民服务大厅 for HALL)."""
    if operator.choices:
        values = value if isinstance(value, list) else [value]
        return "、".join(enum_label(operator.ref.name, v, lang) or str(v) for v in values)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _labelled(rows: list[dict], view: dict, field: str, lang: str) -> tuple[list[dict], list]:
    """The rows with an enum grouping's values in words (便民服务大厅 for HALL), for the page and
    the files alike; and the second grouping's values (shown) in their own order (NULL last), for
    a pivot's columns."""
    series = view.get("series")
    words = {name: _enum_of(field, name) for name in (view.get("x"), series) if name}
    words = {name: enum for name, enum in words.items() if enum}

    def shown(name: str, value: Any) -> Any:
        return (enum_label(words[name], value, lang) or value) if name in words else value

    order = sorted({row[series] for row in rows}, key=lambda v: (v is None, str(v))) if series else []
    labelled = [{name: shown(name, value) for name, value in row.items()} for row in rows]
    return labelled, [shown(series, value) for value in order]


def _headers(field: str, view: dict, lang: str) -> dict[str, str]:
    """Column headers of a report's rows: the groupings' and the measure's labels."""
    aggregate = st.session_state[SCHEMA_KEY].get(field)
    out = {"count": t("reports_count", lang)}
    if aggregate is None:
        return out
    for grouping in (view.get("x"), view.get("series")):
        if grouping:
            out[grouping] = _grouping_label(aggregate, grouping, lang)
    y = view.get("y", "count")
    out[y] = _measure_labels(aggregate, lang).get(y, y)
    return _unique(out)  # a grouping and a measure may share a label (Accepted: a time, a figure)


def _measure_labels(aggregate: Aggregate, lang: str) -> dict[str, str]:
    """Each measure of the aggregate ("count", "sum:views", "figures:onTimeRate" ...) by its label
    ("合计 浏览量", "限时办结率")."""
    labels = {"count": t("reports_count", lang)}
    for function, fields in aggregate.measures.items():
        owner = f"{aggregate.type_name}Figures" if function == "figures" else aggregate.type_name
        for field in fields:
            words = MEASURE_WORDS[function][lang]
            named = term(owner, field.name, field.description, lang)
            labels[f"{function}:{field.name}"] = f"{words} {named}" if words else named
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
    group, bucket = _grouping(columns[1], groupings, labels, None, chosen, lang)
    measures = _measure_labels(aggregate, lang)
    measure = columns[2].selectbox(
        t("reports_measure", lang),
        list(measures),
        format_func=measures.__getitem__,
        placeholder=t("choose_one", lang),
        key=f"reports_measure_{chosen}",
    )
    order, at_least, series, series_bucket = None, None, None, None
    if group is not None:
        columns = st.columns(3)
        series, series_bucket = _grouping(columns[0], groupings, labels, group, chosen, lang)
        if measure == "count" or measure.startswith(ORDERABLE):  # what orderBy and having take
            order = columns[1].selectbox(
                t("reports_order", lang),
                [None, "DESC", "ASC"],
                format_func=lambda o: ORDERS[o][lang],
                placeholder=t("choose_one", lang),
                key="reports_order",
            )
            at_least = _threshold(columns[2], aggregate, measure, lang)
    conditions = _conditions(chosen, lang, f"reports_{chosen}")
    if conditions is None:
        return
    kinds = [k for k in VIEWS if series is not None or k not in SERIES_VIEWS]
    if _share(aggregate.field, measure):  # rates do not add up: no stacked bars of them
        kinds = [k for k in kinds if k != "stacked_bar"]
    kind = st.radio(
        t("reports_view", lang),
        kinds,
        format_func=lambda k: VIEWS[k][lang],
        horizontal=True,
        key="reports_view",
    )
    chosen_groupings = [
        (groupings[name], b) for name, b in ((group, bucket), (series, series_bucket)) if name
    ]
    document = aggregate_document(aggregate, chosen_groupings, measure, order, at_least)
    variables = {"where": where(conditions)} if aggregate.where else {}
    view = {"kind": kind, "x": group, "y": measure}
    if series is not None:
        view["series"] = series
    try:
        data = session.query(document, variables)
    except ApiError as error:
        session.show_error(error)
        return
    _show(report_rows(data, view), view, lang, "reports_preview", aggregate.field)
    _save_form(document, variables, view, lang)


def _grouping(
    place: Any,
    groupings: dict[str, Grouping],
    labels: dict[str, str],
    first: str | None,
    chosen: str,
    lang: str,
) -> tuple[str | None, str | None]:
    """A grouping chosen in `place` (the first, or with `first` the second, the series) and its
    date bucket when it is a date or time."""
    series = first is not None
    options = [None, *(name for name in groupings if name != first)]
    none = t("reports_no_series" if series else "reports_no_group", lang)
    name = place.selectbox(
        t("reports_series" if series else "reports_group", lang),
        options,
        format_func=lambda n: none if n is None else labels[n],
        placeholder=t("choose_one", lang),
        key=f"reports_{'series' if series else 'group'}_{chosen}",
    )
    grouping = groupings.get(name) if name else None
    if grouping is None or not grouping.buckets:
        return name, None
    bucket = place.selectbox(
        t("reports_series_bucket" if series else "reports_bucket", lang),
        grouping.buckets,
        placeholder=t("choose_one", lang),
        key="reports_series_bucket" if series else "reports_bucket",
    )
    return name, bucket


def _threshold(place: Any, aggregate: Aggregate, measure: str, lang: str) -> float | None:
    """The least value of the measure a group must have to be shown: a whole number for a count
    or an integer sum, a percentage (0-100, as rates are shown) for a rate, else any number."""
    if _share(aggregate.field, measure):
        percent = place.number_input(
            t("reports_at_least_rate", lang),
            min_value=0.0,
            max_value=100.0,
            value=None,
            step=1.0,
            key="reports_at_least_rate",
            placeholder="—",
        )
        return None if percent is None else round(percent / 100, 6)
    whole = _whole(aggregate, measure)
    least = place.number_input(
        t("reports_at_least", lang),
        value=None,
        step=1 if whole else 1.0,
        key=f"reports_at_least_{'whole' if whole else 'number'}",
        placeholder="—",
    )
    return int(least) if least is not None and whole else least


def _whole(aggregate: Aggregate, measure: str) -> bool:
    """Whether the measure takes whole numbers (a count, a sum of integers) rather than a rate."""
    function, _, name = measure.partition(":")
    field = next((f for f in aggregate.measures.get(function, ()) if f.name == name), None)
    return field is None or field.ref.name in ("Int", "BigInt")


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


def _conditions(chosen: str, lang: str, key: str) -> list | None:
    """The filters chosen: any field of the model's `where`, or of a to-one relation's (the
    handling organization's tier ...), each with its operator and value, as the data browser
    offers them; None when a value is unusable (the browser shows why)."""
    model = st.session_state[MODELS_KEY].get(chosen.removesuffix("Aggregate"))
    if model is None:
        return []
    offered = {f.label: f for f in (*model.filters, *model.related_filters)}
    return browser.conditions(replace(model, filters=tuple(offered.values())), key, lang)


def _show(rows: list[dict], view: dict, lang: str, key: str, field: str) -> tuple[list[dict], list]:
    """The rows (as report_rows gives them) with an enum's values in words and under their
    headers, pivoted for a pivot view, and the view's chart of them (one bar or line per value of
    the second grouping, stacked or not). Returns the rows as shown (keys still field names) and
    the second grouping's values in order (`_labelled`), for the files."""
    if not rows:
        st.info(t("reports_empty", lang))
        return [], []
    x, series, y = view.get("x"), view.get("series"), view.get("y", "count")
    labelled, columns = _labelled(rows, view, field, lang)
    headers = _headers(field, view, lang)
    shown = [{headers.get(name, name): value for name, value in row.items()} for row in labelled]
    kind = view.get("kind")
    across, up = headers.get(x, x), headers.get(y, y)
    by = headers.get(series, series) if series else None
    share = _share(field, y)  # a rate: shown as a percentage, and no bar where there is none
    percent = st.column_config.NumberColumn(format="percent")
    if len(rows) >= MAX_GROUPS:
        st.warning(t("reports_cut", lang).format(n=MAX_GROUPS))
    if kind == "pivot" and by:
        table = report_files.pivoted(labelled, x, series, y, columns)
        table = [{headers.get(k, k) if k == x else k: v for k, v in row.items()} for row in table]
        config = {c: percent for c in table[0] if c != across} if share and table else None
        dataframe(table, hide_index=True, key=key, column_config=config)
        return labelled, columns
    dataframe(shown, hide_index=True, key=key, column_config={up: percent} if share else None)
    if not x or kind not in ("bar", "stacked_bar", "line") or len(rows) < 2:
        return labelled, columns
    frame = pd.DataFrame(shown)
    frame[across] = [report_files.text(row[across]) for row in shown]  # as shown: 1, not 1.0
    if not share:
        frame[up] = frame[up].fillna(0)
    options: dict[str, Any] = {"x": across, "y": up, "x_label": across, "y_label": up}
    if by:
        frame[by] = [report_files.text(row[by]) for row in shown]
        options["color"] = by
    if kind == "line":
        st.line_chart(frame, **options)
    else:
        st.bar_chart(frame, stack=kind == "stacked_bar" if by else None, **options)
    return labelled, columns


def _share(field: str, y: str) -> bool:
    """Whether the measure `y` of the aggregate `field` is one of the domain's rates (a figure
    that is a share, 0 to 1)."""
    aggregate = st.session_state[SCHEMA_KEY].get(field)
    function, _, name = y.partition(":")
    if aggregate is None or function != "figures":
        return False
    return any(f.name == name and f.ref.name == "Float" for f in aggregate.measures.get("figures", ()))


def _escaped(text: str) -> str:
    """Text shown as itself in markdown (a report's name may hold * _ # …; no link, image or
    :emoji: shortcode of another user's text is rendered)."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]()#+-.!|<>~$:" else c for c in text)


def _enum_of(field: str, name: str | None) -> str | None:
    """The enum type of the grouping `name` of the aggregate `field`, when it is a plain enum field."""
    aggregate = st.session_state[SCHEMA_KEY].get(field)
    model = st.session_state[MODELS_KEY].get(aggregate.plural) if aggregate else None
    column = next((c for c in model.columns if c.name == name), None) if model else None
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
