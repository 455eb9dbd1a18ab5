"""事项下放 Item delegation: which organization handles which item with which power, as a matrix;
assign (one all-or-none call), revoke, the audit history, and an Excel export."""

from __future__ import annotations

import io
import json

import openpyxl
import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.areas import Pages, env_count, every_node, pick_area
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
    "dg_area_counts": (
        "辖区内全部 {n} 个组织合计：下放 {delegated}，代办 {agency}，共 {total}。",
        "All {n} organizations of the area: {delegated} delegated, {agency} agency only, {total} in all.",
    ),
    "dg_targets_page": (
        "辖区内有 {n} 个该层级组织，此处列出当前页；选择更小的辖区可列出其全部组织。",
        "The area holds {n} organizations of this tier: the matrix's page is listed; "
        "choose a smaller area to list all of its own.",
    ),
    "dg_delegated_note": (
        "下放事项数 = 全办 + 受理初审（按当前筛选计算）。",
        "Delegated = full + accept and pre-review (within the current filters).",
    ),
    "dg_export": ("导出 Excel（本页）", "Export to Excel (this page)"),
    "dg_export_area": (
        "准备整个辖区的 Excel（{orgs} 个组织，{n} 条分配）",
        "Prepare the whole area's workbook ({orgs} organizations, {n} assignments)",
    ),
    "dg_export_area_download": ("下载整个辖区的 Excel", "Download the whole area's workbook"),
    "dg_export_area_too_many": (
        "辖区内有 {n} 条分配，超过一次导出的上限 {limit}：请选择更小的辖区导出。",
        "The area holds {n} assignments, over one export's {limit}: choose a smaller area to export.",
    ),
    "dg_list": ("分配清单", "Assignments"),
    "dg_org_code": ("组织编码", "Organization code"),
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
CELL = "id power legalBasis effectiveFrom revokedAt active"
# Columns of the matrix per page (SANJI_UI_MATRIX_COLUMNS): a district's 244 rooms are five pages,
# each one request for the columns and one for the rows, their cells and counts.
COLUMNS = 50
ITEMS = f"""query($after: String) {{
  page: items(first: 500, after: $after, orderBy: [{{code: ASC}}]) {{
    totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ITEM} }} }} }}"""
COLUMNS_PAGE = f"""query($area: ID, $tier: Tier!, $size: Int!, $after: String, $items: ItemWhere) {{
  page: organizations(first: $size, after: $after, where: {{within: $area, tier: {{eq: $tier}}}},
    orderBy: [{{code: ASC}}]) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ORG} }} }}
  area: itemAssignmentsAggregate(where: {{active: {{eq: true}}, item: $items,
    organization: {{within: $area, tier: {{eq: $tier}}}}}}, groupBy: [{{power: true}}]) {{
    groups {{ keys {{ power }} count }} }} }}"""
# The rows: the items one of the page's organizations holds actively (within the filters), each with
# its cells on the page (one active assignment per item and organization); and the page's counts.
CELLS = f"""query($orgs: [ID!]!, $items: ItemWhere!, $size: Int!, $after: String) {{
  page: items(first: 500, after: $after, orderBy: [{{code: ASC}}], where: {{and: [{{assignments: {{
    active: {{eq: true}}, organization: {{id: {{in: $orgs}}}}}}}}, $items]}}) {{
    totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ITEM}
      assignments(first: $size, where: {{active: {{eq: true}}, organization: {{id: {{in: $orgs}}}}}}) {{
        nodes {{ {CELL} organization {{ {ORG} }} }} }} }} }}
  counts: itemAssignmentsAggregate(where: {{active: {{eq: true}}, item: $items,
    organization: {{id: {{in: $orgs}}}}}}, groupBy: [{{organizationCode: true}}, {{power: true}}]) {{
    groups {{ keys {{ organizationCode power }} count }} }} }}"""
TARGETS = f"""query($area: ID, $tier: Tier!, $after: String) {{
  page: organizations(first: 500, after: $after, where: {{within: $area, tier: {{eq: $tier}}}},
    orderBy: [{{code: ASC}}]) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ORG} }} }} }}"""
ASSIGNMENTS = f"""query($where: ItemAssignmentWhere, $after: String) {{
  page: itemAssignments(where: $where, first: 500, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    nodes {{ {CELL} item {{ {ITEM} }} organization {{ {ORG} }} }} }} }}"""
CREATE = """mutation($inputs: [CreateItemAssignmentInput!]!) {
  createItemAssignments(inputs: $inputs) { id } }"""
REVOKE = """mutation($ids: [ID!]!) { revokeItemAssignments(ids: $ids) { id } }"""
# Up to this many organizations of the tier in the area are offered to assign to; in a larger area
# (a province's rooms), the matrix's page is, and a smaller area offers all of its own.
TARGETS_ALL = 1000
# Assignments the whole area's export lists (500 a request); a larger area is exported per area below it.
EXPORT_ROWS = 100_000
AREA_ASSIGNMENTS = f"""query($area: ID, $tier: Tier!, $items: ItemWhere, $after: String) {{
  page: itemAssignments(first: 500, after: $after, where: {{active: {{eq: true}}, item: $items,
    organization: {{within: $area, tier: {{eq: $tier}}}}}},
    orderBy: [{{organization: {{code: ASC}}}}, {{item: {{code: ASC}}}}]) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    nodes {{ {CELL} item {{ {ITEM} }} organization {{ {ORG} }} }} }} }}"""


def fetch_all(text: str, variables: dict | None = None, what: str = "") -> list[dict]:
    """Every node of a connection, page after page (500 a page), with a progress bar."""
    bar = st.progress(0.0, text=what)

    def progress(read: int, total: int) -> None:
        bar.progress(min(read / max(total, 1), 1.0), text=f"{what} {read}/{total}")

    nodes = every_node(text, variables, progress)
    bar.empty()
    return nodes


def render() -> None:
    session.require("ADMIN")
    lang = session.lang()
    st.title(t("dg_title", lang))
    st.info(t("dg_three_unified", lang))
    session.show_flash("dg_flash")
    tier, kind, source, tag = _filters(lang)
    items_where = _item_filter(kind, source, tag)
    try:
        area = pick_area("dg_area", tier, lang)
        data = _load(area, tier, items_where, lang)
    except ApiError as error:
        session.show_error(error)
        return
    orgs, cells = data["organizations"], data["cells"]
    items = data["rows"]
    shown = [cells[(i["id"], o["id"])] for i in items for o in orgs if (i["id"], o["id"]) in cells]
    matrix, counts = _matrix(items, orgs, cells, lang), _counts(orgs, data["counts"], lang)
    st.subheader(f"{t('dg_matrix', lang)} · {tier_label(tier, lang)}")
    st.caption("; ".join(f"{s[lang]} = {f[lang]}" for s, f in POWERS.values()))
    data["pages"].controls(data["total"], data["size"], data["next"], lang)
    if matrix:
        dataframe(matrix, hide_index=True, key="dg_matrix_table")
    else:
        st.info(t("dg_no_matrix", lang))
    st.subheader(t("dg_counts", lang))
    dataframe(counts, hide_index=True, key="dg_counts_table")
    st.caption(t("dg_delegated_note", lang))
    st.caption(_area_line(data["area_powers"], data["total"], lang))
    st.download_button(
        t("dg_export", lang),
        _workbook(matrix, counts, lang),
        file_name=f"delegation-{tier}-{data['pages'].number}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        key="dg_export",
    )
    _area_export(data, area, tier, items_where, lang)
    _assign(data, area, tier, lang)
    _revoke(shown, lang)
    delegation_history.render(data["items"], lang)


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
        st.session_state.pop("dg_items_all", None)
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


def _item_filter(kind: str | None, source: str | None, tag: str | None) -> dict:
    """The filters as an ItemWhere: the API narrows the rows and the counts."""
    where: dict = {}
    if kind is not None:
        where["type"] = {"eq": kind}
    if source is not None:
        where["source"] = {"eq": source}
    if tag is not None:
        where[TAG_FIELDS[tag]] = {"eq": True}
    return where


def _load(area: dict | None, tier: str, items: dict, lang: str) -> dict:
    """One page of the area's organizations of the tier, the items they hold with their cells, the
    page's and the area's counts, and the catalogue; kept until a change or a reload."""
    area_id = area["id"] if area else None
    size = env_count("SANJI_UI_MATRIX_COLUMNS", COLUMNS, most=500)  # the API's page size cap
    pages = Pages("dg_pages", (area_id, tier, json.dumps(items, sort_keys=True)))
    cache = st.session_state.setdefault("dg_cache", {})
    auth = session.current()
    key = (auth.username if auth else None, *pages.kept["signature"], pages.after)
    if key not in cache:
        with st.spinner(t("dg_loading", lang)):
            asked = {"area": area_id, "tier": tier, "size": size, "after": pages.after, "items": items}
            top = session.query(COLUMNS_PAGE, asked)
            orgs = top["page"]["nodes"]
            ids = [o["id"] for o in orgs]
            rows, counts = [], []
            if ids:
                variables = {"orgs": ids, "items": items, "size": size}
                answer = session.query(CELLS, {**variables, "after": None})
                counts = answer["counts"]["groups"]
                rows = answer["page"]["nodes"]
                if answer["page"]["pageInfo"]["hasNextPage"]:  # over 500 items held on one page
                    rows += every_node(CELLS, variables)[len(rows) :]
            cells = {}
            for row in rows:
                for cell in row.pop("assignments")["nodes"]:
                    cells[(row["id"], cell["organization"]["id"])] = {**cell, "item": dict(row)}
            info = top["page"]["pageInfo"]
            cache[key] = {
                "organizations": orgs,
                "rows": rows,
                "cells": cells,
                "counts": _held(counts),
                "area_powers": {g["keys"]["power"]: g["count"] for g in top["area"]["groups"]},
                "total": top["page"]["totalCount"],
                "next": info["endCursor"] if info["hasNextPage"] else None,
                "size": size,
                "items": _catalogue(lang),
            }
    entry = cache[key]
    entry["pages"] = pages
    return entry


def _catalogue(lang: str) -> list[dict]:
    """Every item, to assign and to name the history's entries (kept until a reload)."""
    if "dg_items_all" not in st.session_state:
        st.session_state["dg_items_all"] = fetch_all(ITEMS, what=t("dg_items", lang))
    return st.session_state["dg_items_all"]


def _split(powers: dict[str, int]) -> tuple[int, int]:
    """(delegated, agency only) of assignments counted per power."""
    return sum(n for power, n in powers.items() if power in DELEGATED), powers.get("AGENCY_ONLY", 0)


def _area_line(powers: dict[str, int], organizations: int, lang: str) -> str:
    """The whole area's counts (every page), within the filters."""
    delegated, agency = _split(powers)
    return t("dg_area_counts", lang).format(
        n=organizations, delegated=delegated, agency=agency, total=delegated + agency
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


def _held(groups: list[dict]) -> dict[str, dict[str, int]]:
    """The API's counts (organization code × power) as {code: {power: count}}."""
    held: dict[str, dict[str, int]] = {}
    for g in groups:
        held.setdefault(g["keys"]["organizationCode"], {})[g["keys"]["power"]] = g["count"]
    return held


def _counts(orgs: list[dict], held: dict[str, dict[str, int]], lang: str) -> list[dict]:
    """Per organization, from its assignments counted per power (`_held`)."""
    rows = []
    for o in orgs:
        delegated, agency = _split(held.get(o["code"], {}))
        rows.append(
            {
                t("dg_code", lang): o["code"],
                t("dg_organization", lang): o["name"],
                t("dg_delegated", lang): delegated,
                t("dg_agency", lang): agency,
                t("dg_total", lang): delegated + agency,
            }
        )
    return rows


def _workbook(matrix: list[dict], counts: list[dict], lang: str, first: str = "dg_matrix") -> bytes:
    book = openpyxl.Workbook()
    book.create_sheet()
    for sheet, rows, title in zip(book.worksheets, (matrix, counts), (first, "dg_counts"), strict=True):
        sheet.title = t(title, lang)[:31]  # the longest title Excel takes
        if rows:
            sheet.append(list(rows[0]))  # the column titles
        for row in rows:
            sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _area_export(data: dict, area: dict | None, tier: str, items: dict, lang: str) -> None:
    """The whole area's assignments (every page of the matrix) as a workbook, one row per
    assignment (a province's rooms would be more columns than a sheet holds), and the counts of
    every organization of the tier in it; asked for on a click, up to EXPORT_ROWS assignments."""
    total = sum(data["area_powers"].values())
    signature = (area["id"] if area else None, tier, json.dumps(items, sort_keys=True), total)
    if total > EXPORT_ROWS:
        st.caption(t("dg_export_area_too_many", lang).format(n=total, limit=EXPORT_ROWS))
        return
    if st.button(t("dg_export_area", lang).format(n=total, orgs=data["total"]), key="dg_export_area_prepare"):
        variables = {"area": signature[0], "tier": tier}
        assignments = fetch_all(AREA_ASSIGNMENTS, {**variables, "items": items}, t("dg_matrix", lang))
        organizations = fetch_all(TARGETS, variables, t("dg_organization", lang))
        st.session_state["dg_area_book"] = (signature, _area_workbook(assignments, organizations, lang))
    kept = st.session_state.get("dg_area_book")
    if kept and kept[0] == signature:
        st.download_button(
            t("dg_export_area_download", lang),
            kept[1],
            file_name=f"delegation-{tier}-area.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            on_click="ignore",
            key="dg_export_area",
        )


def _area_workbook(assignments: list[dict], organizations: list[dict], lang: str) -> bytes:
    head = ("dg_org_code", "dg_organization", "dg_code", "dg_item", "dg_power", "dg_basis_col", "dg_from_col")
    listed = [
        {
            t(head[0], lang): a["organization"]["code"],
            t(head[1], lang): a["organization"]["name"],
            t(head[2], lang): a["item"]["code"],
            t(head[3], lang): a["item"]["name"],
            t(head[4], lang): POWERS[a["power"]][1][lang],
            t(head[5], lang): a["legalBasis"],
            t(head[6], lang): a["effectiveFrom"],
        }
        for a in assignments
    ]
    held: dict[str, dict[str, int]] = {}
    for a in assignments:
        powers = held.setdefault(a["organization"]["code"], {})
        powers[a["power"]] = powers.get(a["power"], 0) + 1
    return _workbook(listed, _counts(organizations, held, lang), lang, first="dg_list")


def _targets(data: dict, area: dict | None, tier: str, lang: str) -> dict[str, dict]:
    """The organizations to assign to: every one of the tier in the area when it holds up to
    TARGETS_ALL of them (kept with the page's data), else the matrix's page."""
    if data["total"] > TARGETS_ALL:
        st.caption(t("dg_targets_page", lang).format(n=data["total"]))
        return {o["id"]: o for o in data["organizations"]}
    if "targets" not in data:
        variables = {"area": area["id"] if area else None, "tier": tier}
        data["targets"] = fetch_all(TARGETS, variables, t("dg_targets", lang))
    return {o["id"]: o for o in data["targets"]}


def _assign(data: dict, area: dict | None, tier: str, lang: str) -> None:
    st.subheader(t("dg_assign", lang))
    items = {i["id"]: i for i in data["items"]}
    orgs = _targets(data, area, tier, lang)
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
    st.session_state.pop("dg_area_book", None)  # its rows may have changed
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
