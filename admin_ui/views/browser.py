"""数据浏览 Data browser: every model the API exposes, listed, filtered, sorted, paged, exported and
edited through its generated mutations, all built from the schema's introspection (no per-model code);
fields and values are labelled from the schema's descriptions, relations by what names them."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe
from admin_ui.i18n import add, t
from admin_ui.introspection import (
    INTROSPECTION,
    Field,
    Filter,
    Model,
    Schema,
    convert,
    csv_text,
    list_query,
    shipped_schema,
    where,
)
from admin_ui.labels import enum_label, type_label
from admin_ui.records import field_label, filter_label, headers, table
from admin_ui.views import browser_forms
from admin_ui.views.browser_forms import widget

add(
    {
        "browser_title": {"zh": "数据浏览", "en": "Data browser"},
        "browser_model": {"zh": "数据对象", "en": "Model"},
        "browser_no_models": {
            "zh": "接口没有公开任何可浏览的对象。",
            "en": "The API exposes no model to browse.",
        },
        "browser_shipped_schema": {
            "zh": "接口已关闭内省（生产环境的默认设置），本页按随程序发布的接口定义显示。",
            "en": "The API answers no introspection (as in production): this page follows the schema "
            "shipped with the program.",
        },
        "browser_browse": {"zh": "浏览", "en": "Browse"},
        "browser_create": {"zh": "新建", "en": "Create"},
        "browser_update": {"zh": "修改", "en": "Update"},
        "browser_filter_on": {"zh": "筛选字段", "en": "Filter on"},
        "browser_operator": {"zh": "条件", "en": "Condition"},
        "browser_value": {"zh": "值", "en": "Value"},
        "browser_order_by": {"zh": "排序字段", "en": "Sort by"},
        "browser_default_order": {"zh": "（默认顺序）", "en": "(default order)"},
        "browser_direction": {"zh": "方向", "en": "Direction"},
        "browser_first": {"zh": "每页条数", "en": "Rows per page"},
        "browser_total": {"zh": "总条数", "en": "Total"},
        "browser_page": {"zh": "第 {page} 页：第 {start}–{end} 条", "en": "Page {page}: rows {start}–{end}"},
        "browser_previous": {"zh": "上一页", "en": "Previous page"},
        "browser_next": {"zh": "下一页", "en": "Next page"},
        "browser_empty": {"zh": "没有符合条件的记录。", "en": "No record matches."},
        "browser_csv": {"zh": "导出本页 CSV", "en": "Export this page (CSV)"},
    }
)

SCHEMA_KEY = "browser_schema"
RAW_KEY = "api_schema"  # the introspection's answer, for every page built from the schema
SHIPPED_KEY = "browser_schema_shipped"  # True when the models came from the shipped SDL
PAGES_KEY = "browser_pages"
OPERATORS = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "∈",
    "notIn": "∉",
    "isNull": {"zh": "为空", "en": "is empty"},
    "contains": {"zh": "包含", "en": "contains"},
    "icontains": {"zh": "包含（不分大小写）", "en": "contains (any case)"},
    "startsWith": {"zh": "开头是", "en": "starts with"},
    "between": {"zh": "介于", "en": "between"},
}
BETWEEN = "between"  # not an operator of the API: ≥ one bound and ≤ the other


def render() -> None:
    session.require()  # every signed-in role: what each sees and may change is the API's decision
    lang = session.lang()
    st.title(t("browser_title", lang))
    models = _models(lang)
    if models is None:
        return
    if not models:
        st.info(t("browser_no_models", lang))
        return
    plural = st.selectbox(
        t("browser_model", lang),
        list(models),
        format_func=lambda p: type_label(models[p].type_name, models[p].description, lang),
        placeholder=t("choose_one", lang),
        key="browser_model",
    )
    model = models[plural]
    if st.session_state.get(SHIPPED_KEY):
        st.caption(t("browser_shipped_schema", lang))
    if lang == "en" and model.description:
        st.caption(model.description)
    browse, create, update = st.tabs(
        [t("browser_browse", lang), t("browser_create", lang), t("browser_update", lang)]
    )
    # The forms write in their buttons' callbacks, before this run: the list below shows the change.
    with browse:
        rows = _browse(model, lang)
    with create:
        browser_forms.render(model, model.create, "create", models, [], lang)
    with update:
        browser_forms.render(model, model.update, "update", models, rows, lang)


def _models(lang: str) -> dict[str, Model] | None:
    """The exposed models by list field (see `schema`)."""
    if st.session_state.get(SCHEMA_KEY) is None:
        found = schema()
        if found is None:
            return None
        st.session_state[SCHEMA_KEY] = {m.plural: m for m in found.models()}
    return st.session_state[SCHEMA_KEY]


def schema() -> Schema | None:
    """The API's schema, from one introspection query per session; from the SDL shipped with the
    program where the API answers no introspection (production). None: the API refused (shown)."""
    if st.session_state.get(RAW_KEY) is None:
        try:
            st.session_state[RAW_KEY] = session.query(INTROSPECTION)["__schema"]
        except ApiError as error:
            if error.code != "INTROSPECTION_DISABLED":
                session.show_error(error)
                return None
            st.session_state[RAW_KEY] = shipped_schema()
            st.session_state[SHIPPED_KEY] = True
    return Schema(st.session_state[RAW_KEY])


# Browse: filters, order, paging, table and CSV.


def _browse(model: Model, lang: str) -> list[dict]:
    """The page of rows shown (as the API gave them), for the update form to pick from."""
    key = f"browser_{model.type_name}"
    chosen = conditions(model, key, lang)
    if chosen is None:
        return []
    columns = {c.name: c for c in model.columns}
    left, right, size = st.columns([2, 2, 1])
    field = left.selectbox(
        t("browser_order_by", lang),
        [None, *model.order_fields],
        format_func=lambda f: t("browser_default_order", lang) if f is None else _order_label(model, f, lang),
        placeholder=t("choose_one", lang),
        key=f"{key}_order",
    )
    direction = right.selectbox(
        t("browser_direction", lang),
        model.directions,
        format_func=lambda d: enum_label("SortDirection", d, lang),
        placeholder=t("choose_one", lang),
        key=f"{key}_direction",
    )
    first = size.number_input(t("browser_first", lang), min_value=1, value=20, step=1, key=f"{key}_first")
    variables = {
        "where": where(chosen),
        "orderBy": [{field: direction}] if field else None,
        "first": int(first),
    }
    cursors = _cursors(model, variables)
    variables["after"] = cursors[-1] if cursors else None
    try:
        page = session.query(list_query(model), variables)[model.plural]
    except ApiError as error:
        session.show_error(error)
        return []
    rows = page["nodes"]
    shown_rows = table(model, rows, lang)
    start = len(cursors) * variables["first"]
    st.metric(t("browser_total", lang), page["totalCount"])
    if rows:
        info = t("browser_page", lang).format(page=len(cursors) + 1, start=start + 1, end=start + len(rows))
        st.caption(info)
        titles = headers(model, lang)
        dataframe(
            shown_rows,
            hide_index=True,
            column_config={
                title: st.column_config.Column(help=columns[name].description or None)
                for name, title in titles.items()
                if name in columns
            },
            key=f"{key}_table",
        )
    else:
        st.info(t("browser_empty", lang))
    back, forward, export = st.columns(3)
    back.button(
        t("browser_previous", lang),
        key="browser_previous",
        disabled=not cursors,
        on_click=_turn,
        args=(None,),
    )
    forward.button(
        t("browser_next", lang),
        key="browser_next",
        disabled=not page["pageInfo"]["hasNextPage"],
        on_click=_turn,
        args=(page["pageInfo"]["endCursor"],),
    )
    export.download_button(
        t("browser_csv", lang),
        # The table as shown, with a BOM so spreadsheet programs read the Chinese.
        csv_text(list(headers(model, lang).values()), shown_rows).encode("utf-8-sig"),
        file_name=f"{model.plural}-{len(cursors) + 1}.csv",
        mime="text/csv",
        key="browser_csv",
        on_click="ignore",
        disabled=not rows,
    )
    return rows


def _order_label(model: Model, name: str, lang: str) -> str:
    column = next((c for c in model.columns if c.name == name), None)
    return field_label(model, column, lang) if column else name


def conditions(model: Model, key: str, lang: str) -> list[tuple[Filter, str, Any]] | None:
    """The filter rows chosen: a condition and a value per field; None when a value is unusable."""
    filters = {f.label: f for f in model.filters}
    chosen = st.multiselect(
        t("browser_filter_on", lang),
        list(filters),
        format_func=lambda f: filter_label(filters[f], lang),
        placeholder=t("choose_many", lang),
        key=f"{key}_filters",
    )
    conditions, usable = [], True
    for name in chosen:
        flt = filters[name]
        label = filter_label(flt, lang)
        operators = {o.name: o for o in flt.operators}
        offered = list(operators)
        if "gte" in operators and "lte" in operators:  # a range: both bounds, either may be left out
            offered.insert(offered.index("lte") + 1, BETWEEN)
        left, right = st.columns([1, 2])
        operator = left.selectbox(
            f"{label} · {t('browser_operator', lang)}",
            offered,
            format_func=lambda o: operator_label(o, lang),
            placeholder=t("choose_one", lang),
            key=f"{key}_op_{name}",
        )
        values = [operator] if operator != BETWEEN else ["gte", "lte"]
        places = [right] if operator != BETWEEN else right.columns(2)
        for bound, place in zip(values, places, strict=True):
            with place:
                words = t("browser_value", lang) if operator != BETWEEN else operator_label(bound, lang)
                raw = widget(
                    operators[bound],
                    f"{label} · {words}",
                    _value_key(key, flt, operators[bound]) + ("" if operator != BETWEEN else f"_{bound}"),
                    lang,
                    flt.steps[-1].description,
                )
            try:
                converted = convert(operators[bound].ref, raw)
            except ValueError as error:
                st.error(f"{t('browser_bad_value', lang).format(field=label)}: {error}")
                usable = False
                continue
            if converted is not None:
                conditions.append((flt, bound, converted))
    return conditions if usable else None


def _value_key(key: str, flt: Filter, operator: Field) -> str:
    """One value widget per shape (single, list, or another type as for isNull): a typed value
    stays when only the condition changes, e.g. from = to ≥."""
    kind, main = operator.ref, flt.operators[0].ref.name
    return f"{key}_{'values' if kind.is_list else 'value'}_{flt.label}" + (
        "" if kind.name == main else f"_{kind.name}"
    )


def operator_label(name: str, lang: str) -> str:
    label = OPERATORS.get(name, name)
    return label[lang] if isinstance(label, dict) else label


def _cursors(model: Model, variables: dict) -> list[str]:
    """Cursors of the pages before this one; a different model, filter, order or size starts over."""
    signature = json.dumps([model.plural, variables], sort_keys=True, default=str)
    pages = st.session_state.get(PAGES_KEY)
    if not pages or pages["signature"] != signature:
        pages = {"signature": signature, "cursors": []}
        st.session_state[PAGES_KEY] = pages
    return list(pages["cursors"])


def _turn(cursor: str | None) -> None:
    """Next page (after `cursor`) or, with None, the previous one."""
    pages = st.session_state[PAGES_KEY]
    cursors = pages["cursors"]
    st.session_state[PAGES_KEY] = {**pages, "cursors": cursors[:-1] if cursor is None else [*cursors, cursor]}


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
