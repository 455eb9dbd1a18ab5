"""Text no database can store: PostgreSQL's text holds no U+0000, and UTF-8 no unpaired surrogate."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "text cannot hold U+0000 or an unpaired surrogate (U+D800 to U+DFFF)"


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def escaped(text: str) -> str:
    """The text with each unstorable character written as its escape (`\\u0000`), e.g. for the audit log."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)  # unclosed: to the end, so each byte is read once
_NOT_BRACKET = re.compile(r"[^][{}]+")


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text, counting brackets outside strings; read before
    parsing, since Python's parser recurses once per level and fails past about a thousand."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(1 if bracket in "[{" else -1 for bracket in brackets), default=0)


class TooDeep(ValueError):
    """JSON nested deeper than its reader allows."""


def strict_json(text: str, max_depth: int) -> Any:
    """JSON as RFC 8259 has it (no NaN or Infinity), nested at most `max_depth` deep.

    TooDeep when it nests deeper (checked before parsing), ValueError for anything else wrong."""
    # No deeper than its opening brackets, strings' included, are many: most bodies are told so
    # by two counts in C, without the scan that skips strings.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise TooDeep(f"nests arrays and objects more than {max_depth} deep")
    return json.loads(text, parse_constant=_not_a_number)


def _not_a_number(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")
