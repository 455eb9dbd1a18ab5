"""便民服务室建设 Room construction: every room with its status, dates, the six standardization checks
of its latest inspection, its published duty staff and funding; what each room still lacks; the rooms
under construction; progress per month; forms to record an inspection and to change a room's status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.areas import env_count, every_node, pick_area
from admin_ui.charts import laid_out
from admin_ui.formatting import MISSING, dataframe, district_today, shown
from admin_ui.i18n import STATUS_LABELS, add, status_label, t

add(
    {
        "rooms_title": {"zh": "便民服务室建设", "en": "Room construction"},
        "rooms_list": {"zh": "全部便民服务室", "en": "All rooms"},
        "rooms_per_hall": {"zh": "各大厅的便民服务室", "en": "Rooms per hall"},
        "rooms_too_many": {
            "zh": "该辖区有 {n} 个便民服务室：此处按大厅汇总；"
            "在上方选择一个大厅或街道，可逐个查看并录入检查。",
            "en": "The area holds {n} rooms: shown per hall here; choose a hall or a district above to list "
            "its rooms one by one and record inspections.",
        },
        "rooms_missing": {"zh": "尚缺事项", "en": "What is still missing"},
        "rooms_none_missing": {"zh": "所有便民服务室均已达标。", "en": "Every room meets the standard."},
        "rooms_building": {"zh": "在建便民服务室", "en": "Rooms under construction"},
        "rooms_none_building": {"zh": "没有在建的便民服务室。", "en": "No room is under construction."},
        "rooms_progress": {"zh": "建设进度（按月累计）", "en": "Progress (cumulative per month)"},
        "rooms_undated": {
            "zh": "{n} 个已建成的服务室缺建成日期，未计入。",
            "en": "{n} built rooms lack a built date (not charted).",
        },
        "rooms_room": {"zh": "便民服务室", "en": "Room"},
        "rooms_hall": {"zh": "所属大厅", "en": "Hall"},
        "rooms_status": {"zh": "建设状态", "en": "Status"},
        "rooms_started_on": {"zh": "开工日期", "en": "Started"},
        "rooms_built_on": {"zh": "建成日期", "en": "Built"},
        "rooms_standardized_on": {"zh": "标准化日期", "en": "Standardized"},
        "rooms_inspected_on": {"zh": "检查日期", "en": "Inspected"},
        "rooms_duty_staff": {"zh": "值班人员", "en": "Duty staff"},
        "rooms_published": {"zh": "已公开", "en": "Published"},
        "rooms_funding": {"zh": "资金（元）", "en": "Funding (yuan)"},
        "rooms_lacks": {"zh": "尚缺", "en": "Missing"},
        "rooms_not_built": {"zh": "尚未建成", "en": "not built yet"},
        "rooms_not_inspected": {"zh": "尚未检查", "en": "not inspected yet"},
        "rooms_no_duty": {"zh": "没有已公开的值班人员", "en": "no duty staff published"},
        "rooms_record": {"zh": "录入标准化检查", "en": "Record an inspection"},
        "rooms_inspector": {"zh": "检查人", "en": "Inspector"},
        "rooms_notes": {"zh": "备注", "en": "Notes"},
        "rooms_save": {"zh": "保存", "en": "Save"},
        "rooms_change": {"zh": "变更建设状态", "en": "Change the construction status"},
        "rooms_new_status": {"zh": "新状态", "en": "New status"},
        "rooms_status_date": {"zh": "日期（开工/建成/标准化）", "en": "Date (started, built, standardized)"},
        "rooms_status_help": {
            "zh": "退回较早状态会清除其后的日期。",
            "en": "Going back clears the later dates.",
        },
        "rooms_need_date": {"zh": "“{status}”需要填写日期。", "en": "“{status}” needs a date."},
        "rooms_future": {"zh": "日期不能晚于今天。", "en": "The date cannot be in the future."},
        "rooms_too_early": {
            "zh": "日期不能早于{what}（{day}）。",
            "en": "The date precedes “{what}” ({day}).",
        },
        "rooms_not_built_yet": {"zh": "尚未建成，不能标准化。", "en": "Not built yet: cannot standardize."},
        "rooms_checks_needed": {
            "zh": "最近一次检查未通过全部六项，不能标准化。",
            "en": "The latest inspection did not pass all six checks: cannot standardize.",
        },
        "rooms_need_inspector": {"zh": "请填写检查人。", "en": "Enter the inspector."},
        "rooms_need_day": {"zh": "请填写检查日期。", "en": "Enter the inspection date."},
        "rooms_inspection_saved": {"zh": "已录入 {room} 的检查。", "en": "Inspection of {room} recorded."},
        "rooms_status_saved": {"zh": "{room} 已变更为“{status}”。", "en": "{room} is now “{status}”."},
    }
)

CHECKS = {
    "fixedPlace": {"zh": "统一阵地", "en": "Fixed place"},
    "orgChart": {"zh": "组织架构", "en": "Organization chart"},
    "officeEquipment": {"zh": "办公设备", "en": "Office equipment"},
    "itemsAndStaff": {"zh": "事项及人员", "en": "Items and staff"},
    "rules": {"zh": "规章制度", "en": "Rules"},
    "dutyStaffPublished": {"zh": "值班人员信息公开", "en": "Duty staff published"},
}
BUILT = ("BUILT", "STANDARDIZED")
DATES = ("constructionStartedOn", "builtOn", "standardizedOn")  # set on entering each status after PLANNED
# The rooms of the area chosen (the caller's by default): listed one by one with their inspection,
# duty staff and funding up to SANJI_UI_ROOM_LIST rooms (a district holds about 250); a larger
# area (a province's 25,000) shows its figures per hall from aggregates, to open one of them.
ROOM_LIST = 1000
IN_AREA = "tier: {eq: ROOM}, within: $area"
ROOMS = f"""query($area: ID, $after: String) {{ page: organizations(first: 500, after: $after,
    where: {{{IN_AREA}}}, orderBy: [{{code: ASC}}]) {{
  totalCount pageInfo {{ hasNextPage endCursor }}
  nodes {{ id code name constructionStatus constructionStartedOn builtOn standardizedOn parent {{ name }}
    inspections(first: 1, orderBy: [{{inspectedOn: DESC}}, {{createdAt: DESC}}]) {{
      nodes {{ inspectedOn inspectorName {" ".join(CHECKS)} }} }} }} }} }}"""
DUTY = f"""query($area: ID, $after: String) {{ page: dutyShifts(first: 500, after: $after,
    where: {{organization: {{{IN_AREA}}}}}) {{
  totalCount pageInfo {{ hasNextPage endCursor }}
  nodes {{ publishedAt organization {{ id }} staff {{ id }} }} }} }}"""
FUNDING = f"""query($area: ID) {{ fundingsAggregate(where: {{organization: {{{IN_AREA}}}}},
    groupBy: [{{organizationCode: true}}], first: 10000) {{
    groups {{ keys {{ organizationCode }} sum {{ amountFen }} }} }} }}"""
# The area's figures, whatever its size: rooms per status (their sum: the area's rooms), built and
# standardized per month, built rooms without a built date, and per hall and status.
FIGURES = f"""query($area: ID) {{
  statuses: organizationsAggregate(where: {{{IN_AREA}}}, groupBy: [{{constructionStatus: true}}]) {{
    groups {{ keys {{ constructionStatus }} count }} }}
  built: organizationsAggregate(where: {{{IN_AREA}, builtOn: {{isNull: false}}}},
    groupBy: [{{builtOn: MONTH}}]) {{ groups {{ keys {{ builtOn }} count }} }}
  standardized: organizationsAggregate(where: {{{IN_AREA}, standardizedOn: {{isNull: false}}}},
    groupBy: [{{standardizedOn: MONTH}}]) {{ groups {{ keys {{ standardizedOn }} count }} }}
  undated: organizationsAggregate(where: {{{IN_AREA}, constructionStatus: {{in: [BUILT, STANDARDIZED]}},
    builtOn: {{isNull: true}}}}) {{ count }}
  halls: organizationsAggregate(where: {{{IN_AREA}}}, first: 10000,
    groupBy: [{{parentCode: true}}, {{parentName: true}}, {{constructionStatus: true}}],
    orderBy: [{{parentCode: ASC}}]) {{
    groups {{ keys {{ parentCode parentName constructionStatus }} count }} }} }}"""
INSPECT = """mutation($input: CreateRoomInspectionInput!) { createRoomInspection(input: $input) { id } }"""
UPDATE = """mutation($id: ID!, $input: UpdateOrganizationInput!) {
  updateOrganization(id: $id, input: $input) { id constructionStatus } }"""
FLASH = "rooms_flash"


def render() -> None:
    session.require("ADMIN", "SUPERVISOR")
    lang = session.lang()
    st.title(t("rooms_title", lang))
    session.show_flash(FLASH)
    try:
        area = pick_area("rooms_area", "ROOM", lang)
        area_id = area["id"] if area else None
        limit = env_count("SANJI_UI_ROOM_LIST", ROOM_LIST, most=10_000)  # (funding: 10,000 groups)
        figures = session.query(FIGURES, {"area": area_id})
        statuses = {g["keys"]["constructionStatus"]: g["count"] for g in figures["statuses"]["groups"]}
        count = sum(statuses.values())
        rooms = _load(area_id) if count <= limit else None
    except ApiError as error:
        session.show_error(error)
        return
    _headline(statuses, lang)
    if rooms is None:
        _per_hall(figures["halls"]["groups"], count, lang)
    else:
        st.subheader(f"{t('rooms_list', lang)} ({len(rooms)})")
        dataframe([_row(r, lang) for r in rooms], hide_index=True, key="rooms_table")
        _missing(rooms, lang)
        _building(rooms, lang)
    _progress(figures, count, lang)
    by_id = {r["id"]: r for r in rooms or ()}
    if not by_id:
        return
    left, right = st.columns(2)
    with left:
        _inspection_form(by_id, lang)
    with right:
        _status_form(by_id, lang)


def _load(area: str | None) -> list[dict]:
    rooms = every_node(ROOMS, {"area": area})
    staff: dict[str, set] = {}
    published: dict[str, set] = {}
    for shift in every_node(DUTY, {"area": area}):
        org, person = shift["organization"]["id"], (shift["staff"] or {}).get("id")
        if person is None:  # a shift nobody is on yet
            continue
        staff.setdefault(org, set()).add(person)
        if shift["publishedAt"]:
            published.setdefault(org, set()).add(person)
    funding = {
        g["keys"]["organizationCode"]: int(g["sum"]["amountFen"] or 0)
        for g in session.query(FUNDING, {"area": area})["fundingsAggregate"]["groups"]
    }
    for room in rooms:
        room["latest"] = (room.pop("inspections")["nodes"] or [None])[0]
        room["hall"] = (room.pop("parent") or {}).get("name", "")
        room["dutyStaff"] = len(staff.get(room["id"], ()))
        room["dutyPublished"] = len(published.get(room["id"], ()))
        room["fundingFen"] = funding.get(room["code"], 0)
    return rooms


def _headline(count: dict[str, int], lang: str) -> None:
    cells = st.columns(5)
    cells[0].metric(t("total", lang), sum(count.values()))
    cells[1].metric(t("built", lang), count.get("BUILT", 0) + count.get("STANDARDIZED", 0))
    cells[2].metric(t("standardized", lang), count.get("STANDARDIZED", 0))
    cells[3].metric(t("under_construction", lang), count.get("UNDER_CONSTRUCTION", 0))
    cells[4].metric(t("planned", lang), count.get("PLANNED", 0))


def _per_hall(groups: list[dict], count: int, lang: str) -> None:
    """A large area's rooms per hall and status (one aggregate), to choose one of them above."""
    halls: dict[str, dict] = {}
    for g in groups:
        keys = g["keys"]
        row = halls.setdefault(
            keys["parentCode"], {"name": keys["parentName"], **dict.fromkeys(STATUS_LABELS, 0)}
        )
        row[keys["constructionStatus"]] = g["count"]
    st.subheader(f"{t('rooms_per_hall', lang)} ({len(halls)})")
    st.caption(t("rooms_too_many", lang).format(n=count))
    rows = [
        {
            t("code", lang): code,
            t("rooms_hall", lang): shown(row["name"]),
            t("total", lang): sum(row[s] for s in STATUS_LABELS),
            **{status_label(s, lang): row[s] for s in STATUS_LABELS},
        }
        for code, row in halls.items()
    ]
    dataframe(rows, hide_index=True, key="rooms_halls_table")


def _mark(value: bool | None) -> str:
    return MISSING if value is None else ("✓" if value else "✗")


def _yuan(fen: int) -> str:
    yuan, rest = divmod(fen, 100)
    return f"{yuan:,}.{rest:02d}"


def _row(room: dict, lang: str) -> dict[str, Any]:
    latest = room["latest"] or {}
    return {
        t("code", lang): room["code"],
        t("rooms_room", lang): room["name"],
        t("rooms_hall", lang): shown(room["hall"]),
        t("rooms_status", lang): status_label(room["constructionStatus"], lang),
        t("rooms_started_on", lang): shown(room["constructionStartedOn"]),
        t("rooms_built_on", lang): shown(room["builtOn"]),
        t("rooms_standardized_on", lang): shown(room["standardizedOn"]),
        t("rooms_inspected_on", lang): shown(latest.get("inspectedOn")),
        **{label[lang]: _mark(latest.get(check)) for check, label in CHECKS.items()},
        t("rooms_duty_staff", lang): room["dutyStaff"],
        t("rooms_published", lang): room["dutyPublished"],
        t("rooms_funding", lang): _yuan(room["fundingFen"]),
    }


def lacks(room: dict, lang: str) -> list[str]:
    """What keeps a room from being a built, inspected, fully standardized room with published duty staff."""
    out = [] if room["constructionStatus"] in BUILT else [t("rooms_not_built", lang)]
    latest = room["latest"]
    if latest is None:
        out.append(t("rooms_not_inspected", lang))
    else:
        out += [label[lang] for check, label in CHECKS.items() if not latest[check]]
    if not room["dutyPublished"]:
        out.append(t("rooms_no_duty", lang))
    return out


def _missing(rooms: list[dict], lang: str) -> None:
    rows = [
        {
            t("rooms_room", lang): r["name"],
            t("rooms_hall", lang): shown(r["hall"]),
            t("rooms_status", lang): status_label(r["constructionStatus"], lang),
            t("rooms_lacks", lang): "、".join(missing) if lang == "zh" else "; ".join(missing),
        }
        for r in rooms
        if (missing := lacks(r, lang))
    ]
    st.subheader(f"{t('rooms_missing', lang)} ({len(rows)})")
    if rows:
        dataframe(rows, hide_index=True, key="rooms_missing_table")
    else:
        st.success(t("rooms_none_missing", lang))


def _building(rooms: list[dict], lang: str) -> None:
    building = [r for r in rooms if r["constructionStatus"] == "UNDER_CONSTRUCTION"]
    st.subheader(f"{t('rooms_building', lang)} ({len(building)})")
    if not building:
        st.info(t("rooms_none_building", lang))
        return
    dataframe(
        [
            {
                t("code", lang): r["code"],
                t("rooms_room", lang): r["name"],
                t("rooms_hall", lang): shown(r["hall"]),
                t("rooms_started_on", lang): shown(r["constructionStartedOn"]),
            }
            for r in building
        ],
        hide_index=True,
        key="rooms_building_table",
    )


def progress(built: dict[str, int], standardized: dict[str, int]) -> tuple[list[str], list[int], list[int]]:
    """Months ("YYYY-MM") from the first built date to the last event, with rooms built and
    standardized by the end of each, from the rooms built and standardized in each month."""
    if not built and not standardized:
        return [], [], []
    seen = [*built, *standardized]
    first, last = min(seen), max(seen)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while (key := f"{year:04d}-{month:02d}") <= last:
        months.append(key)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return (
        months,
        [sum(n for b, n in built.items() if b <= m) for m in months],
        [sum(n for s, n in standardized.items() if s <= m) for m in months],
    )


def _per_month(groups: list[dict], key: str) -> dict[str, int]:
    return {g["keys"][key][:7]: g["count"] for g in groups}


def _progress(figures: dict, total: int, lang: str) -> None:
    st.subheader(t("rooms_progress", lang))
    months, built, standardized = progress(
        _per_month(figures["built"]["groups"], "builtOn"),
        _per_month(figures["standardized"]["groups"], "standardizedOn"),
    )
    figure = go.Figure(
        [
            go.Scatter(x=months, y=built, mode="lines+markers", name=t("built", lang)),
            go.Scatter(x=months, y=standardized, mode="lines+markers", name=t("standardized", lang)),
        ]
    )
    # The total's label at the line's left end: the toolbar shows over the chart's top right corner.
    figure.add_hline(
        y=total,
        line_dash="dot",
        annotation_text=f"{t('total', lang)} {total}",
        annotation_position="top left",
    )
    st.plotly_chart(laid_out(figure, 340, xaxis={"type": "category"}), key="rooms_progress_chart")
    undated = figures["undated"]["count"]
    if undated:
        st.caption(t("rooms_undated", lang).format(n=undated))


def _room_picker(by_id: dict[str, dict], key: str, lang: str) -> None:
    st.selectbox(
        t("rooms_room", lang),
        list(by_id),
        format_func=lambda i: f"{by_id[i]['name']} · {shown(by_id[i]['hall'])}",
        placeholder=t("choose_one", lang),
        key=key,
    )


def _inspection_form(by_id: dict[str, dict], lang: str) -> None:
    st.subheader(t("rooms_record", lang))
    with st.form("rooms_inspection_form"):
        _room_picker(by_id, "rooms_inspect_room", lang)
        for check, label in CHECKS.items():
            st.checkbox(label[lang], key=f"rooms_check_{check}")
        st.date_input(
            t("rooms_inspected_on", lang),
            value=district_today(),
            format="YYYY-MM-DD",
            key="rooms_inspected_on",
        )
        st.text_input(t("rooms_inspector", lang), key="rooms_inspector")
        st.text_area(t("rooms_notes", lang), key="rooms_notes")
        st.form_submit_button(
            t("rooms_save", lang), key="rooms_inspect_submit", on_click=_record, args=(by_id, lang)
        )


def _record(by_id: dict[str, dict], lang: str) -> None:
    state = st.session_state
    room, day = by_id[state["rooms_inspect_room"]], state["rooms_inspected_on"]
    inspector = state["rooms_inspector"].strip()
    problem = "rooms_need_inspector" if not inspector else "rooms_need_day" if day is None else None
    if problem is None and day > district_today():
        problem = "rooms_future"
    if problem:
        state[FLASH] = ("warning", t(problem, lang))
        return
    data = {
        "organizationId": room["id"],
        "inspectedOn": day.isoformat(),
        "inspectorName": inspector,
        "notes": state["rooms_notes"].strip(),
        **{check: bool(state[f"rooms_check_{check}"]) for check in CHECKS},
    }
    session.write(
        FLASH, INSPECT, {"input": data}, t("rooms_inspection_saved", lang).format(room=room["name"])
    )


def _status_form(by_id: dict[str, dict], lang: str) -> None:
    st.subheader(t("rooms_change", lang))
    with st.form("rooms_status_form"):
        _room_picker(by_id, "rooms_status_room", lang)
        st.selectbox(
            t("rooms_new_status", lang),
            list(STATUS_LABELS),
            format_func=lambda s: status_label(s, lang),
            placeholder=t("choose_one", lang),
            key="rooms_new_status",
        )
        st.date_input(t("rooms_status_date", lang), value=None, format="YYYY-MM-DD", key="rooms_status_date")
        st.caption(t("rooms_status_help", lang))
        st.form_submit_button(
            t("rooms_save", lang), key="rooms_status_submit", on_click=_change, args=(by_id, lang)
        )


def status_problem(room: dict, status: str, day: dt.date | None, lang: str, today: dt.date) -> str | None:
    """Why this change may not be made, on the page, before the API is asked; None when it may."""
    if status == "PLANNED":
        return None
    if day is None:
        return t("rooms_need_date", lang).format(status=status_label(status, lang))
    if day > today:
        return t("rooms_future", lang)
    started, built = room["constructionStartedOn"], room["builtOn"]
    if status == "BUILT" and started and day < dt.date.fromisoformat(started):
        return t("rooms_too_early", lang).format(what=t("rooms_started_on", lang), day=started)
    if status == "STANDARDIZED":
        if room["constructionStatus"] not in BUILT or not built:
            return t("rooms_not_built_yet", lang)
        if day < dt.date.fromisoformat(built):
            return t("rooms_too_early", lang).format(what=t("rooms_built_on", lang), day=built)
        latest = room["latest"]
        if latest is None or not all(latest[check] for check in CHECKS):
            return t("rooms_checks_needed", lang)
    return None


def status_input(status: str, day: dt.date | None) -> dict[str, Any]:
    """The organization fields for a status: its own date set, the dates of later stages cleared."""
    stage = list(STATUS_LABELS).index(status)  # PLANNED 0 … STANDARDIZED 3
    later = DATES[max(stage - 1, 0) :]
    data = {"constructionStatus": status, **dict.fromkeys(later)}
    if stage:
        data[later[0]] = day.isoformat() if day else None
    return data


def _change(by_id: dict[str, dict], lang: str) -> None:
    state = st.session_state
    room = by_id[state["rooms_status_room"]]
    status, day = state["rooms_new_status"], state["rooms_status_date"]
    problem = status_problem(room, status, day, lang, district_today())
    if problem:
        state[FLASH] = ("warning", problem)
        return
    done = t("rooms_status_saved", lang).format(room=room["name"], status=status_label(status, lang))
    session.write(FLASH, UPDATE, {"id": room["id"], "input": status_input(status, day)}, done)


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
