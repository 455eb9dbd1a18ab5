"""事件推送 Webhooks: the endpoints that receive the area's events, their state, and the delivery log
(state, attempts, last answer and error, latency); administrators register an endpoint (its secret
shown once), disable, enable and rotate it, and send failed deliveries again."""

from __future__ import annotations

from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import MISSING, dataframe, local_time, shown
from admin_ui.i18n import add, t
from admin_ui.labels import enum_label

add(
    {
        "wh_title": {"zh": "事件推送", "en": "Webhooks"},
        "wh_intro": {
            "zh": "办件、事项下放、办事指南、建设状态和评价的变化，会签名推送到对接系统登记的地址"
            "（Standard Webhooks）。由推送进程（sanji worker）发送。",
            "en": "Changes to cases, item assignments, guides, construction status and ratings are sent, "
            "signed (Standard Webhooks), to the URLs other systems registered; the worker (sanji worker) "
            "sends them.",
        },
        "wh_endpoints": {"zh": "推送地址", "en": "Webhooks"},
        "wh_none": {"zh": "还没有登记推送地址。", "en": "No webhook is registered yet."},
        "wh_name": {"zh": "名称", "en": "Name"},
        "wh_url": {"zh": "地址", "en": "URL"},
        "wh_area": {"zh": "范围", "en": "Area"},
        "wh_events": {"zh": "事件类型", "en": "Event types"},
        "wh_state": {"zh": "状态", "en": "State"},
        "wh_active": {"zh": "启用", "en": "Active"},
        "wh_disabled": {"zh": "已停用：{reason}", "en": "Disabled: {reason}"},
        "wh_streak": {"zh": "连续失败", "en": "Failures in a row"},
        "wh_created": {"zh": "登记时间", "en": "Registered"},
        "wh_by": {"zh": "登记人", "en": "By"},
        "wh_log": {"zh": "推送记录（最近 {n} 条）", "en": "Deliveries (latest {n})"},
        "wh_no_log": {"zh": "没有符合条件的推送记录。", "en": "No delivery matches."},
        "wh_filter_endpoint": {"zh": "推送地址", "en": "Webhook"},
        "wh_filter_state": {"zh": "推送状态", "en": "State"},
        "wh_all": {"zh": "全部", "en": "All"},
        "wh_id": {"zh": "推送编号", "en": "webhook-id"},
        "wh_type": {"zh": "事件类型", "en": "Event type"},
        "wh_attempts": {"zh": "尝试次数", "en": "Attempts"},
        "wh_status": {"zh": "响应状态", "en": "HTTP status"},
        "wh_error": {"zh": "错误", "en": "Error"},
        "wh_latency": {"zh": "耗时（毫秒）", "en": "Latency (ms)"},
        "wh_queued": {"zh": "入队时间", "en": "Queued"},
        "wh_delivered": {"zh": "送达时间", "en": "Delivered"},
        "wh_next": {"zh": "下次尝试", "en": "Next attempt"},
        "wh_redeliver": {"zh": "重新推送", "en": "Send again"},
        "wh_redeliver_pick": {"zh": "选择要重新推送的记录", "en": "Deliveries to send again"},
        "wh_redelivered": {"zh": "已重新排队 {n} 条。", "en": "{n} deliveries queued again."},
        "wh_register": {"zh": "登记推送地址", "en": "Register a webhook"},
        "wh_register_button": {"zh": "登记", "en": "Register"},
        "wh_need": {"zh": "请填写名称、地址并选择事件类型。", "en": "Enter a name, a URL and event types."},
        "wh_secret": {
            "zh": "“{name}”已登记。签名密钥只显示这一次，请立即交给对接方保存：",
            "en": "“{name}” is registered. Its signing secret is shown this once: "
            "hand it to the receiver now:",
        },
        "wh_manage": {"zh": "停用、启用或更换密钥", "en": "Disable, enable or rotate"},
        "wh_pick": {"zh": "推送地址", "en": "Webhook"},
        "wh_reason": {"zh": "停用原因", "en": "Why"},
        "wh_disable": {"zh": "停用", "en": "Disable"},
        "wh_enable": {"zh": "启用", "en": "Enable"},
        "wh_rotate": {"zh": "更换签名密钥", "en": "Rotate the secret"},
        "wh_keep": {"zh": "旧密钥继续有效（小时）", "en": "Old secret kept (hours)"},
        "wh_done_disable": {"zh": "“{name}”已停用。", "en": "“{name}” is disabled."},
        "wh_done_enable": {"zh": "“{name}”已启用。", "en": "“{name}” is enabled."},
        "wh_rotated": {
            "zh": "“{name}”的新签名密钥（只显示这一次）：",
            "en": "The new signing secret of “{name}” (shown this once):",
        },
    }
)
FLASH = "wh_flash"
SECRET = "wh_secret_once"
LOG_SIZE = 100
ENDPOINTS = """{ webhooks(first: 500, orderBy: [{createdAt: ASC}]) { nodes { id name url eventTypes active
  disabledReason failureStreak createdAt createdBy organization { code name } } } }"""
DELIVERIES = """query($where: WebhookDeliveryWhere) { webhookDeliveries(where: $where,
  orderBy: [{createdAt: DESC}], first: 100) { nodes { id webhookId eventType state attempts lastStatus
  lastError latencyMs createdAt deliveredAt nextAttemptAt endpoint { id name } } } }"""
EVENT_TYPES = "{ webhookEventTypes }"
AREAS = """query($within: ID) { organizations(where: {within: $within, tier: {in: [REGION, CENTER, HALL]}},
  first: 500, orderBy: [{code: ASC}]) { nodes { id code name } } }"""
REGISTER = (
    """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { name } } }"""
)
DISABLE = """mutation($id: ID!, $reason: String!) { disableWebhook(id: $id, reason: $reason) { id } }"""
ENABLE = """mutation($id: ID!) { enableWebhook(id: $id) { id } }"""
ROTATE = (
    """mutation($id: ID!, $keep: Float!) { rotateWebhookSecret(id: $id, keepOldHours: $keep) { secret } }"""
)
REDELIVER = """mutation($ids: [ID!]!) { redeliverWebhookDeliveries(ids: $ids) { id } }"""


def render() -> None:
    session.require("ADMIN", "SUPERVISOR")
    lang = session.lang()
    st.title(t("wh_title", lang))
    st.caption(t("wh_intro", lang))
    session.show_flash(FLASH)
    once = st.session_state.pop(SECRET, None)
    if once is not None:
        st.warning(once[0])
        st.code(once[1], language=None)
    try:
        endpoints = session.query(ENDPOINTS, fresh=True)["webhooks"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    admin = session.current().role == "ADMIN"
    _endpoints(endpoints, lang)
    if endpoints:
        _log(endpoints, admin, lang)
    if admin:
        left, right = st.columns(2)
        with left:
            _register_form(lang)
        if endpoints:
            with right:
                _manage_form(endpoints, lang)


def _endpoints(endpoints: list[dict], lang: str) -> None:
    st.subheader(f"{t('wh_endpoints', lang)} ({len(endpoints)})")
    if not endpoints:
        st.info(t("wh_none", lang))
        return
    dataframe(
        [
            {
                t("wh_name", lang): e["name"],
                t("wh_url", lang): e["url"],
                t("wh_area", lang): e["organization"]["name"],
                t("wh_events", lang): e["eventTypes"],
                t("wh_state", lang): t("wh_active", lang)
                if e["active"]
                else t("wh_disabled", lang).format(reason=shown(e["disabledReason"])),
                t("wh_streak", lang): e["failureStreak"],
                t("wh_created", lang): local_time(e["createdAt"]),
                t("wh_by", lang): shown(e["createdBy"]),
            }
            for e in endpoints
        ],
        hide_index=True,
        key="wh_endpoints_table",
    )


def _log(endpoints: list[dict], admin: bool, lang: str) -> None:
    st.subheader(t("wh_log", lang).format(n=LOG_SIZE))
    names = {e["id"]: e["name"] for e in endpoints}
    left, right = st.columns(2)
    endpoint = left.selectbox(
        t("wh_filter_endpoint", lang),
        [None, *names],
        format_func=lambda key: t("wh_all", lang) if key is None else names[key],
        placeholder=t("choose_one", lang),
        key="wh_log_endpoint",
    )
    state = right.selectbox(
        t("wh_filter_state", lang),
        [None, "PENDING", "DELIVERED", "FAILED"],
        format_func=lambda key: t("wh_all", lang) if key is None else enum_label("DeliveryState", key, lang),
        placeholder=t("choose_one", lang),
        key="wh_log_state",
    )
    where: dict[str, Any] = {}
    if endpoint:
        where["endpoint"] = {"id": {"eq": endpoint}}
    if state:
        where["state"] = {"eq": state}
    try:
        rows = session.query(DELIVERIES, {"where": where}, fresh=True)["webhookDeliveries"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    if not rows:
        st.info(t("wh_no_log", lang))
        return
    dataframe([_delivery(row, lang) for row in rows], hide_index=True, key="wh_log_table")
    again = [row for row in rows if row["state"] != "PENDING"]
    if not admin or not again:
        return
    labels = {
        row["id"]: f"{row['webhookId']} · {row['eventType']} · {row['endpoint']['name']}" for row in again
    }
    with st.form("wh_redeliver_form"):
        st.multiselect(
            t("wh_redeliver_pick", lang),
            list(labels),
            format_func=labels.__getitem__,
            placeholder=t("choose_many", lang),
            key="wh_redeliver_ids",
        )
        st.form_submit_button(
            t("wh_redeliver", lang), key="wh_redeliver_submit", on_click=_redeliver, args=(lang,)
        )


def _delivery(row: dict, lang: str) -> dict[str, Any]:
    return {
        t("wh_id", lang): row["webhookId"],
        t("wh_filter_endpoint", lang): row["endpoint"]["name"],
        t("wh_type", lang): row["eventType"],
        t("wh_state", lang): enum_label("DeliveryState", row["state"], lang),
        t("wh_attempts", lang): row["attempts"],
        t("wh_status", lang): shown(row["lastStatus"]),
        t("wh_error", lang): shown(row["lastError"]),
        t("wh_latency", lang): shown(row["latencyMs"]),
        t("wh_queued", lang): local_time(row["createdAt"]),
        t("wh_delivered", lang): local_time(row["deliveredAt"]),
        t("wh_next", lang): local_time(row["nextAttemptAt"]) if row["state"] == "PENDING" else MISSING,
    }


def _redeliver(lang: str) -> None:
    ids = st.session_state.get("wh_redeliver_ids") or []
    if ids:
        session.write(FLASH, REDELIVER, {"ids": ids}, t("wh_redelivered", lang).format(n=len(ids)))


def _register_form(lang: str) -> None:
    st.subheader(t("wh_register", lang))
    try:
        types = session.query(EVENT_TYPES)["webhookEventTypes"]
        own = session.current().organization_id
        areas = session.query(AREAS, {"within": own})["organizations"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    names = {a["id"]: f"{a['code']} {a['name']}" for a in areas}
    with st.form("wh_register_form"):
        st.text_input(t("wh_name", lang), key="wh_new_name", max_chars=100)
        st.text_input(t("wh_url", lang), key="wh_new_url", placeholder="https://")
        st.multiselect(
            t("wh_events", lang), types, default=["*"], placeholder=t("choose_many", lang), key="wh_new_types"
        )
        st.selectbox(
            t("wh_area", lang),
            list(names),
            format_func=names.__getitem__,
            placeholder=t("choose_one", lang),
            key="wh_new_area",
        )
        st.form_submit_button(
            t("wh_register_button", lang), key="wh_register_submit", on_click=_register, args=(lang,)
        )


def _register(lang: str) -> None:
    state = st.session_state
    name, url, types = state["wh_new_name"].strip(), state["wh_new_url"].strip(), state["wh_new_types"]
    if not (name and url and types):
        state[FLASH] = ("warning", t("wh_need", lang))
        return
    given = {"name": name, "url": url, "eventTypes": types, "organizationId": state["wh_new_area"]}
    try:
        made = session.query(REGISTER, {"input": given})["createWebhook"]
    except ApiError as error:
        state[FLASH] = ("error", error)
        return
    state[SECRET] = (t("wh_secret", lang).format(name=made["webhook"]["name"]), made["secret"])


def _manage_form(endpoints: list[dict], lang: str) -> None:
    st.subheader(t("wh_manage", lang))
    names = {e["id"]: e["name"] for e in endpoints}
    with st.form("wh_manage_form"):
        st.selectbox(
            t("wh_pick", lang),
            list(names),
            format_func=names.__getitem__,
            placeholder=t("choose_one", lang),
            key="wh_manage_id",
        )
        st.text_input(t("wh_reason", lang), key="wh_reason", max_chars=200)
        st.number_input(t("wh_keep", lang), min_value=0.0, max_value=168.0, value=24.0, key="wh_keep_hours")
        columns = st.columns(3)
        for column, action in zip(columns, ("disable", "enable", "rotate"), strict=True):
            with column:
                st.form_submit_button(
                    t(f"wh_{action}", lang),
                    key=f"wh_{action}_submit",
                    on_click=_manage,
                    args=(action, names, lang),
                )


def _manage(action: str, names: dict[str, str], lang: str) -> None:
    state = st.session_state
    id_ = state["wh_manage_id"]
    name = names[id_]
    if action == "disable":
        reason = state["wh_reason"].strip()
        session.write(
            FLASH, DISABLE, {"id": id_, "reason": reason}, t("wh_done_disable", lang).format(name=name)
        )
    elif action == "enable":
        session.write(FLASH, ENABLE, {"id": id_}, t("wh_done_enable", lang).format(name=name))
    else:
        try:
            made = session.query(ROTATE, {"id": id_, "keep": float(state["wh_keep_hours"])})
        except ApiError as error:
            state[FLASH] = ("error", error)
            return
        state[SECRET] = (t("wh_rotated", lang).format(name=name), made["rotateWebhookSecret"]["secret"])


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
