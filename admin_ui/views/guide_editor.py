"""服务指南 Guide revisions: a revision's material changes against the one before, and the editor in which
an administrator publishes the next revision of an item's guide, materials included, in one mutation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe, district_today
from admin_ui.i18n import MATERIAL_FORM_LABELS, add, label, t

add(
    {
        "guide_conditions": {"zh": "受理条件", "en": "Conditions"},
        "guide_process": {"zh": "办理流程", "en": "Process"},
        "guide_diff": {
            "zh": "申请材料：{old} → {new}（新增 {added}，取消 {removed}，保留 {kept}）",
            "en": "Materials: {old} → {new} ({added} added, {removed} removed, {kept} kept)",
        },
        "guide_first": {"zh": "申请材料：{n} 项（首版）", "en": "Materials: {n} (first revision)"},
        "guide_change": {"zh": "变化", "en": "Change"},
        "guide_added": {"zh": "新增", "en": "added"},
        "guide_removed": {"zh": "取消", "en": "removed"},
        "guide_kept": {"zh": "保留", "en": "kept"},
        "guide_material": {"zh": "材料名称", "en": "Material"},
        "guide_form": {"zh": "形式", "en": "Form"},
        "guide_copies": {"zh": "份数", "en": "Copies"},
        "guide_required": {"zh": "必要", "en": "Required"},
        "guide_source": {"zh": "来源", "en": "Source"},
        "guide_new": {"zh": "发布新版服务指南", "en": "Publish a new guide revision"},
        "guide_change_note": {"zh": "修订说明", "en": "Change note"},
        "guide_effective_from": {"zh": "生效日期", "en": "In force from"},
        "guide_materials": {"zh": "申请材料", "en": "Application materials"},
        "guide_preview": {"zh": "预览：第 {n} 版", "en": "Preview: revision {n}"},
        "guide_publish": {"zh": "发布", "en": "Publish"},
        "guide_outdated": {
            "zh": "此草稿开始编辑后，已有第 {n} 版发布。",
            "en": "Revision {n} was published after this draft was started.",
        },
        "guide_restart": {"zh": "从第 {n} 版重新开始", "en": "Start again from revision {n}"},
        "guide_published": {
            "zh": "已发布 {item} 的第 {n} 版服务指南。",
            "en": "Revision {n} of the guide of {item} published.",
        },
        "guide_need_note": {"zh": "请填写修订说明。", "en": "Write a change note."},
        "guide_need_material": {
            "zh": "服务指南至少要有一项申请材料。",
            "en": "A guide needs at least one application material.",
        },
        "guide_blank_name": {"zh": "第 {n} 项材料没有名称。", "en": "Material {n} has no name."},
        "guide_duplicate_name": {"zh": "材料“{name}”重复列出。", "en": "Material “{name}” is listed twice."},
        "guide_bad_copies": {
            "zh": "材料“{name}”的份数应为不小于 0 的整数。",
            "en": "The copies of “{name}” must be a whole number, 0 or more.",
        },
        "guide_too_early": {
            "zh": "生效日期不能早于第 {n} 版的生效日期（{day}）。",
            "en": "The revision cannot come into force before revision {n} ({day}).",
        },
    }
)

FORMS = MATERIAL_FORM_LABELS
# A new row starts with the API's defaults; its cells left empty take them too.
NEW_MATERIAL = {"name": "", "form": "ORIGINAL", "copies": 1, "required": True, "source": ""}
DTYPES = {"name": "string", "form": "object", "copies": "Int64", "required": "boolean", "source": "string"}
CREATE = """mutation($input: CreateGuideRevisionInput!) {
  createGuideRevision(input: $input) { id revision } }"""
EDITOR = "guide_materials"
EDIT_FOR = "guide_edit_for"
DRAFT = ("guide_conditions", "guide_process", "guide_change_note", "guide_effective_from")


def material_diff(before: list[dict], after: list[dict]) -> dict[str, list[str]]:
    """Materials of a revision against the previous one, by name: added, removed and kept, in list order."""
    old = [m["name"].strip() for m in before]
    new = [m["name"].strip() for m in after]
    return {
        "added": [n for n in new if n not in old],
        "removed": [n for n in old if n not in new],
        "kept": [n for n in new if n in old],
    }


def show_changes(before: list[dict] | None, after: list[dict], lang: str, key: str) -> None:
    """The materials `after` against `before` (None: a first revision): their counts, then the names."""
    if before is None:
        st.markdown(f"**{t('guide_first', lang).format(n=len(after))}**")
        return
    diff = material_diff(before, after)
    counts = {change: len(names) for change, names in diff.items()}
    st.markdown(f"**{t('guide_diff', lang).format(old=len(before), new=len(after), **counts)}**")
    dataframe(
        [
            {t("guide_change", lang): t(f"guide_{change}", lang), t("guide_material", lang): n}
            for change in ("removed", "added", "kept")
            for n in diff[change]
        ],
        hide_index=True,
        key=key,
    )


def render(item: dict, lang: str) -> str | None:
    """The editor of the item's next guide revision, for an administrator; the success message once
    a revision is published (the caller reads the item again to show it)."""
    revisions = item["guideRevisions"]["nodes"]
    base = _start(item, revisions)
    number = base["revision"] + 1 if base else 1
    st.subheader(t("guide_new", lang))
    if revisions and revisions[-1]["revision"] >= number:
        _outdated(revisions[-1]["revision"], lang)
    st.text_area(t("guide_conditions", lang), key="guide_conditions")
    st.text_area(t("guide_process", lang), key="guide_process")
    note_column, day_column = st.columns([3, 1])
    note_column.text_input(t("guide_change_note", lang), key="guide_change_note")
    day_column.date_input(t("guide_effective_from", lang), format="YYYY-MM-DD", key="guide_effective_from")
    st.markdown(f"**{t('guide_materials', lang)}**")
    before = base["materials"]["nodes"] if base else None
    rows = st.data_editor(
        _frame(before or []), num_rows="dynamic", hide_index=True, key=EDITOR, column_config=_columns(lang)
    )
    materials = [_material(row) for row in rows.to_dict("records")]
    st.markdown(f"**{t('guide_preview', lang).format(n=number)}**")
    show_changes(before, materials, lang, "guide_preview_changes")
    if not st.button(t("guide_publish", lang), key="guide_publish", type="primary"):
        return None
    published = _publish(item, number, materials, revisions[-1] if revisions else None, lang)
    if published:
        st.session_state.pop(EDIT_FOR)  # the next draft starts from the revision just published
    return published


def _publish(item: dict, number: int, materials: list[dict], latest: dict | None, lang: str) -> str | None:
    state = st.session_state
    note = state["guide_change_note"].strip()
    problem = draft_problem(note, materials, state["guide_effective_from"], latest, lang)
    if problem:
        st.warning(problem)
        return None
    revision = {
        "itemId": item["id"],
        "revision": number,
        "effectiveFrom": state["guide_effective_from"].isoformat(),
        "conditions": state["guide_conditions"].strip(),
        "process": state["guide_process"].strip(),
        "changeNote": note,
        "materials": [{"position": n, **m} for n, m in enumerate(materials, start=1)],
    }
    try:
        session.query(CREATE, {"input": revision})
    except ApiError as error:
        session.show_error(error)
        return None
    return t("guide_published", lang).format(item=item["name"], n=number)


def draft_problem(
    note: str, materials: list[dict], effective: dt.date, latest: dict | None, lang: str
) -> str | None:
    """Why this revision may not be published, on the page, before the API is asked; None when it may."""
    if not note:
        return t("guide_need_note", lang)
    if not materials:
        return t("guide_need_material", lang)
    seen: set[str] = set()
    for n, material in enumerate(materials, start=1):
        name = material["name"]
        if not name:
            return t("guide_blank_name", lang).format(n=n)
        if name in seen:
            return t("guide_duplicate_name", lang).format(name=name)
        seen.add(name)
        if material["copies"] < 0:
            return t("guide_bad_copies", lang).format(name=name)
    if latest and effective < _day(latest):
        return t("guide_too_early", lang).format(n=latest["revision"], day=latest["effectiveFrom"])
    return None


def _start(item: dict, revisions: list[dict]) -> dict | None:
    """The revision the draft starts from (None: the item had no guide). A draft keeps its starting
    revision while it is edited, so that one published meanwhile makes the API refuse it (CONFLICT);
    another item chosen starts the draft again from that item's latest revision."""
    state = st.session_state
    by_number = {r["revision"]: r for r in revisions}
    held = state.get(EDIT_FOR)
    if held and held[0] == item["id"] and (held[1] == 0 or held[1] in by_number):
        if all(key in state for key in DRAFT):
            return by_number.get(held[1])
        # Streamlit dropped the fields (a run that did not draw them): fill them again from the
        # draft's own starting revision, so nothing is published with blank conditions or process.
        return _fill(by_number.get(held[1]))
    latest = revisions[-1] if revisions else None
    state[EDIT_FOR] = (item["id"], latest["revision"] if latest else 0)
    return _fill(latest)


def _fill(base: dict | None) -> dict | None:
    """The draft's fields as they start from `base` (None: an item with no guide yet)."""
    state = st.session_state
    state["guide_conditions"] = base["conditions"] if base else ""
    state["guide_process"] = base["process"] if base else ""
    state["guide_change_note"] = ""
    today = district_today()
    state["guide_effective_from"] = max(today, _day(base)) if base else today
    state.pop(EDITOR, None)  # the edits made to the previous starting point
    return base


def _outdated(newest: int, lang: str) -> None:
    """Revision `newest` was published after this draft started: publishing it would be refused."""
    st.info(t("guide_outdated", lang).format(n=newest))
    st.button(
        t("guide_restart", lang).format(n=newest),
        key="guide_restart",
        on_click=st.session_state.pop,
        args=(EDIT_FOR,),
    )


def _day(revision: dict) -> dt.date:
    return dt.date.fromisoformat(revision["effectiveFrom"])


def _frame(materials: list[dict]) -> pd.DataFrame:
    """The materials as the editor's rows, typed so that an empty list still has its columns."""
    rows = [{column: m[column] for column in DTYPES} for m in materials]
    return pd.DataFrame(rows, columns=list(DTYPES)).astype(DTYPES)


def _columns(lang: str) -> dict[str, Any]:
    column = st.column_config
    return {
        "name": column.TextColumn(t("guide_material", lang), required=True, width="large"),
        "form": column.SelectboxColumn(
            t("guide_form", lang),
            options=list(FORMS),
            default=NEW_MATERIAL["form"],
            required=True,
            format_func=lambda form: label(FORMS, form, lang),
        ),
        "copies": column.NumberColumn(
            t("guide_copies", lang), min_value=0, step=1, default=NEW_MATERIAL["copies"], required=True
        ),
        "required": column.CheckboxColumn(t("guide_required", lang), default=NEW_MATERIAL["required"]),
        "source": column.TextColumn(t("guide_source", lang), default=NEW_MATERIAL["source"]),
    }


def _material(row: dict[str, Any]) -> dict[str, Any]:
    """An editor row as the API's material input."""
    value = {k: default if pd.isna(row.get(k)) else row[k] for k, default in NEW_MATERIAL.items()}
    return {
        "name": str(value["name"]).strip(),
        "form": str(value["form"]),
        "copies": int(value["copies"]),
        "required": bool(value["required"]),
        "source": str(value["source"]).strip(),
    }
