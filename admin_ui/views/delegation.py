"""事项下放 Item delegation: which organization handles which item with which power, as a matrix;
assign (one all-or-none call), revoke, the audit history, and an Excel export."""

from __future__ import annotations

import io

import openpyxl
import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe, district_today, shown
from admin_ui.i18n import (
    ITEM_TYPE_LABELS,
    POWER_LABELS,
    SOURCE_LABELS,
    TAG_FIELDS,
    TAG_LABELS,
    add,
    t,
    tier_label,
)
from admin_ui.views import delegation_history

WORDS = {  # this page's texts: (Chinese, English)
    "dg_title": ("事项下放", "Item delegation"),
    "dg_three_unified": (
        "三统一由构造保证：每个事项只有一条记录（同一名称、编码、办事指南），"
        "下放只记录由哪个组织以何种权限办理，各层级办理的始终是同一事项。",
        "三统一 holds by construction: one item row (one name, code and guide) serves every tier; "
        "an assignment only says which organization handles it, with which power.",
    ),
    "dg_tier": ("组织层级", "Tier"),
    "dg_type": ("事项类型", "Item type"),
    "dg_source": ("权力来源", "Source"),
    "dg_tag": ("三办标签", "三办 tag"),
    "dg_all": ("全部", "All"),
    "dg_reload": ("重新加载", "Reload"),
    "dg_loading": ("正在加载", "Loading"),
    "dg_matrix": ("下放矩阵", "Delegation matrix"),
    "dg_counts": ("各组织下放事项数", "Delegated items per organization"),
    "dg_code": ("编码", "Code"),
    "dg_item": ("事项", "Item"),
    "dg_organization": ("组织", "Organization"),
    "dg_no_matrix": ("没有符合筛选条件的已下放事项。", "No assigned item matches the filters."),
    "dg_delegated": ("下放事项数", "Delegated"),
    "dg_agency": ("代办事项数", "Agency only"),
    "dg_total": ("合计", "Total"),
    "dg_delegated_note": (
        "下放事项数 = 全办 + 受理初审（按当前筛选计算）。",
        "Delegated = full + accept and pre-review (within the current filters).",
    ),
    "dg_export": ("导出 Excel", "Export to Excel"),
    "dg_assign": ("下放事项", "Assign items"),
    "dg_items": ("事项", "Items"),
    "dg_targets": ("承接组织", "Organizations"),
    "dg_power": ("权限", "Power"),
    "dg_basis": ("依据文件", "Legal basis document"),
    "dg_effective": ("生效日期", "In force from"),
    "dg_preview": ("预览变更", "Preview"),
    "dg_need_all": (
        "请选择事项、承接组织并填写依据文件。",
        "Choose items and organizations and give the legal basis.",
    ),
    "dg_change": ("变更", "Change"),
    "dg_new": ("新增", "New"),
    "dg_unchanged": ("已有有效分配，不变", "Already assigned, unchanged"),
    "dg_stale": ("选择已改变，请重新预览。", "The choice changed: preview again."),
    "dg_nothing_new": ("没有需要新增的分配。", "Nothing new to assign."),
    "dg_confirm": ("确认下放（{n} 条，全部成功或全部不生效）", "Confirm {n} (all or none)"),
    "dg_created": ("已新增 {n} 条分配。", "{n} assignments created."),
    "dg_revoke_title": ("撤销分配", "Revoke assignments"),
    "dg_revoke_pick": ("有效分配（当前矩阵）", "Active assignments (of the matrix)"),
    "dg_revoke_preview": ("将撤销以下 {n} 条分配：", "These {n} assignments will be revoked:"),
    "dg_basis_col": ("依据", "Legal basis"),
    "dg_from_col": ("生效日期", "Effective from"),
    "dg_revoke": ("确认撤销（{n} 条，全部成功或全部不生效）", "Revoke {n} (all or none)"),
    "dg_revoked": ("已撤销 {n} 条分配。", "{n} assignments revoked."),
}
add({key: {"zh": zh, "en": en} for key, (zh, en) in WORDS.items()})


SHORT_POWERS = {  # for the matrix's cells
    "FULL": {"zh": "全办", "en": "Full"},
    "ACCEPT_AND_PRE_REVIEW": {"zh": "受理初审", "en": "Pre-review"},
    "AGENCY_ONLY": {"zh": "代办", "en": "Agency"},
}
POWERS = {power: (short, POWER_LABELS[power]) for power, short in SHORT_POWERS.items()}  # short, full
DELEGATED = {"FULL", "ACCEPT_AND_PRE_REVIEW"}
TYPES, SOURCES, TAGS = ITEM_TYPE_LABELS, SOURCE_LABELS, TAG_LABELS
TIERS = ("HALL", "ROOM", "CENTER")

ITEM = "id code name type source tagImmediate tagOnline tagOneVisit"
ORG = "id code name tier"
PAGED = "totalCount pageInfo { hasNextPage endCursor } nodes"
ORGANIZATIONS = f"""query($after: String) {{
  page: organizations(first: 500, after: $after, orderBy: [{{code: ASC}}]) {{ {PAGED} {{ {ORG} }} }} }}"""
ITEMS = f"""query($after: String) {{
  page: items(first: 500, after: $after, orderBy: [{{code: ASC}}]) {{ {PAGED} {{ {ITEM} }} }} }}"""
ASSIGNMENTS = f"""query($where: ItemAssignmentWhere, $after: String) {{
  page: itemAssignments(where: $where, first: 500, after: $after) {{ {PAGED} {{
    id power legalBasis effectiveFrom revokedAt active item {{ {ITEM} }} organization {{ {ORG} }} }} }} }}"""
CREATE = """mutation($inputs: [CreateItemAssignmentInput!]!) {
  createItemAssignments(inputs: $inputs) { id } }"""
REVOKE = """mutation($ids: [ID!]!) { revokeItemAssignments(ids: $ids) { id } }"""


def fetch_all(text: str, variables: dict | None = None, what: str = "") -> list[dict]:
    """Every node of a connection, page after page (500 a page), with a progress bar."""
    nodes: list[dict] = []
    after = None
    bar = st.progress(0.0, text=what)
    while True:
        page = session.query(text, {**(variables or {}), "after": after})["page"]
        nodes += page["nodes"]
        total = max(page["totalCount"], 1)
        bar.progress(min(len(nodes) / total, 1.0), text=f"{what} {len(nodes)}/{page['totalCount']}")
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    bar.empty()
    return nodes


def render() -> None:
    auth = session.require("ADMIN")
    lang = session.lang()
    st.title(t("dg_title", lang))
    st.info(t("dg_three_unified", lang))
    session.show_flash("dg_flash")
    tier, kind, source, tag = _filters(lang)
    try:
        data = _load(auth.username, tier, lang)
    except ApiError as error:
        session.show_error(error)
        return
    orgs = [o for o in data["organizations"] if o["tier"] == tier]
    cells = {(a["item"]["id"], a["organization"]["id"]): a for a in data["assignments"]}
    assigned = [i for i in data["items"] if any((i["id"], o["id"]) in cells for o in orgs)]
    items = [i for i in assigned if _matches(i, kind, source, tag)]  # (every item is offered to assign)
    shown = [cells[(i["id"], o["id"])] for i in items for o in orgs if (i["id"], o["id"]) in cells]
    matrix, counts = _matrix(items, orgs, cells, lang), _counts(orgs, shown, lang)
    st.subheader(f"{t('dg_matrix', lang)} · {tier_label(tier, lang)}")
    st.caption("; ".join(f"{s[lang]} = {f[lang]}" for s, f in POWERS.values()))
    if matrix:
        dataframe(matrix, hide_index=True, key="dg_matrix_table")
    else:
        st.info(t("dg_no_matrix", lang))
    st.subheader(t("dg_counts", lang))
    dataframe(counts, hide_index=True, key="dg_counts_table")
    st.caption(t("dg_delegated_note", lang))
    st.download_button(
        t("dg_export", lang),
        _workbook(matrix, counts, lang),
        file_name=f"delegation-{tier}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="dg_export",
    )
    _assign(data, lang)
    _revoke(shown, lang)
    delegation_history.render(data, lang)


def _filters(lang: str) -> tuple:
    row = st.columns(5)
    tier = row[0].selectbox(
        t("dg_tier", lang),
        TIERS,
        format_func=lambda x: tier_label(x, lang),
        placeholder=t("choose_one", lang),
        key="dg_tier",
    )
    kind, source, tag = (
        _any_of(column, name, table, lang)
        for column, name, table in zip(
            row[1:4], ("dg_type", "dg_source", "dg_tag"), (TYPES, SOURCES, TAGS), strict=True
        )
    )
    if row[4].button(t("dg_reload", lang), key="dg_reload"):
        st.session_state["dg_cache"] = {}
    return tier, kind, source, tag


def _any_of(column, name: str, table: dict, lang: str) -> str | None:
    """A filter: everything (None) or one value of an enum."""
    everything = t("dg_all", lang)
    return column.selectbox(
        t(name, lang),
        [None, *table],
        format_func=lambda x: table[x][lang] if x else everything,
        placeholder=t("choose_one", lang),
        key=name,
    )


def _load(username: str, tier: str, lang: str) -> dict:
    """Organizations, items and the tier's active assignments, kept until a change or a reload."""
    cache = st.session_state.setdefault("dg_cache", {})
    if (username, tier) not in cache:
        with st.spinner(t("dg_loading", lang)):
            where = {"active": {"eq": True}, "organization": {"tier": {"eq": tier}}}
            cache[(username, tier)] = {
                "organizations": fetch_all(ORGANIZATIONS, what=t("dg_organization", lang)),
                "items": fetch_all(ITEMS, what=t("dg_items", lang)),
                "assignments": fetch_all(ASSIGNMENTS, {"where": where}, t("dg_matrix", lang)),
            }
    return cache[(username, tier)]


def _matches(item: dict, kind: str | None, source: str | None, tag: str | None) -> bool:
    return (
        (kind is None or item["type"] == kind)
        and (source is None or item["source"] == source)
        and (tag is None or item[TAG_FIELDS[tag]])
    )


def _matrix(items: list[dict], orgs: list[dict], cells: dict, lang: str) -> list[dict]:
    """One row per item, one column per organization (its name, with the code if names repeat)."""
    names = [o["name"] for o in orgs]
    column = {
        o["id"]: o["name"] if names.count(o["name"]) == 1 else f"{o['name']} ({o['code']})" for o in orgs
    }

    def cell(item: dict, org: dict) -> str:
        found = cells.get((item["id"], org["id"]))
        return POWERS[found["power"]][0][lang] if found else ""

    head = (t("dg_code", lang), t("dg_item", lang))
    return [
        {head[0]: i["code"], head[1]: i["name"], **{column[o["id"]]: cell(i, o) for o in orgs}} for i in items
    ]


def _counts(orgs: list[dict], shown: list[dict], lang: str) -> list[dict]:
    rows = []
    for o in orgs:
        powers = [a["power"] for a in shown if a["organization"]["id"] == o["id"]]
        rows.append(
            {
                t("dg_code", lang): o["code"],
                t("dg_organization", lang): o["name"],
                t("dg_delegated", lang): sum(p in DELEGATED for p in powers),
                t("dg_agency", lang): powers.count("AGENCY_ONLY"),
                t("dg_total", lang): len(powers),
            }
        )
    return rows


def _workbook(matrix: list[dict], counts: list[dict], lang: str) -> bytes:
    book = openpyxl.Workbook()
    book.create_sheet()
    for sheet, rows, title in zip(book.worksheets, (matrix, counts), ("dg_matrix", "dg_counts"), strict=True):
        sheet.title = t(title, lang)[:31]  # the longest title Excel takes
        if rows:
            sheet.append(list(rows[0]))  # the column titles
        for row in rows:
            sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _assign(data: dict, lang: str) -> None:
    st.subheader(t("dg_assign", lang))
    items = {i["id"]: i for i in data["items"]}
    orgs = {o["id"]: o for o in data["organizations"] if o["tier"] in TIERS}
    chosen = st.multiselect(
        t("dg_items", lang),
        list(items),
        format_func=lambda i: f"{items[i]['code']} {items[i]['name']}",
        placeholder=t("choose_many", lang),
        key="dg_items",
    )
    targets = st.multiselect(
        t("dg_targets", lang),
        list(orgs),
        format_func=lambda o: f"{orgs[o]['name']} · {tier_label(orgs[o]['tier'], lang)}",
        placeholder=t("choose_many", lang),
        key="dg_targets",
    )
    power = st.selectbox(
        t("dg_power", lang),
        list(POWERS),
        format_func=lambda p: POWERS[p][1][lang],
        placeholder=t("choose_one", lang),
        key="dg_power",
    )
    basis = st.text_input(t("dg_basis", lang), key="dg_basis").strip()
    start = st.date_input(
        t("dg_effective", lang), value=district_today(), format="YYYY-MM-DD", key="dg_effective"
    )
    signature = (tuple(chosen), tuple(targets), power, basis, start.isoformat() if start else None)
    if st.button(t("dg_preview", lang), key="dg_preview"):
        if not (chosen and targets and basis and start):
            st.warning(t("dg_need_all", lang))
        else:
            try:
                st.session_state["dg_plan"] = _plan(signature)
            except ApiError as error:
                session.show_error(error)
                return
    plan = st.session_state.get("dg_plan")
    if not plan:
        return
    if plan["signature"] != signature:
        st.caption(t("dg_stale", lang))
        return
    rows = [("dg_new", x["itemId"], x["organizationId"], power) for x in plan["new"]] + [
        ("dg_unchanged", i, o, p) for i, o, p in plan["unchanged"]
    ]
    head = [t(k, lang) for k in ("dg_change", "dg_code", "dg_item", "dg_organization", "dg_power")]
    table = [
        (t(c, lang), items[i]["code"], items[i]["name"], orgs[o]["name"], POWERS[p][1][lang])
        for c, i, o, p in rows
    ]
    dataframe([dict(zip(head, row, strict=True)) for row in table], hide_index=True, key="dg_preview_table")
    if not plan["new"]:
        st.info(t("dg_nothing_new", lang))
    else:
        st.button(
            t("dg_confirm", lang).format(n=len(plan["new"])), key="dg_confirm", on_click=_create, args=(lang,)
        )


def _plan(signature: tuple) -> dict:
    """New pairs to send and pairs already holding an active assignment (asked fresh, not cached)."""
    chosen, targets, power, basis, start = signature
    where = {
        "active": {"eq": True},
        "item": {"id": {"in": list(chosen)}},
        "organization": {"id": {"in": list(targets)}},
    }
    existing = {
        (a["item"]["id"], a["organization"]["id"]): a["power"]
        for a in fetch_all(ASSIGNMENTS, {"where": where})
    }
    pairs = [(i, o) for i in chosen for o in targets]
    return {
        "signature": signature,
        "new": [
            {"itemId": i, "organizationId": o, "power": power, "legalBasis": basis, "effectiveFrom": start}
            for i, o in pairs
            if (i, o) not in existing
        ],
        "unchanged": [(i, o, existing[(i, o)]) for i, o in pairs if (i, o) in existing],
    }


def _create(lang: str) -> None:
    """The confirmed plan as ONE createItemAssignments call: the API makes all of them or none."""
    plan = st.session_state.pop("dg_plan", None)
    if plan and _send(CREATE, {"inputs": plan["new"]}, t("dg_created", lang).format(n=len(plan["new"]))):
        st.session_state["dg_items"] = []
        st.session_state["dg_targets"] = []


def _send(text: str, variables: dict, done: str) -> bool:
    """A write; its outcome is shown on the next run, which reads the matrix again whatever happened."""
    st.session_state["dg_cache"] = {}
    return session.write("dg_flash", text, variables, done)


def _revoke(active: list[dict], lang: str) -> None:
    st.subheader(t("dg_revoke_title", lang))
    by_id = {a["id"]: a for a in active}
    picked = st.multiselect(
        t("dg_revoke_pick", lang),
        list(by_id),
        format_func=lambda a: (
            f"{by_id[a]['item']['code']} {by_id[a]['item']['name']} @ {by_id[a]['organization']['name']}"
            f" · {POWERS[by_id[a]['power']][0][lang]}"
        ),
        placeholder=t("choose_many", lang),
        key="dg_revoke_ids",
    )
    if not picked:
        return
    st.caption(t("dg_revoke_preview", lang).format(n=len(picked)))
    rows = [
        {
            t("dg_code", lang): a["item"]["code"],
            t("dg_item", lang): a["item"]["name"],
            t("dg_organization", lang): a["organization"]["name"],
            t("dg_power", lang): POWERS[a["power"]][1][lang],
            t("dg_basis_col", lang): shown(a["legalBasis"]),
            t("dg_from_col", lang): shown(a["effectiveFrom"]),
        }
        for a in (by_id[i] for i in picked)
    ]
    dataframe(rows, hide_index=True)
    st.button(
        t("dg_revoke", lang).format(n=len(picked)), key="dg_revoke", on_click=_send_revocations, args=(lang,)
    )


def _send_revocations(lang: str) -> None:
    """The picked assignments as ONE revokeItemAssignments call: the API revokes all of them or none."""
    ids = st.session_state.get("dg_revoke_ids") or []
    if ids and _send(REVOKE, {"ids": ids}, t("dg_revoked", lang).format(n=len(ids))):
        st.session_state["dg_revoke_ids"] = []


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
