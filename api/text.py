"""Text no database can store: PostgreSQL's text holds no U+0000, and UTF-8 no unpaired surrogate."""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "text cannot hold U+0000 or an unpaired surrogate (U+D800 to U+DFFF)"


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def escaped(text: str) -> str:
    """The text with each unstorable character written as its escape (`\\u0000`), e.g. for the audit log."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
