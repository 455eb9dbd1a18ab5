"""办件统计 Service dashboard: 办结率, 限时办结率, overdue and due-soon cases, trips saved,
satisfaction, by tier / organization / item / month, with a case's timeline on demand."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.charts import laid_out
from admin_ui.formatting import MISSING, dataframe, due_date, local_time, percent, shown
from admin_ui.i18n import CASE_ACTION_LABELS, CASE_STATUS_LABELS, add, label, t, tier_label

add(
    {
        "dashboard": {"zh": "办件统计", "en": "Service dashboard"},
        "period_from": {"zh": "受理日期自", "en": "Accepted from"},
        "period_to": {"zh": "至", "en": "to"},
        "group_by": {"zh": "统计维度", "en": "Rows per"},
        "accepted": {"zh": "受理", "en": "Accepted"},
        "completed": {"zh": "办结", "en": "Completed"},
        "completion_rate": {"zh": "办结率", "en": "Completion rate"},
        "on_time_rate": {"zh": "限时办结率", "en": "On-time rate"},
        "overdue": {"zh": "超期", "en": "Overdue"},
        "due_soon": {"zh": "即将到期", "en": "Due soon"},
        "trips_saved": {"zh": "少跑次数", "en": "Trips saved"},
        "avg_days": {"zh": "平均用时（工作日）", "en": "Average working days"},
        "satisfaction": {"zh": "满意率", "en": "Satisfaction"},
        "overdue_cases": {"zh": "超期及即将到期办件", "en": "Overdue and soon-due cases"},
        "none_overdue": {"zh": "当前没有超期或即将到期的办件。", "en": "No case is overdue or due soon."},
        "no_stats": {"zh": "所选期间没有受理的办件。", "en": "No case was accepted in this period."},
        "no_cases": {"zh": "没有符合条件的办件。", "en": "No case matches."},
        "timeline": {"zh": "办理过程", "en": "Timeline"},
        "case_number": {"zh": "办件编号", "en": "Case number"},
        "case_item": {"zh": "事项", "en": "Item"},
        "case_handler": {"zh": "承办单位", "en": "Handled by"},
        "case_status": {"zh": "状态", "en": "State"},
        "case_submitted": {"zh": "申请时间", "en": "Submitted"},
        "case_due": {"zh": "承诺办结日", "en": "Promised by"},
        "case_late": {"zh": "情况", "en": "Status"},
        "recent_cases": {"zh": "办件查询", "en": "Cases"},
        "recent_count": {
            "zh": "共 {n} 件，显示最近申请的 {shown} 件。",
            "en": "{n} cases; the {shown} submitted last are shown.",
        },
        "pick_hint": {
            "zh": "点击表格中的一行，查看该办件的办理过程。",
            "en": "Click a row to see that case's timeline.",
        },
        "any_status": {"zh": "全部状态", "en": "Any state"},
        "event_time": {"zh": "时间（北京时间）", "en": "Time (Beijing)"},
        "event_step": {"zh": "环节", "en": "Step"},
        "event_state": {"zh": "办理后状态", "en": "State after"},
        "event_where": {"zh": "办理单位", "en": "Where"},
        "event_who": {"zh": "经办人", "en": "By"},
        "event_comment": {"zh": "意见", "en": "Comment"},
        "no_case": {
            "zh": "没有这个编号的办件（或不在您的范围内）。",
            "en": "No such case in your area.",
        },
        "basis": {
            "zh": "按受理日期统计：办结率 = 办结 ÷ 受理；限时办结率 = 按承诺时限办结 ÷ 办结。",
            "en": "By acceptance date: completion = completed ÷ accepted; "
            "on time = completed by the promised date ÷ completed.",
        },
    }
)

DIMENSIONS = {
    "TIER": {"zh": "层级", "en": "Tier"},
    "ORGANIZATION": {"zh": "承办单位", "en": "Organization"},
    "ITEM": {"zh": "事项", "en": "Item"},
    "TAG": {"zh": "三办标签", "en": "三办 tag"},
    "MONTH": {"zh": "月份", "en": "Month"},
}
FIGURES = """key label accepted completed completedOnTime completionRate onTimeRate overdue dueSoon
             tripsSaved averageWorkingDays"""
STATS = f"""query($by: StatsDimension!, $from: Date, $to: Date) {{
  total: serviceStats(from: $from, to: $to) {{ {FIGURES} }}
  rows: serviceStats(by: $by, from: $from, to: $to) {{ {FIGURES} }}
  ratings: ratingStats(from: $from, to: $to) {{ ratings satisfactionRate }}
}}"""
CASE = """id number status submittedAt promisedDueDate dueDatesEstimated item { name }
  handlingOrganization { name }"""
OVERDUE = f"""{{
  overdue: overdueCases(first: 100) {{ {CASE} }}
  soon: overdueCases(dueWithinDays: 3, first: 100) {{ {CASE} }}
}}"""
RECENT = f"""query($where: CaseWhere) {{
  cases(first: 50, where: $where, orderBy: [{{submittedAt: DESC}}, {{number: DESC}}]) {{
    totalCount nodes {{ {CASE} }} }} }}"""
TIMELINE = """query($number: String!) { cases(where: {number: {eq: $number}}, first: 1) { nodes {
  number status promisedDueDate dueDatesEstimated item { name }
  events(orderBy: [{occurredAt: ASC}]) {
    nodes { action toStatus actorName occurredAt comment organization { name } } }
} } }"""
PICKED = "dashboard_picked"  # the case number a table row click chose, until another click


def render() -> None:
    session.require("ADMIN", "SUPERVISOR", "CLERK", "AGENT")
    lang = session.lang()
    st.title(t("dashboard", lang))
    left, middle, right = st.columns(3)
    start = left.date_input(t("period_from", lang), value=None, format="YYYY-MM-DD", key="from")
    end = middle.date_input(t("period_to", lang), value=None, format="YYYY-MM-DD", key="to")
    by = right.selectbox(
        t("group_by", lang),
        list(DIMENSIONS),
        format_func=lambda d: DIMENSIONS[d][lang],
        placeholder=t("choose_one", lang),
        key="by",
    )
    variables = {"by": by, "from": _iso(start), "to": _iso(end)}
    try:
        with st.spinner("…"):
            data = session.query(STATS, variables)
            late = session.query(OVERDUE)
    except ApiError as error:
        session.show_error(error)
        return
    (total,) = data["total"] or [None]
    _headline(total, data["ratings"], lang)
    st.caption(t("basis", lang))
    _by_dimension(data["rows"], by, lang)
    _overdue(late, lang)
    _recent(lang)
    _timeline(lang)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _headline(total: dict | None, ratings: list[dict], lang: str) -> None:
    total = total or {}
    cells = st.columns(6)
    cells[0].metric(t("accepted", lang), total.get("accepted", 0))
    cells[1].metric(t("completion_rate", lang), percent(total.get("completionRate")))
    cells[2].metric(t("on_time_rate", lang), percent(total.get("onTimeRate")))
    cells[3].metric(t("overdue", lang), total.get("overdue", 0))
    cells[4].metric(t("trips_saved", lang), total.get("tripsSaved", 0))
    satisfaction = ratings[0]["satisfactionRate"] if ratings else None
    cells[5].metric(t("satisfaction", lang), percent(satisfaction))


def _label(row: dict, by: str, lang: str) -> str:
    if by == "TIER" and row["key"]:
        return tier_label(row["key"], lang)
    return row["label"] or row["key"] or MISSING


def _by_dimension(rows: list[dict], by: str, lang: str) -> None:
    if not rows:
        st.info(t("no_stats", lang))
        return
    table = [
        {
            DIMENSIONS[by][lang]: _label(r, by, lang),
            t("accepted", lang): r["accepted"],
            t("completed", lang): r["completed"],
            t("completion_rate", lang): percent(r["completionRate"]),
            t("on_time_rate", lang): percent(r["onTimeRate"]),
            t("overdue", lang): r["overdue"],
            t("due_soon", lang): r["dueSoon"],
            t("avg_days", lang): None
            if r["averageWorkingDays"] is None
            else round(r["averageWorkingDays"], 2),
            t("trips_saved", lang): r["tripsSaved"],
        }
        for r in rows
    ]
    figure = go.Figure(
        [
            go.Bar(
                name=t("accepted", lang),
                x=[_label(r, by, lang) for r in rows],
                y=[r["accepted"] for r in rows],
            ),
            go.Bar(
                name=t("completed", lang),
                x=[_label(r, by, lang) for r in rows],
                y=[r["completed"] for r in rows],
            ),
        ]
    )
    st.plotly_chart(laid_out(figure, 360, barmode="group"), key="by_dimension")
    dataframe(table, hide_index=True)


def _overdue(late: dict, lang: str) -> None:
    st.subheader(t("overdue_cases", lang))
    rows = [(t("overdue", lang), c) for c in late["overdue"]] + [
        (t("due_soon", lang), c) for c in late["soon"]
    ]
    if not rows:
        st.info(t("none_overdue", lang))
        return
    _case_table([c for _, c in rows], lang, "overdue_table", [kind for kind, _ in rows])


def _recent(lang: str) -> None:
    st.subheader(t("recent_cases", lang))
    left, right = st.columns(2)
    text = left.text_input(t("case_number", lang), key="recent_number").strip()
    status = right.selectbox(
        t("case_status", lang),
        [None, *CASE_STATUS_LABELS],
        format_func=lambda s: t("any_status", lang) if s is None else label(CASE_STATUS_LABELS, s, lang),
        placeholder=t("choose_one", lang),
        key="recent_status",
    )
    where: dict = {}
    if text:
        where["number"] = {"contains": text}
    if status:
        where["status"] = {"eq": status}
    try:
        found = session.query(RECENT, {"where": where})["cases"]
    except ApiError as error:
        session.show_error(error)
        return
    st.caption(t("recent_count", lang).format(n=found["totalCount"], shown=len(found["nodes"])))
    _case_table(found["nodes"], lang, "recent_table")


def _case_table(cases: list[dict], lang: str, key: str, kinds: list[str] | None = None) -> None:
    """Cases as a table; clicking a row opens that case's timeline below."""
    if not cases:
        st.info(t("no_cases", lang))
        return
    st.caption(t("pick_hint", lang))
    rows = [
        {
            **({t("case_late", lang): kinds[n]} if kinds else {}),
            t("case_number", lang): c["number"],
            t("case_item", lang): c["item"]["name"],
            t("case_handler", lang): c["handlingOrganization"]["name"],
            t("case_status", lang): label(CASE_STATUS_LABELS, c["status"], lang),
            t("case_submitted", lang): local_time(c["submittedAt"]),
            t("case_due", lang): due_date(c["promisedDueDate"], c["dueDatesEstimated"], lang),
        }
        for n, c in enumerate(cases)
    ]
    event = dataframe(rows, hide_index=True, key=key, on_select="rerun", selection_mode="single-row")
    # A click changes the selection; its row index refers to the rows the browser showed, which
    # are those of the previous run (the list may have changed since). A selection carried over
    # to other rows (a filter changed) opens nothing.
    shown = [c["number"] for c in cases]
    picked = list(event.selection.rows)
    before = st.session_state.get(f"{key}_seen")
    st.session_state[f"{key}_seen"] = (shown, picked)
    if before is not None and picked and picked != before[1] and picked[0] < len(before[0]):
        st.session_state[PICKED] = before[0][picked[0]]


def _timeline(lang: str) -> None:
    st.subheader(t("timeline", lang))
    number = st.session_state.get(PICKED)
    if not number:
        return
    try:
        found = session.query(TIMELINE, {"number": number})["cases"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    if not found:
        st.warning(t("no_case", lang))
        return
    case = found[0]
    st.markdown(
        f"**{case['number']}** · {case['item']['name']} · {label(CASE_STATUS_LABELS, case['status'], lang)}"
        f" · {t('case_due', lang)} {due_date(case['promisedDueDate'], case['dueDatesEstimated'], lang)}"
    )
    dataframe(
        [
            {
                t("event_time", lang): local_time(e["occurredAt"]),
                t("event_step", lang): label(CASE_ACTION_LABELS, e["action"], lang),
                t("event_state", lang): label(CASE_STATUS_LABELS, e["toStatus"], lang)
                if e["toStatus"]
                else MISSING,
                t("event_where", lang): e["organization"]["name"],
                t("event_who", lang): shown(e["actorName"]),
                t("event_comment", lang): shown(e["comment"]),
            }
            for e in case["events"]["nodes"]
        ],
        hide_index=True,
    )


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
