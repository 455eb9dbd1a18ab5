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
    "note_rate": {
        "zh": "覆盖率 = 已建成（含已标准化）÷ 总数，由数据实时计算。",
        "en": "Rate = built (including standardized) ÷ total, computed from the data.",
    },
}

TIER_LABELS: dict[str, dict[str, str]] = {
    "REGION": {"zh": "管理区", "en": "Region"},
    "CENTER": {"zh": "政务服务中心", "en": "Service center"},
    "HALL": {"zh": "便民服务大厅", "en": "Halls"},
    "ROOM": {"zh": "便民服务室", "en": "Rooms"},
}

LANGUAGES = {"zh": "中文", "en": "English"}


def t(key: str, lang: str) -> str:
    return TEXTS[key][lang]


def tier_label(tier: str, lang: str) -> str:
    return TIER_LABELS[tier][lang]
