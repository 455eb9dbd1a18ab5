"""数据浏览 Data browser: every model the API exposes, listed, filtered, sorted, paged, exported and
edited through its generated mutations, all built from the schema's introspection (no per-model code)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.i18n import add, t
from admin_ui.introspection import (
    INTEGERS,
    INTROSPECTION,
    Field,
    Filter,
    Model,
    Mutation,
    Schema,
    cell,
    convert,
    csv_text,
    list_query,
    mutation_document,
    where,
)

add(
    {
        "browser_title": {"zh": "数据浏览", "en": "Data browser"},
        "browser_model": {"zh": "数据对象", "en": "Model"},
        "browser_no_models": {
            "zh": "接口没有公开任何可浏览的对象。",
            "en": "The API exposes no model to browse.",
        },
        "browser_needs_introspection": {
            "zh": "数据浏览依赖 GraphQL 内省（introspection），而本接口已关闭内省（生产环境的默认设置）。"
            "请在开发或测试环境中使用本页面，或使用其他功能页面。",
            "en": "The data browser needs GraphQL introspection, which this API has turned off "
            "(as production does). Use this page against a development or test server, "
            "or use the other pages.",
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
        "browser_bad_value": {"zh": "无法使用 {field} 的值", "en": "Cannot use the value of {field}"},
        "browser_no_create": {
            "zh": "接口不提供新建此对象。",
            "en": "The API offers no create for this model.",
        },
        "browser_no_update": {
            "zh": "接口不提供修改此对象。",
            "en": "The API offers no update for this model.",
        },
        "browser_nested": {
            "zh": "嵌套输入（{fields}）请通过接口提交。",
            "en": "Nested inputs ({fields}) are sent through the API directly.",
        },
        "browser_required": {"zh": "* 为必填项", "en": "* required"},
        "browser_missing": {"zh": "请填写必填项：{fields}", "en": "Please fill in: {fields}"},
        "browser_nothing": {"zh": "没有填写要修改的字段。", "en": "No field to change was filled in."},
        "browser_record_id": {"zh": "记录 id", "en": "Record id"},
        "browser_record_id_help": {
            "zh": "从“浏览”中复制记录的 id；只发送填写了的字段。",
            "en": "Copy the record's id from Browse; only the fields filled in are sent.",
        },
        "browser_submit_create": {"zh": "新建", "en": "Create"},
        "browser_submit_update": {"zh": "保存修改", "en": "Save changes"},
        "browser_created": {"zh": "已新建 {type}：{id}", "en": "Created {type} {id}"},
        "browser_updated": {"zh": "已修改 {type}：{id}", "en": "Updated {type} {id}"},
        "browser_yes": {"zh": "是", "en": "yes"},
        "browser_no": {"zh": "否", "en": "no"},
        "browser_list_help": {"zh": "多个值用逗号分隔", "en": "Separate values with commas"},
        "browser_datetime_help": {
            "zh": "ISO 格式，例如 2025-01-31T09:30:00+08:00",
            "en": "ISO format, e.g. 2025-01-31T09:30:00+08:00",
        },
    }
)

SCHEMA_KEY = "browser_schema"
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
}
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


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
    plural = st.selectbox(t("browser_model", lang), list(models), key="browser_model")
    model = models[plural]
    st.caption(" · ".join(filter(None, (model.type_name, model.description))))
    browse, create, update = st.tabs(
        [t("browser_browse", lang), t("browser_create", lang), t("browser_update", lang)]
    )
    # Changes first, so the list below already shows them (tabs display in their own order).
    with create:
        _form(model, model.create, "create", lang)
    with update:
        _form(model, model.update, "update", lang)
    with browse:
        _browse(model, lang)


def _models(lang: str) -> dict[str, Model] | None:
    """The exposed models by list field, from one introspection query per session."""
    if st.session_state.get(SCHEMA_KEY) is None:
        try:
            data = session.query(INTROSPECTION)["__schema"]
        except ApiError as error:
            if error.code == "INTROSPECTION_DISABLED":
                st.error(t("browser_needs_introspection", lang))
            session.show_error(error)
            return None
        st.session_state[SCHEMA_KEY] = {m.plural: m for m in Schema(data).models()}
    return st.session_state[SCHEMA_KEY]


# Browse: filters, order, paging, table and CSV.


def _browse(model: Model, lang: str) -> None:
    key = f"browser_{model.type_name}"
    conditions = _conditions(model, key, lang)
    if conditions is None:
        return
    left, right, size = st.columns([2, 2, 1])
    field = left.selectbox(
        t("browser_order_by", lang),
        [None, *model.order_fields],
        format_func=lambda f: t("browser_default_order", lang) if f is None else f,
        key=f"{key}_order",
    )
    direction = right.selectbox(t("browser_direction", lang), model.directions, key=f"{key}_direction")
    first = size.number_input(t("browser_first", lang), min_value=1, value=20, step=1, key=f"{key}_first")
    variables = {
        "where": where(conditions),
        "orderBy": [{field: direction}] if field else None,
        "first": int(first),
    }
    cursors = _cursors(model, variables)
    variables["after"] = cursors[-1] if cursors else None
    try:
        page = session.query(list_query(model), variables)[model.plural]
    except ApiError as error:
        session.show_error(error)
        return
    rows, columns = page["nodes"], [c.name for c in model.columns]
    start = len(cursors) * variables["first"]
    st.metric(t("browser_total", lang), page["totalCount"])
    if rows:
        info = t("browser_page", lang).format(page=len(cursors) + 1, start=start + 1, end=start + len(rows))
        st.caption(info)
        st.dataframe(
            [{c: cell(row.get(c)) for c in columns} for row in rows],
            hide_index=True,
            column_config={
                c.name: st.column_config.Column(help=c.description or None) for c in model.columns
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
        csv_text(columns, rows).encode("utf-8-sig"),  # with a BOM, so spreadsheet programs read the Chinese
        file_name=f"{model.plural}-{len(cursors) + 1}.csv",
        mime="text/csv",
        key="browser_csv",
        on_click="ignore",
        disabled=not rows,
    )


def _conditions(model: Model, key: str, lang: str) -> list[tuple[Filter, str, Any]] | None:
    """The filter rows chosen: a condition and a value per field; None when a value is unusable."""
    filters = {f.label: f for f in model.filters}
    chosen = st.multiselect(t("browser_filter_on", lang), list(filters), key=f"{key}_filters")
    conditions, usable = [], True
    for label in chosen:
        flt = filters[label]
        operators = {o.name: o for o in flt.operators}
        left, right = st.columns([1, 2])
        operator = left.selectbox(
            f"{label} · {t('browser_operator', lang)}",
            list(operators),
            format_func=lambda o: _operator(o, lang),
            key=f"{key}_op_{label}",
        )
        with right:
            raw = _widget(
                operators[operator],
                f"{label} · {t('browser_value', lang)}",
                _value_key(key, flt, operators[operator]),
                lang,
            )
        try:
            value = convert(operators[operator].ref, raw)
        except ValueError as error:
            st.error(f"{t('browser_bad_value', lang).format(field=label)}: {error}")
            usable = False
            continue
        if value is not None:
            conditions.append((flt, operator, value))
    return conditions if usable else None


def _value_key(key: str, flt: Filter, operator: Field) -> str:
    """One value widget per shape (single, list, or another type as for isNull): a typed value
    stays when only the condition changes, e.g. from = to ≥."""
    kind, main = operator.ref, flt.operators[0].ref.name
    return f"{key}_{'values' if kind.is_list else 'value'}_{flt.label}" + (
        "" if kind.name == main else f"_{kind.name}"
    )


def _operator(name: str, lang: str) -> str:
    label = OPERATORS.get(name, name)
    return f"{label[lang] if isinstance(label, dict) else label} ({name})"


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


# Create and update: a widget per input field, by its GraphQL type.


def _form(model: Model, mutation: Mutation | None, kind: str, lang: str) -> None:
    if mutation is None:
        st.info(t(f"browser_no_{kind}", lang))
        return
    key = f"browser_{kind}_{model.type_name}"
    with st.form(key):
        record = None
        if "id" in mutation.arguments:
            record = st.text_input(
                f"{t('browser_record_id', lang)} *",
                key=f"{key}_id",
                help=t("browser_record_id_help", lang),
            )
        raws = {
            f.name: _widget(f, f"{f.name} *" if f.required else f.name, f"{key}_{f.name}", lang)
            for f in mutation.fields
        }
        st.caption(t("browser_required", lang))
        submitted = st.form_submit_button(t(f"browser_submit_{kind}", lang), key=f"{key}_submit")
    if mutation.nested:
        st.caption(t("browser_nested", lang).format(fields=", ".join(mutation.nested)))
    if submitted:
        _submit(model, mutation, kind, record, raws, lang)


def _submit(model: Model, mutation: Mutation, kind: str, record: str | None, raws: dict, lang: str) -> None:
    values = {}
    for field in mutation.fields:
        try:
            value = convert(field.ref, raws[field.name])
        except ValueError as error:
            st.error(f"{t('browser_bad_value', lang).format(field=field.name)}: {error}")
            return
        if value is not None:
            values[field.name] = value  # only what was filled in
    missing = [f.name for f in mutation.fields if f.required and f.name not in values]
    if record is not None and not record.strip():
        missing.insert(0, "id")
    if missing:
        st.error(t("browser_missing", lang).format(fields=", ".join(missing)))
        return
    if kind == "update" and not values:
        st.warning(t("browser_nothing", lang))
        return
    variables: dict[str, Any] = {"input": values}
    if record is not None:
        variables["id"] = record.strip()
    selection = "id" if any(c.name == "id" for c in model.columns) else "__typename"
    try:
        result = session.query(mutation_document(mutation, selection), variables)[mutation.name]
    except ApiError as error:
        session.show_error(error)
        return
    st.success(t(f"browser_{kind}d", lang).format(type=model.type_name, id=result.get("id", "")))


def _widget(field: Field, label: str, key: str, lang: str) -> Any:
    """The widget for a value of this GraphQL type; its raw value (None or "" when left empty)."""
    kind, help_text = field.ref, field.description or None
    if kind.is_list and field.choices:
        return st.multiselect(label, field.choices, key=key, help=help_text)
    if kind.is_list:
        return st.text_input(label, key=key, help=_help(help_text, t("browser_list_help", lang)))
    if field.choices:
        return st.selectbox(label, field.choices, index=None, key=key, help=help_text)
    if kind.name == "Boolean":
        return st.selectbox(
            label,
            [True, False],
            index=None,
            format_func=lambda b: t("browser_yes" if b else "browser_no", lang),
            key=key,
            help=help_text,
        )
    if kind.name in INTEGERS:
        return st.number_input(label, value=None, step=1, key=key, help=help_text)
    if kind.name == "Float":
        return st.number_input(label, value=None, format="%.6f", key=key, help=help_text)
    if kind.name == "Date":
        return st.date_input(
            label, value=None, min_value=FIRST_DAY, max_value=LAST_DAY, key=key, help=help_text
        )
    if kind.name == "DateTime":
        return st.text_input(label, key=key, help=_help(help_text, t("browser_datetime_help", lang)))
    return st.text_input(label, key=key, help=help_text)


def _help(description: str | None, hint: str) -> str:
    return f"{description} ({hint})" if description else hint


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
