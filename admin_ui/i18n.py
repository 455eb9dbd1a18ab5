"""UI texts in Chinese (default) and English; enum labels live here, once."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh": "三级政务服务平台", "en": "Sanji three-tier service platform"},
    "subtitle": {
        "zh": "政务服务中心 · 便民服务大厅 · 便民服务室",
        "en": "Service center · Sub-district halls · Village/community rooms",
    },
    "coverage": {"zh": "平台覆盖率", "en": "Coverage"},
    "total": {"zh": "总数", "en": "Total"},
    "built": {"zh": "已建成", "en": "Built"},
    "standardized": {"zh": "已标准化", "en": "Standardized"},
    "under_construction": {"zh": "在建", "en": "Under construction"},
    "planned": {"zh": "规划中", "en": "Planned"},
    "rate": {"zh": "覆盖率", "en": "Rate"},
    "formula": {"zh": "计算公式", "en": "Formula"},
    "with_construction": {"zh": "含在建覆盖率", "en": "Built or under construction"},
    "api_error": {"zh": "无法从接口获取数据", "en": "Could not load data from the API"},
    "api_at": {"zh": "接口地址", "en": "API"},
    "language": {"zh": "语言", "en": "Language"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "signed_in_as": {"zh": "当前用户", "en": "Signed in as"},
    "sign_in_first": {"zh": "请先登录。", "en": "Please sign in first."},
    "sign_in_failed": {"zh": "登录失败", "en": "Sign-in failed"},
    "not_for_role": {"zh": "角色 {role} 无权使用此页面。", "en": "Role {role} may not use this page."},
    "pages": {"zh": "功能", "en": "Pages"},
    "note_rate": {
        "zh": "覆盖率 = 已建成（含已标准化）÷ 总数，由数据实时计算。",
        "en": "Rate = built (including standardized) ÷ total, computed from the data.",
    },
}

ROLE_LABELS: dict[str, dict[str, str]] = {
    "ADMIN": {"zh": "管理员", "en": "Administrator"},
    "SUPERVISOR": {"zh": "督查员", "en": "Supervisor"},
    "CLERK": {"zh": "窗口工作人员", "en": "Clerk"},
    "AGENT": {"zh": "代办员", "en": "Agent"},
    "INTEGRATOR": {"zh": "对接平台", "en": "Integrator"},
    "PUBLIC": {"zh": "公众", "en": "Public"},
}

TIER_LABELS: dict[str, dict[str, str]] = {
    "REGION": {"zh": "管理区", "en": "Region"},
    "CENTER": {"zh": "政务服务中心", "en": "Service center"},
    "HALL": {"zh": "便民服务大厅", "en": "Halls"},
    "ROOM": {"zh": "便民服务室", "en": "Rooms"},
}

STATUS_LABELS: dict[str, dict[str, str]] = {
    "PLANNED": {"zh": "规划中", "en": "Planned"},
    "UNDER_CONSTRUCTION": {"zh": "在建", "en": "Under construction"},
    "BUILT": {"zh": "已建成", "en": "Built"},
    "STANDARDIZED": {"zh": "已标准化", "en": "Standardized"},
}

ITEM_TYPE_LABELS: dict[str, dict[str, str]] = {
    "LICENSING": {"zh": "行政许可", "en": "Licensing"},
    "PUNISHMENT": {"zh": "行政处罚", "en": "Punishment"},
    "ENFORCEMENT": {"zh": "行政强制", "en": "Enforcement"},
    "LEVY": {"zh": "行政征收", "en": "Levy"},
    "BENEFIT": {"zh": "行政给付", "en": "Benefit"},
    "INSPECTION": {"zh": "行政检查", "en": "Inspection"},
    "CONFIRMATION": {"zh": "行政确认", "en": "Confirmation"},
    "REWARD": {"zh": "行政奖励", "en": "Reward"},
    "ADJUDICATION": {"zh": "行政裁决", "en": "Adjudication"},
    "OTHER_POWER": {"zh": "其他行政权力", "en": "Other power"},
    "PUBLIC_SERVICE": {"zh": "公共服务", "en": "Public service"},
}

SOURCE_LABELS: dict[str, dict[str, str]] = {
    "DELEGATED_BY_CITY": {"zh": "市级下放", "en": "Delegated by the city"},
    "ENTRUSTED_BY_COUNTY": {"zh": "县级委托", "en": "Entrusted by the county"},
    "OWN": {"zh": "本级", "en": "Own"},
}

# 三办 tags, with the item field that carries each.
TAG_LABELS: dict[str, dict[str, str]] = {
    "IMMEDIATE": {"zh": "马上办", "en": "Immediate"},
    "ONLINE": {"zh": "网上办", "en": "Online"},
    "ONE_VISIT": {"zh": "一次办", "en": "One visit"},
}
CASE_STATUS_LABELS: dict[str, dict[str, str]] = {
    "SUBMITTED": {"zh": "已申请", "en": "Submitted"},
    "ACCEPTED": {"zh": "已受理", "en": "Accepted"},
    "REJECTED": {"zh": "不予受理", "en": "Rejected"},
    "PRE_REVIEWED": {"zh": "已初审", "en": "Pre-reviewed"},
    "SUPPLEMENT_REQUESTED": {"zh": "待补正", "en": "Awaiting papers"},
    "REVIEWED": {"zh": "已审查", "en": "Reviewed"},
    "DECIDED": {"zh": "已决定", "en": "Decided"},
    "COMPLETED": {"zh": "已办结", "en": "Completed"},
    "DELIVERED": {"zh": "已送达", "en": "Delivered"},
    "WITHDRAWN": {"zh": "已撤回", "en": "Withdrawn"},
}

CASE_ACTION_LABELS: dict[str, dict[str, str]] = {
    "SUBMIT": {"zh": "申请", "en": "Submit"},
    "ACCEPT": {"zh": "受理", "en": "Accept"},
    "REJECT": {"zh": "不予受理", "en": "Reject"},
    "PRE_REVIEW": {"zh": "初审", "en": "Pre-review"},
    "REQUEST_SUPPLEMENT": {"zh": "补正告知", "en": "Request papers"},
    "RESUME": {"zh": "补正后续办", "en": "Resume"},
    "REVIEW": {"zh": "审查", "en": "Review"},
    "DECIDE": {"zh": "决定", "en": "Decide"},
    "COMPLETE": {"zh": "办结", "en": "Complete"},
    "DELIVER": {"zh": "送达", "en": "Deliver"},
    "WITHDRAW": {"zh": "撤回", "en": "Withdraw"},
    "DISPATCH": {"zh": "专人代办送出", "en": "Carry up"},
    "RECEIVE": {"zh": "接收代办件", "en": "Receive"},
    "PROXY_DECLARE": {"zh": "代为申报", "en": "Declare for the company"},
}

TAG_FIELDS = {"IMMEDIATE": "tagImmediate", "ONLINE": "tagOnline", "ONE_VISIT": "tagOneVisit"}

LANGUAGES = {"zh": "中文", "en": "English"}


def t(key: str, lang: str) -> str:
    return TEXTS[key][lang]


def add(texts: dict[str, dict[str, str]]) -> None:
    """A page's own texts join the table (one key, one meaning: a clash is a bug)."""
    for key, value in texts.items():
        if TEXTS.setdefault(key, value) != value:
            raise ValueError(f"UI text {key!r} is defined twice with different words")


def label(table: dict[str, dict[str, str]], key: str, lang: str) -> str:
    """An enum value's label from one of the tables above (the value itself when it has none)."""
    return table.get(key, {}).get(lang, key)


def status_label(status: str, lang: str) -> str:
    return STATUS_LABELS.get(status, {}).get(lang, status)


def role_label(role: str, lang: str) -> str:
    return ROLE_LABELS.get(role, {}).get(lang, role)


def tier_label(tier: str, lang: str) -> str:
    return TIER_LABELS[tier][lang]
