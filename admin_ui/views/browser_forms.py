"""The data browser's create and update forms: a widget per input field by its GraphQL type, labelled
from the schema's descriptions. A relation is entered by the code (or number, or name) of the related
object, and the record to update is picked among the rows shown, so nobody types a global id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.i18n import add, t
from admin_ui.introspection import INTEGERS, Field, Model, Mutation, convert, mutation_document
from admin_ui.labels import enum_label, term, type_label
from admin_ui.records import table

add(
    {
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
        "browser_record": {"zh": "要修改的记录", "en": "Record to update"},
        "browser_record_help": {
            "zh": "从“浏览”当前页的记录中选择；只发送填写了的字段。",
            "en": "One of the rows on the Browse page shown; only the fields filled in are sent.",
        },
        "browser_global_id": {"zh": "全局 id", "en": "global id"},
        "browser_row": {"zh": "第 {n} 行", "en": "Row {n}"},
        "browser_submit_create": {"zh": "新建", "en": "Create"},
        "browser_submit_update": {"zh": "保存修改", "en": "Save changes"},
        "browser_created": {"zh": "已新建{type}{name}。", "en": "{type}{name} created."},
        "browser_updated": {"zh": "已修改{type}{name}。", "en": "{type}{name} updated."},
        "browser_bad_value": {"zh": "无法使用 {field} 的值", "en": "Cannot use the value of {field}"},
        "browser_list_help": {"zh": "多个值用逗号分隔", "en": "Separate values with commas"},
        "browser_datetime_help": {
            "zh": "北京时间，例如 2025-01-31 09:30",
            "en": "Beijing time, e.g. 2025-01-31 09:30",
        },
        "browser_not_found": {"zh": "没有{what}为“{value}”的记录", "en": "no record has {what} “{value}”"},
        "browser_ambiguous": {
            "zh": "{what}为“{value}”的记录不止一条",
            "en": "more than one record has {what} “{value}”",
        },
    }
)

LOOKUP = ("code", "number", "name")  # fields that find the one related object typed in, by preference
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


@dataclass(frozen=True)
class Input:
    """A form field: the input's field, its label, and for a relation the model it refers to and the
    field of that model it is entered by."""

    field: Field
    label: str
    target: Model | None = None
    lookup: str | None = None


def render(
    model: Model, mutation: Mutation | None, kind: str, models: dict[str, Model], rows: list[dict], lang: str
) -> None:
    if mutation is None:
        st.info(t(f"browser_no_{kind}", lang))
        return
    key = f"browser_{kind}_{model.type_name}"
    session.show_flash(f"{key}_flash")
    inputs = _inputs(model, mutation, models, lang)
    with st.form(key):
        if "id" in mutation.arguments:
            by_id = {row["id"]: (n, row) for n, row in enumerate(rows, start=1) if row.get("id")}
            st.selectbox(
                f"{t('browser_record', lang)} *",
                list(by_id),
                index=None,
                format_func=lambda i: _row_name(model, *by_id[i], lang) if i in by_id else i,
                placeholder=t("choose_one", lang),
                key=f"{key}_id",
                help=t("browser_record_help", lang),
            )
        for item in inputs:
            widget(
                item.field,
                f"{item.label} *" if item.field.required else item.label,
                f"{key}_{item.field.name}",
                lang,
            )
        st.caption(t("browser_required", lang))
        st.form_submit_button(
            t(f"browser_submit_{kind}", lang),
            key=f"{key}_submit",
            on_click=_submit,
            args=(model, mutation, kind, inputs, lang),
        )
    if mutation.nested:
        st.caption(t("browser_nested", lang).format(fields=", ".join(mutation.nested)))


def _inputs(model: Model, mutation: Mutation, models: dict[str, Model], lang: str) -> list[Input]:
    """Each input field labelled as the list labels the field it sets; `xId` as relation `x`."""
    columns = {c.name: c for c in model.columns}
    relations = {r.name: r for r in model.relations}
    by_type = {m.type_name: m for m in models.values()}
    out = []
    for field in mutation.fields:
        relation = relations.get(field.name.removesuffix("Id")) if field.ref.name == "ID" else None
        if relation is None:
            described = columns.get(field.name, field)
            out.append(Input(field, term(model.type_name, field.name, described.description, lang)))
            continue
        target = by_type.get(relation.type_name)
        lookup = _lookup(target) if target else None
        if lookup:
            named = next(c for c in target.columns if c.name == lookup)
            what = term(target.type_name, lookup, named.description, lang)
        else:  # the related model has no field that finds one object: its global id
            what = t("browser_global_id", lang)
        title = term(model.type_name, relation.name, relation.description, lang)
        label = f"{title}（{what}）" if lang == "zh" else f"{title} ({what})"
        out.append(Input(field, label, target if lookup else None, lookup))
    return out


def _lookup(model: Model) -> str | None:
    filtered = {f.path[0] for f in model.filters if len(f.path) == 1}
    return next(
        (name for name in LOOKUP if name in filtered and name in {c.name for c in model.columns}), None
    )


def _row_name(model: Model, n: int, row: dict, lang: str) -> str:
    """A row of the page, as the picker names it: its naming field, else its first values."""
    if model.naming and row.get(model.naming) is not None:
        return f"{t('browser_row', lang).format(n=n)} · {row[model.naming]}"
    values = [v for v in table(model, [row], lang)[0].values() if v is not None][:3]
    return " · ".join([t("browser_row", lang).format(n=n), *map(str, values)])


def _submit(model: Model, mutation: Mutation, kind: str, inputs: list[Input], lang: str) -> None:
    """The form's values sent as its mutation (from the button's callback: the list read after it
    shows the change); the outcome is left for the next run to show."""
    state, key = st.session_state, f"browser_{kind}_{model.type_name}"
    flash = f"{key}_flash"
    values: dict[str, Any] = {}
    try:
        for item in inputs:
            converted = convert(item.field.ref, state.get(f"{key}_{item.field.name}"))
            if converted is not None:  # only what was filled in
                values[item.field.name] = _resolve(item, converted, lang) if item.target else converted
    except ValueError as error:
        state[flash] = ("warning", f"{t('browser_bad_value', lang).format(field=item.label)}: {error}")
        return
    except ApiError as error:
        state[flash] = ("error", error)
        return
    missing = [i.label for i in inputs if i.field.required and i.field.name not in values]
    record = state.get(f"{key}_id") if "id" in mutation.arguments else None
    if "id" in mutation.arguments and not record:
        missing.insert(0, t("browser_record", lang))
    if missing:
        state[flash] = ("warning", t("browser_missing", lang).format(fields="、".join(missing)))
        return
    if kind == "update" and not values:
        state[flash] = ("warning", t("browser_nothing", lang))
        return
    variables: dict[str, Any] = {"input": values, **({"id": record} if record else {})}
    names = {c.name for c in model.columns}
    selection = " ".join(n for n in ("id", model.naming) if n in names) or "__typename"
    try:
        result = session.query(mutation_document(mutation, selection), variables)[mutation.name]
    except ApiError as error:
        state[flash] = ("error", error)
        return
    name = result.get(model.naming) if model.naming else None
    done = t(f"browser_{kind}d", lang).format(
        type=type_label(model.type_name, model.description, lang),
        name=f"“{name}”" if name and lang == "zh" else f" “{name}”" if name else "",
    )
    state[flash] = ("success", done)


def _resolve(item: Input, typed: str, lang: str) -> str:
    """The global id of the one object of `item.target` whose lookup field is `typed`."""
    target, lookup = item.target, item.lookup
    column = next(c for c in target.columns if c.name == lookup)
    query = (
        f"query($value: {column.ref.name}!) {{ {target.plural}(where: {{{lookup}: {{eq: $value}}}}, first: 2)"
        " { nodes { id } } }"
    )
    found = session.query(query, {"value": typed})[target.plural]["nodes"]
    what = term(target.type_name, lookup, column.description, lang)
    if len(found) != 1:
        problem = "browser_not_found" if not found else "browser_ambiguous"
        raise ValueError(t(problem, lang).format(what=what, value=typed))
    return found[0]["id"]


def widget(field: Field, label: str, key: str, lang: str, help_text: str | None = None) -> Any:
    """The widget for a value of this GraphQL type; its raw value (None or "" when left empty)."""
    kind, help_text = field.ref, help_text or field.description or None
    one, many = t("choose_one", lang), t("choose_many", lang)
    if kind.is_list and field.choices:
        return st.multiselect(
            label,
            field.choices,
            format_func=lambda v: enum_label(kind.name, v, lang),
            placeholder=many,
            key=key,
            help=help_text,
        )
    if kind.is_list:
        return st.text_input(label, key=key, help=_help(help_text, t("browser_list_help", lang)))
    if field.choices:
        return st.selectbox(
            label,
            field.choices,
            index=None,
            format_func=lambda v: enum_label(kind.name, v, lang),
            placeholder=one,
            key=key,
            help=help_text,
        )
    if kind.name == "Boolean":
        return st.selectbox(
            label,
            [True, False],
            index=None,
            format_func=lambda b: t("yes" if b else "no", lang),
            placeholder=one,
            key=key,
            help=help_text,
        )
    if kind.name in INTEGERS:
        return st.number_input(label, value=None, step=1, key=key, help=help_text)
    if kind.name == "Float":
        return st.number_input(label, value=None, format="%.6f", key=key, help=help_text)
    if kind.name == "Date":
        return st.date_input(
            label,
            value=None,
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
            format="YYYY-MM-DD",
            key=key,
            help=help_text,
        )
    if kind.name == "DateTime":
        hint = t("browser_datetime_help", lang)
        return st.text_input(label, key=key, placeholder="YYYY-MM-DD HH:mm", help=_help(help_text, hint))
    return st.text_input(label, key=key, help=help_text)


def _help(description: str | None, hint: str) -> str:
    return f"{description} ({hint})" if description else hint
