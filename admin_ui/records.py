"""A model's rows as the data browser shows them: titles from the schema's descriptions, enum values
by their labels, times in the district's zone, relations by what names them (a missing value stays
None: the table draws it as formatting.MISSING)."""

from __future__ import annotations

import json
from typing import Any

from admin_ui.formatting import local_time
from admin_ui.i18n import t
from admin_ui.introspection import Field, Filter, Model
from admin_ui.labels import enum_label, term


def field_label(model: Model, field: Field, lang: str) -> str:
    return term(model.type_name, field.name, field.description, lang)


def filter_label(flt: Filter, lang: str) -> str:
    """A filter's field, or a relation and the field that names the related object: 上级组织（名称）."""
    first, *rest = (term(s.owner, s.name, s.description, lang) for s in flt.steps)
    return first + "".join(f"（{r}）" if lang == "zh" else f" ({r})" for r in rest)


def headers(model: Model, lang: str) -> dict[str, str]:
    """The table's column titles by field: a leaf field, or a relation shown by its naming field.
    Global ids are left out; a title two fields share gets the field's name."""
    leaves = [c for c in model.columns if c.ref.name != "ID"]
    names = [c.name for c in leaves] + [r.name for r in model.relations]
    titles = [field_label(model, c, lang) for c in leaves]
    titles += [term(model.type_name, r.name, r.description, lang) for r in model.relations]
    return {
        name: f"{title} ({name})" if titles.count(title) > 1 else title
        for name, title in zip(names, titles, strict=True)
    }


def value(field: Field, raw: Any, lang: str) -> Any:
    """A leaf value as the table shows it."""
    if raw is None or raw == "":
        return None
    if field.choices:
        if isinstance(raw, list):
            return "、".join(enum_label(field.ref.name, v, lang) for v in raw)
        return enum_label(field.ref.name, raw, lang)
    if field.ref.name == "Boolean":
        return t("yes" if raw else "no", lang)
    if field.ref.name == "DateTime":
        return local_time(raw)
    return json.dumps(raw, ensure_ascii=False) if isinstance(raw, dict | list) else raw


def table(model: Model, rows: list[dict], lang: str) -> list[dict]:
    """The rows (as the API gave them) under the titles of `headers`."""
    titles = headers(model, lang)
    columns = {c.name: c for c in model.columns}
    relations = {r.name: r for r in model.relations}
    return [
        {
            title: value(columns[name], row.get(name), lang)
            if name in columns
            else (row.get(name) or {}).get(relations[name].naming)
            for name, title in titles.items()
        }
        for row in rows
    ]
