"""Labels in both languages from the schema's descriptions, which read "English words (中文术语)"."""

from __future__ import annotations

import re

from admin_ui.i18n import ENUM_LABELS, SCHEMA_TERMS

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
PAREN = re.compile(r"\(([^()]*)\)")
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def chinese_term(description: str) -> str | None:
    """The Chinese term a description gives: its first parenthesis in Chinese ("Amount in fen
    (金额, 分)" gives 金额（分）), or a Chinese head before a colon ("统一阵地: a fixed place")."""
    for inside in PAREN.findall(description):
        if CJK.search(inside):
            first, *rest = (part.strip() for part in inside.split(","))
            return first + "".join(f"（{part}）" for part in rest)
    head, colon, _ = description.partition(":")
    if colon and CJK.search(head) and not LATIN.search(head):
        return head.strip()
    return None


def english_words(description: str, name: str) -> str:
    """A description's English head: before any parenthesis, the first clause, without Chinese
    ("Kind: 办事处, 队, 村 or 社区 (类型)" gives Kind); the name in words when it has none."""
    text = re.split(r",\s|;\s", description.split("(")[0])[0]
    head, colon, tail = text.partition(":")
    if colon:
        text = tail if CJK.search(head) else head
    text = text.strip().rstrip(".")
    if not text or CJK.search(text):
        text = CAMEL.sub(" ", name).lower()
    return text[0].upper() + text[1:]


def term(owner: str, name: str, description: str, lang: str) -> str:
    """The label of the field `name` of the type `owner` in `lang`."""
    if lang == "zh":
        found = SCHEMA_TERMS.get(f"{owner}.{name}") or chinese_term(description)
        if found:
            return found
    return english_words(description, name)


def type_label(type_name: str, description: str, lang: str) -> str:
    if lang == "zh":
        found = SCHEMA_TERMS.get(type_name) or chinese_term(description)
        if found:
            return found
    words = CAMEL.sub(" ", type_name).lower()
    return words[0].upper() + words[1:]


def enum_label(enum: str, value: str | None, lang: str) -> str | None:
    """An enum value's label from i18n's tables (the value itself when it has none)."""
    if value is None:
        return None
    return ENUM_LABELS.get(enum, {}).get(value, {}).get(lang, value)
