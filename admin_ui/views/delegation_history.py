"""The item delegation page's history: the latest changes to item assignments from the audit log,
each naming the item, the organization and the power, whether it assigned, changed or revoked, who
did it and when (the district's time)."""

from __future__ import annotations

import base64
import binascii

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import MISSING, dataframe, local_time
from admin_ui.i18n import POWER_LABELS, add, label, role_label, t
from schema.generator.ids import to_global_id

add(
    {
        "dg_history": {"zh": "变更记录（最近 50 条）", "en": "History (latest 50)"},
        "dg_when": {"zh": "时间", "en": "When"},
        "dg_who": {"zh": "操作人", "en": "Who"},
        "dg_action": {"zh": "操作", "en": "Action"},
        "dg_what": {"zh": "对象", "en": "What"},
        "dg_key": {"zh": "接口密钥 {prefix}…", "en": "API key {prefix}…"},
        "dg_user": {"zh": "用户 {id}", "en": "user {id}"},
        "dg_no_history": {"zh": "还没有变更记录。", "en": "No change recorded yet."},
    }
)
ACTIONS = {
    "CREATE": {"zh": "新增", "en": "Assigned"},
    "UPDATE": {"zh": "修改", "en": "Changed"},
    "REVOKE": {"zh": "撤销", "en": "Revoked"},  # an update that ended the assignment
    "DELETE": {"zh": "删除", "en": "Deleted"},
}
HISTORY = """{ auditEntries(where: {objectType: {eq: "ItemAssignment"}}, orderBy: [{occurredAt: DESC}],
  first: 50) { nodes { occurredAt action actorName actorRole actorUserId apiKeyPrefix before after } } }"""
NAMES = """query($ids: [ID!]) { organizations(first: 500, where: {id: {in: $ids}}) { nodes { id name } } }"""
# A write records its user's id, not the name; a sign-in records both. The API has no list of users
# (nor a name on a write's entry), so the names come from the sign-ins of the same audit log.
USERNAMES = """query($ids: [Int!]) { auditEntriesAggregate(
  where: {action: {eq: SIGN_IN}, actorUserId: {in: $ids}},
  groupBy: [{actorUserId: true}, {actorName: true}]) { groups { keys { actorUserId actorName } } } }"""


def render(catalogue: list[dict], lang: str) -> None:
    """`catalogue`: every item, to name the objects of the log; the organizations it names are
    asked for by id (a province's are too many to hold)."""
    st.subheader(t("dg_history", lang))
    try:
        entries = session.query(HISTORY)["auditEntries"]["nodes"]
        ids = sorted({e["actorUserId"] for e in entries if e["actorUserId"] is not None})
        groups = session.query(USERNAMES, {"ids": ids})["auditEntriesAggregate"]["groups"] if ids else []
        rows = [e["after"] or e["before"] or {} for e in entries]
        named = sorted({row["organization_id"] for row in rows if row.get("organization_id")})
        found = (
            session.query(NAMES, {"ids": [to_global_id("Organization", o) for o in named]}) if named else None
        )
    except ApiError as error:
        session.show_error(error)
        return
    if not entries:
        st.info(t("dg_no_history", lang))
        return
    usernames = {g["keys"]["actorUserId"]: g["keys"]["actorName"] for g in groups}
    items = {_pk(x["id"]): f"{x['code']} {x['name']}" for x in catalogue}
    organizations = {_pk(x["id"]): x["name"] for x in (found["organizations"]["nodes"] if found else [])}

    def what(entry: dict) -> str:  # item @ organization · power
        row = entry["after"] or entry["before"] or {}
        item = items.get(("Item", row.get("item_id")), MISSING)
        org = organizations.get(("Organization", row.get("organization_id")), MISSING)
        return f"{item} @ {org} · {label(POWER_LABELS, row.get('power') or MISSING, lang)}"

    dataframe(
        [
            {
                t("dg_when", lang): local_time(e["occurredAt"]),
                t("dg_who", lang): who(e, usernames, lang),
                t("dg_action", lang): label(ACTIONS, _action(e), lang),
                t("dg_what", lang): what(e),
            }
            for e in entries
        ],
        hide_index=True,
        key="dg_history_table",
    )


def who(entry: dict, usernames: dict[int, str], lang: str) -> str:
    """The person by the name they sign in with, and their role: admin（管理员）; an API key by its
    prefix; a user with no sign-in in the log as "user 7", so a role never stands for a person."""
    user, role = entry["actorUserId"], role_label(entry["actorRole"], lang) if entry["actorRole"] else ""
    if user is not None:
        name = usernames.get(user) or t("dg_user", lang).format(id=user)
    elif entry["apiKeyPrefix"]:
        name = t("dg_key", lang).format(prefix=entry["apiKeyPrefix"])
    else:
        name = entry["actorName"] or MISSING  # the command line, or whoever the log names
    if not role:
        return name
    return f"{name}（{role}）" if lang == "zh" else f"{name} ({role})"


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
