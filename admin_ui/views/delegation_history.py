"""The item delegation page's history: the latest changes to item assignments from the audit log,
each naming the item, the organization and the power, and whether it assigned, changed or revoked."""

from __future__ import annotations

import base64
import binascii

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.i18n import add, label, t

add(
    {
        "dg_history": {"zh": "变更记录（最近 50 条）", "en": "History (latest 50)"},
        "dg_when": {"zh": "时间", "en": "When"},
        "dg_who": {"zh": "操作人", "en": "Who"},
        "dg_action": {"zh": "操作", "en": "Action"},
        "dg_what": {"zh": "对象", "en": "What"},
    }
)
ACTIONS = {
    "CREATE": {"zh": "新增", "en": "Assigned"},
    "UPDATE": {"zh": "修改", "en": "Changed"},
    "REVOKE": {"zh": "撤销", "en": "Revoked"},  # an update that ended the assignment
    "DELETE": {"zh": "删除", "en": "Deleted"},
}
HISTORY = """{ auditEntries(where: {objectType: {eq: "ItemAssignment"}}, orderBy: [{occurredAt: DESC}],
  first: 50) { nodes { occurredAt action actorName actorRole actorUserId objectId before after } } }"""


def render(data: dict, lang: str) -> None:
    """`data` holds the page's items and organizations, to name the objects by their codes."""
    st.subheader(t("dg_history", lang))
    try:
        entries = session.query(HISTORY)["auditEntries"]["nodes"]
    except ApiError as error:
        session.show_error(error)
        return
    codes = {_pk(x["id"]): x["code"] for x in (*data["items"], *data["organizations"])}

    def what(entry: dict) -> str:  # item @ organization · power
        row = entry["after"] or entry["before"] or {}
        item = codes.get(("Item", row.get("item_id")), "?")
        org = codes.get(("Organization", row.get("organization_id")), "?")
        return f"#{entry['objectId']} {item} @ {org} · {row.get('power')}"

    st.dataframe(
        [
            {
                t("dg_when", lang): e["occurredAt"],
                t("dg_who", lang): e["actorName"] or f"{e['actorRole']} #{e['actorUserId']}",
                t("dg_action", lang): label(ACTIONS, _action(e), lang),
                t("dg_what", lang): what(e),
            }
            for e in entries
        ],
        hide_index=True,
        key="dg_history_table",
    )


def _action(entry: dict) -> str:
    before, after = entry["before"] or {}, entry["after"] or {}
    if entry["action"] == "UPDATE" and before.get("active") and not after.get("active"):
        return "REVOKE"
    return entry["action"]


def _pk(global_id: str) -> tuple[str, int] | str:
    """("Item", 7) for the Relay id of Item 7, to name the objects of the audit log."""
    try:
        kind, number = base64.b64decode(global_id).decode().rsplit(":", 1)
        return kind, int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return global_id
