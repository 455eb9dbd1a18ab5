"""事项目录 Catalogue and guides: the items with filters, an item's guide revisions and their materials,
each revision's material changes against the one before (added, removed, kept); administrators edit
their district's own promised time limit, fee note and phones of an item (itemLocals), publish the next
guide revision of the items their region publishes (views/guide_editor.py), and take the
implementation list out and in (views/catalogue_file.py)."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe, shown
from admin_ui.i18n import (
    ITEM_TYPE_LABELS,
    MATERIAL_FORM_LABELS,
    SOURCE_LABELS,
    TAG_FIELDS,
    TAG_LABELS,
    add,
    label,
    t,
)
from admin_ui.views import catalogue_file, guide_editor

add(
    {
        "catalogue_title": {"zh": "事项目录", "en": "Catalogue and guides"},
        "catalogue_type": {"zh": "事项类型", "en": "Item type"},
        "catalogue_source": {"zh": "权力来源", "en": "Source of authority"},
        "catalogue_tag": {"zh": "三办标签", "en": "三办 tag"},
        "catalogue_search": {"zh": "按名称搜索", "en": "Search by name"},
        "catalogue_all": {"zh": "全部", "en": "All"},
        "catalogue_count": {"zh": "共 {n} 个事项", "en": "{n} items"},
        "catalogue_truncated": {
            "zh": "仅显示前 {shown} 个，请缩小筛选范围。",
            "en": "Only the first {shown} are shown: narrow the filters.",
        },
        "catalogue_none": {"zh": "没有符合条件的事项。", "en": "No item matches."},
        "catalogue_item": {"zh": "事项", "en": "Item"},
        "catalogue_name": {"zh": "名称", "en": "Name"},
        "catalogue_legal_days": {"zh": "法定时限（工作日）", "en": "Legal limit (working days)"},
        "catalogue_promised_days": {"zh": "承诺时限（工作日）", "en": "Promised limit (working days)"},
        "catalogue_consult_phone": {"zh": "咨询电话", "en": "Consultation phone"},
        "catalogue_complaint_phone": {"zh": "监督投诉电话", "en": "Complaint phone"},
        "catalogue_in_force": {"zh": "在用", "en": "In force"},
        "catalogue_guide": {"zh": "服务指南", "en": "Service guide"},
        "catalogue_no_guide": {"zh": "该事项尚无服务指南。", "en": "This item has no guide yet."},
        "catalogue_revision": {"zh": "第 {n} 版 · {day} 起施行", "en": "Revision {n} · in force from {day}"},
        "catalogue_position": {"zh": "序号", "en": "No."},
        "catalogue_yes": {"zh": "是", "en": "yes"},
        "catalogue_no": {"zh": "否", "en": "no"},
        "catalogue_edit": {
            "zh": "本区实施要素：承诺时限、收费说明与电话",
            "en": "Your district's limit, fee note and phones",
        },
        "catalogue_fee_note": {"zh": "收费说明", "en": "Fee note"},
        "catalogue_publisher": {"zh": "发布层级", "en": "Published by"},
        "catalogue_top": {"zh": "上级（省级清单）", "en": "the list published above (the province)"},
        "catalogue_published_elsewhere": {
            "zh": "该事项由{publisher}发布，名称、编码、法定时限和服务指南只能由发布层级修改；"
            "本区可修改本地实施要素。",
            "en": "This item is published by {publisher}: its name, codes, legal limit and guide change only "
            "there; your district edits its own values.",
        },
        "catalogue_save": {"zh": "保存", "en": "Save"},
        "catalogue_admins_edit": {"zh": "只有管理员可以修改事项。", "en": "Only administrators edit items."},
        "catalogue_over_legal": {
            "zh": "承诺时限应在 0 到法定时限（{legal} 个工作日）之间。",
            "en": "The promised limit must be between 0 and the legal limit ({legal} working days).",
        },
        "catalogue_bad_phone": {
            "zh": "“{field}”应为不超过 20 个字符的电话号码：数字，可含 + ( ) - 和空格。",
            "en": "“{field}” must be a phone number of at most 20 characters: digits, + ( ) - and spaces.",
        },
        "catalogue_unchanged": {"zh": "没有需要保存的修改。", "en": "Nothing to save."},
        "catalogue_saved": {"zh": "已保存 {item} 的修改。", "en": "Changes to {item} saved."},
    }
)

TYPES, SOURCES = ITEM_TYPE_LABELS, SOURCE_LABELS
TAGS = {TAG_FIELDS[tag]: words for tag, words in TAG_LABELS.items()}  # keyed by the item field
PAGE = 500
LOCAL_FIELDS = "id organization { id } promisedLimitDays feeNote consultPhone complaintPhone"
ITEMS = f"""query($where: ItemWhere, $region: ID) {{
  items(first: {PAGE}, where: $where, orderBy: [{{code: ASC}}]) {{
  totalCount nodes {{ id code name type source legalLimitDays promisedLimitDays {" ".join(TAGS)}
                     consultPhone complaintPhone inForce
                     locals(first: 1, where: {{organization: {{id: {{eq: $region}}}}}}) {{
                       nodes {{ {LOCAL_FIELDS} }} }}
  }} }} }}"""
GUIDE = f"""query($id: ID!, $region: ID) {{ item(id: $id) {{
  id code name legalLimitDays promisedLimitDays consultPhone complaintPhone publisher {{ id code name }}
  locals(first: 1, where: {{organization: {{id: {{eq: $region}}}}}}) {{ nodes {{ {LOCAL_FIELDS} }} }}
  guideRevisions(first: 100, orderBy: [{{revision: ASC}}]) {{ nodes {{
    revision effectiveFrom conditions process changeNote
    materials(first: 500, orderBy: [{{position: ASC}}]) {{
      nodes {{ position name form copies required source }} }}
  }} }} }} }}"""
ME = "{ myPermissions { organizationId regionId areaSize } }"
UPDATE_LOCAL = """mutation($id: ID!, $input: UpdateItemLocalInput!) {
  updateItemLocal(id: $id, input: $input) { id } }"""
CREATE_LOCAL = """mutation($input: CreateItemLocalInput!) { createItemLocal(input: $input) { id } }"""
PHONE = re.compile(r"(?=.*[0-9])[0-9+()\- ]{1,20}")  # digits, with + ( ) - and spaces
PHONES = {"consultPhone": "catalogue_consult_phone", "complaintPhone": "catalogue_complaint_phone"}
FLASH = "catalogue_flash"


def render() -> None:
    auth = session.require()
    lang = session.lang()
    st.title(t("catalogue_title", lang))
    session.show_flash(FLASH)
    try:
        me = session.query(ME)["myPermissions"]
    except ApiError as error:
        session.show_error(error)
        return
    if auth.role == "ADMIN":
        with st.expander(t("list_title", lang)):
            catalogue_file.render(lang, FLASH)
    where = _filters(lang)
    try:
        found = session.query(ITEMS, {"where": where, "region": me["regionId"]})["items"]
    except ApiError as error:
        session.show_error(error)
        return
    items = found["nodes"]
    st.caption(t("catalogue_count", lang).format(n=found["totalCount"]))
    if found["totalCount"] > len(items):
        st.caption(t("catalogue_truncated", lang).format(shown=len(items)))
    if not items:
        st.info(t("catalogue_none", lang))
        return
    dataframe([_item_row(i, me["regionId"], lang) for i in items], hide_index=True, key="catalogue_items")
    names = {i["id"]: f"{i['name']} ({i['code']})" for i in items}
    chosen = st.selectbox(
        t("catalogue_item", lang),
        list(names),
        format_func=lambda i: names.get(i, i),
        placeholder=t("choose_one", lang),
        key="catalogue_item",
    )
    try:
        # An administrator edits what is read here: read it fresh, so that a revision or a change
        # another administrator made meanwhile shows before this one publishes over it.
        item = session.query(GUIDE, {"id": chosen, "region": me["regionId"]}, fresh=auth.role == "ADMIN")[
            "item"
        ]
    except ApiError as error:
        session.show_error(error)
        return
    own = own_values(item, me.get("regionId"))
    _guide(item, own, lang)
    if auth.role != "ADMIN":
        st.caption(t("catalogue_admins_edit", lang))
        return
    if me.get("regionId"):  # the region's own values (the API refuses an administrator below it)
        _edit_form(item, own, me["regionId"], lang)
    if publishes(item, me):
        _guide_editor(item, lang)
    else:
        publisher = item["publisher"]["name"] if item["publisher"] else t("catalogue_top", lang)
        st.caption(t("catalogue_published_elsewhere", lang).format(publisher=publisher))


def own_values(item: dict, region: str | None) -> dict[str, Any]:
    """The district's own values of the item (its itemLocal), else the published ones (no id)."""
    for local in item["locals"]["nodes"]:
        if region is not None and local["organization"]["id"] == region:
            return local
    return {
        "id": None,
        "promisedLimitDays": item["promisedLimitDays"],
        "feeNote": "",
        "consultPhone": item["consultPhone"],
        "complaintPhone": item["complaintPhone"],
    }


def publishes(item: dict, me: dict[str, Any]) -> bool:
    """Whether the caller changes the item's guide: an area holding every organization publishes
    everything; else the item is published by the caller's own organization, a region (an
    administrator of a center or hall below it publishes nothing)."""
    if "areaSize" in me and me["areaSize"] is None:
        return True
    publisher = item["publisher"]
    return publisher is not None and publisher["id"] == me.get("regionId") == me.get("organizationId")


def _filters(lang: str) -> dict[str, Any]:
    every = t("catalogue_all", lang)
    columns = st.columns(4)
    kind = columns[0].selectbox(
        t("catalogue_type", lang),
        [None, *TYPES],
        format_func=lambda k: every if k is None else label(TYPES, k, lang),
        placeholder=t("choose_one", lang),
        key="catalogue_type",
    )
    source = columns[1].selectbox(
        t("catalogue_source", lang),
        [None, *SOURCES],
        format_func=lambda k: every if k is None else label(SOURCES, k, lang),
        placeholder=t("choose_one", lang),
        key="catalogue_source",
    )
    tag = columns[2].selectbox(
        t("catalogue_tag", lang),
        [None, *TAGS],
        format_func=lambda k: every if k is None else label(TAGS, k, lang),
        placeholder=t("choose_one", lang),
        key="catalogue_tag",
    )
    text = columns[3].text_input(t("catalogue_search", lang), key="catalogue_search").strip()
    where: dict[str, Any] = {}
    if kind:
        where["type"] = {"eq": kind}
    if source:
        where["source"] = {"eq": source}
    if tag:
        where[tag] = {"eq": True}
    if text:
        where["name"] = {"icontains": text}
    return where


def _item_row(item: dict, region: str | None, lang: str) -> dict[str, Any]:
    tags = [label(TAGS, tag, lang) for tag in TAGS if item[tag]]
    own = own_values(item, region)
    return {
        t("code", lang): item["code"],
        t("catalogue_name", lang): item["name"],
        t("catalogue_type", lang): label(TYPES, item["type"], lang),
        t("catalogue_source", lang): label(SOURCES, item["source"], lang),
        t("catalogue_tag", lang): shown("、".join(tags) if lang == "zh" else ", ".join(tags)),
        t("catalogue_legal_days", lang): item["legalLimitDays"],
        t("catalogue_promised_days", lang): own["promisedLimitDays"],
        t("catalogue_consult_phone", lang): shown(own["consultPhone"]),
        t("catalogue_complaint_phone", lang): shown(own["complaintPhone"]),
        t("catalogue_in_force", lang): t("catalogue_yes" if item["inForce"] else "catalogue_no", lang),
    }


def _guide(item: dict, own: dict, lang: str) -> None:
    st.subheader(f"{t('catalogue_guide', lang)} · {item['name']}")
    publisher = item["publisher"]["name"] if item["publisher"] else t("catalogue_top", lang)
    st.markdown(
        f"- {t('catalogue_legal_days', lang)}: **{item['legalLimitDays']}** · "
        f"{t('catalogue_promised_days', lang)}: **{own['promisedLimitDays']}**\n"
        f"- {t('catalogue_consult_phone', lang)}: {shown(own['consultPhone'])} · "
        f"{t('catalogue_complaint_phone', lang)}: {shown(own['complaintPhone'])}\n"
        f"- {t('catalogue_fee_note', lang)}: {shown(own['feeNote'])} · "
        f"{t('catalogue_publisher', lang)}: {publisher}"
    )
    revisions = item["guideRevisions"]["nodes"]
    if not revisions:
        st.info(t("catalogue_no_guide", lang))
        return
    previous = [None, *revisions[:-1]]
    for number, (revision, before) in reversed(list(enumerate(zip(revisions, previous, strict=True)))):
        heading = t("catalogue_revision", lang).format(n=revision["revision"], day=revision["effectiveFrom"])
        with st.expander(heading, expanded=number == len(revisions) - 1):
            _revision(revision, before, lang)


def _revision(revision: dict, before: dict | None, lang: str) -> None:
    if revision["changeNote"]:
        st.caption(revision["changeNote"])
    st.markdown(
        f"**{t('guide_conditions', lang)}**: {shown(revision['conditions'])}\n\n"
        f"**{t('guide_process', lang)}**: {shown(revision['process'])}"
    )
    materials = revision["materials"]["nodes"]
    old = before["materials"]["nodes"] if before else None
    guide_editor.show_changes(old, materials, lang, f"catalogue_diff_{revision['revision']}")
    dataframe(
        [
            {
                t("catalogue_position", lang): m["position"],
                t("guide_material", lang): m["name"],
                t("guide_form", lang): label(MATERIAL_FORM_LABELS, m["form"], lang),
                t("guide_copies", lang): m["copies"],
                t("guide_required", lang): t("catalogue_yes" if m["required"] else "catalogue_no", lang),
                t("guide_source", lang): shown(m["source"]),
            }
            for m in materials
        ],
        hide_index=True,
        key=f"catalogue_materials_{revision['revision']}",
    )


def _guide_editor(item: dict, lang: str) -> None:
    published = guide_editor.render(item, lang)
    if published:  # read the item again: the new revision heads the list
        st.session_state[FLASH] = ("success", published)
        st.rerun()


def _edit_form(item: dict, own: dict, region: str, lang: str) -> None:
    state = st.session_state
    # Another item chosen, or the fields dropped by a run that did not draw them: start from its values.
    if state.get("catalogue_edit_for") != item["id"] or "catalogue_promised" not in state:
        state["catalogue_edit_for"] = item["id"]
        state["catalogue_promised"] = own["promisedLimitDays"]
        state["catalogue_fee_note"] = own["feeNote"]
        for field, key in PHONES.items():
            state[key] = own[field]
    st.subheader(t("catalogue_edit", lang))
    with st.form("catalogue_edit_form"):
        st.number_input(t("catalogue_promised_days", lang), min_value=0, step=1, key="catalogue_promised")
        st.text_input(t("catalogue_fee_note", lang), max_chars=200, key="catalogue_fee_note")
        for key in PHONES.values():
            st.text_input(t(key, lang), key=key)
        st.form_submit_button(
            t("catalogue_save", lang),
            key="catalogue_edit_submit",
            on_click=_save,
            args=(item, own, region, lang),
        )


def edit_problem(item: dict, promised: int, phones: dict[str, str], lang: str) -> str | None:
    """Why these values may not be saved, on the page, before the API is asked; None when they may."""
    if not 0 <= promised <= item["legalLimitDays"]:
        return t("catalogue_over_legal", lang).format(legal=item["legalLimitDays"])
    for field, value in phones.items():
        if not PHONE.fullmatch(value):
            return t("catalogue_bad_phone", lang).format(field=t(PHONES[field], lang))
    return None


def _save(item: dict, own: dict, region: str, lang: str) -> None:
    state = st.session_state
    promised = int(state["catalogue_promised"])
    phones = {field: state[key].strip() for field, key in PHONES.items()}
    problem = edit_problem(item, promised, phones, lang)
    if problem:
        state[FLASH] = ("warning", problem)
        return
    values = {"promisedLimitDays": promised, "feeNote": state["catalogue_fee_note"].strip(), **phones}
    changes = {field: value for field, value in values.items() if value != own[field]}
    if not changes and own["id"] is not None:
        state[FLASH] = ("info", t("catalogue_unchanged", lang))
        return
    done = t("catalogue_saved", lang).format(item=item["name"])
    if own["id"] is None:  # the district's first values of this item
        local = {"itemId": item["id"], "organizationId": region, **values}
        session.write(FLASH, CREATE_LOCAL, {"input": local}, done)
    else:
        session.write(FLASH, UPDATE_LOCAL, {"id": own["id"], "input": changes}, done)


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
