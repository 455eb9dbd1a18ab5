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
    "code": {"zh": "编码", "en": "Code"},
    "name": {"zh": "名称", "en": "Name"},
    "choose_one": {"zh": "请选择", "en": "Choose one"},
    "choose_many": {"zh": "请选择（可多选）", "en": "Choose one or more"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
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

POWER_LABELS: dict[str, dict[str, str]] = {
    "FULL": {"zh": "全权办理", "en": "Full handling"},
    "ACCEPT_AND_PRE_REVIEW": {"zh": "受理+初审", "en": "Accept, pre-review"},
    "AGENCY_ONLY": {"zh": "代办（收件转报）", "en": "Agency only"},
}

MATERIAL_FORM_LABELS: dict[str, dict[str, str]] = {
    "ORIGINAL": {"zh": "原件", "en": "Original"},
    "COPY": {"zh": "复印件", "en": "Copy"},
    "ORIGINAL_AND_COPY": {"zh": "原件及复印件", "en": "Original and copy"},
    "ELECTRONIC": {"zh": "电子材料", "en": "Electronic"},
}

# The other enums of the API, for the data browser (each value's label, once).
OTHER_ENUM_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "Visibility": {
        "PRIVATE": {"zh": "仅自己", "en": "Private"},
        "ROLE": {"zh": "按角色共享", "en": "Shared with a role"},
        "AREA": {"zh": "本区域共享", "en": "Shared with the area"},
    },
    "Role": ROLE_LABELS,
    "OrgKind": {
        "PROVINCE": {"zh": "省", "en": "Province"},
        "DISTRICT": {"zh": "管理区", "en": "District"},
        "ADMINISTRATION": {"zh": "行政审批局", "en": "Administration"},
        "SUB_DISTRICT": {"zh": "办事处", "en": "Sub-district"},
        "TEAM": {"zh": "队", "en": "Team"},
        "VILLAGE": {"zh": "村", "en": "Village"},
        "COMMUNITY": {"zh": "社区", "en": "Community"},
    },
    "CaseKind": {
        "IMMEDIATE": {"zh": "即办件", "en": "Immediate"},
        "PROMISED": {"zh": "承诺件", "en": "Promised"},
    },
    "ApplicantType": {"PERSON": {"zh": "自然人", "en": "Person"}, "COMPANY": {"zh": "法人", "en": "Company"}},
    "Channel": {
        "COUNTER": {"zh": "窗口", "en": "Counter"},
        "ONLINE": {"zh": "网上", "en": "Online"},
        "AGENCY": {"zh": "代办", "en": "Agency"},
        "PROACTIVE_AGENCY": {"zh": "受理+代办", "en": "Proactive agency"},
    },
    "Decision": {"APPROVED": {"zh": "准予", "en": "Approved"}, "DENIED": {"zh": "不予", "en": "Denied"}},
    "FundingPurpose": {
        "HALL_CONSTRUCTION": {"zh": "大厅建设", "en": "Hall construction"},
        "REWARD_SUBSIDY": {"zh": "以奖代补", "en": "Reward for subsidy"},
        "NETWORK_PLATFORM": {"zh": "一网平台", "en": "One-network platform"},
        "OTHER": {"zh": "其他", "en": "Other"},
    },
    "DutyPeriod": {
        "FULL_DAY": {"zh": "全天", "en": "Full day"},
        "MORNING": {"zh": "上午", "en": "Morning"},
        "AFTERNOON": {"zh": "下午", "en": "Afternoon"},
    },
    "CalendarDayKind": {
        "WORKDAY": {"zh": "工作日", "en": "Workday"},
        "WEEKEND": {"zh": "周末", "en": "Weekend"},
        "HOLIDAY": {"zh": "节假日", "en": "Holiday"},
        "WORKDAY_ADJUSTED": {"zh": "调休上班", "en": "Adjusted workday (make-up)"},
    },
    "Level": {
        "VERY_SATISFIED": {"zh": "非常满意", "en": "Very satisfied"},
        "SATISFIED": {"zh": "满意", "en": "Satisfied"},
        "BASICALLY_SATISFIED": {"zh": "基本满意", "en": "Basically satisfied"},
        "DISSATISFIED": {"zh": "不满意", "en": "Dissatisfied"},
        "VERY_DISSATISFIED": {"zh": "非常不满意", "en": "Very dissatisfied"},
    },
    "CalendarSource": {
        "PACKAGE": {"zh": "日历软件包", "en": "Calendar package"},
        "ADMIN": {"zh": "管理员更正", "en": "Administrator"},
        "IMPORT": {"zh": "导入通知", "en": "Imported notice"},
    },
    "AuditAction": {
        "CREATE": {"zh": "新增", "en": "Create"},
        "UPDATE": {"zh": "修改", "en": "Update"},
        "DELETE": {"zh": "删除", "en": "Delete"},
        "SIGN_IN": {"zh": "登录", "en": "Sign-in"},
        "SIGN_IN_FAILED": {"zh": "登录失败", "en": "Failed sign-in"},
        "SIGN_IN_LOCKED": {"zh": "登录锁定", "en": "Sign-in locked"},
        "SIGN_OUT": {"zh": "退出登录", "en": "Sign-out"},
        "REFRESH_REUSED": {"zh": "令牌重复使用", "en": "Refresh token reused"},
        "KEY_CREATED": {"zh": "创建密钥", "en": "Key created"},
        "KEY_REVOKED": {"zh": "吊销密钥", "en": "Key revoked"},
        "READ_PII": {"zh": "查看个人信息", "en": "Personal data read"},
    },
    "OperationKind": {
        "QUERY": {"zh": "查询", "en": "Query"},
        "MUTATION": {"zh": "变更", "en": "Mutation"},
        "SUBSCRIPTION": {"zh": "订阅", "en": "Subscription"},
    },
    "DeliveryState": {
        "PENDING": {"zh": "待发送", "en": "Pending"},
        "DELIVERED": {"zh": "已送达", "en": "Delivered"},
        "FAILED": {"zh": "失败", "en": "Failed"},
    },
    "SortDirection": {
        "ASC": {"zh": "升序", "en": "Ascending"},
        "DESC": {"zh": "降序", "en": "Descending"},
        "ASC_NULLS_FIRST": {"zh": "升序（空值在前）", "en": "Ascending, empty first"},
        "ASC_NULLS_LAST": {"zh": "升序（空值在后）", "en": "Ascending, empty last"},
        "DESC_NULLS_FIRST": {"zh": "降序（空值在前）", "en": "Descending, empty first"},
        "DESC_NULLS_LAST": {"zh": "降序（空值在后）", "en": "Descending, empty last"},
    },
}

ENUM_LABELS: dict[str, dict[str, dict[str, str]]] = {  # by the GraphQL enum's name
    "Tier": TIER_LABELS,
    "ConstructionStatus": STATUS_LABELS,
    "ItemType": ITEM_TYPE_LABELS,
    "ItemSource": SOURCE_LABELS,
    "CaseStatus": CASE_STATUS_LABELS,
    "CaseAction": CASE_ACTION_LABELS,
    "Power": POWER_LABELS,
    "MaterialForm": MATERIAL_FORM_LABELS,
    **OTHER_ENUM_LABELS,
}

# Chinese terms the schema's descriptions do not give (they are in English only there), by type or
# Type.field; the rest come from the descriptions themselves (admin_ui/labels.py).
SCHEMA_TERMS: dict[str, str] = {
    "Organization": "组织",  # its description names the tiers' terms, not its own
    "AgencyBatchCase": "批次中的办件",
    "WindowItem": "窗口事项",
    "AreaOutline.name": "来源文件",
    "AreaOutline.geojson": "边界（GeoJSON）",
    "AreaOutline.organization": "所属组织",
    "Case.statusBeforePause": "暂停前状态",
    "CalendarRevision.source": "来源",
    "CalendarRevision.firstDay": "起始日期",
    "CalendarRevision.lastDay": "截止日期",
    "CalendarRevision.daysChanged": "变更天数",
    "CalendarRevision.description": "说明",
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
