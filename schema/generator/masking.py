"""Personal data shown masked: a kind of personal data keeps its first `head` and last `tail`
characters and stars the rest (the rule the compiled reads render in SQL, the same as here).

An application names its kinds (an ID number, a phone) as values with `head` and `tail`; an
exposure's `pii` maps a column to its kind.
"""

from __future__ import annotations

from typing import Protocol


class PiiRule(Protocol):
    @property
    def head(self) -> int: ...  # leading characters kept

    @property
    def tail(self) -> int: ...  # trailing characters kept


def keep_ends(value: str | None, head: int, tail: int) -> str | None:
    """`value` with all but its first `head` and last `tail` characters starred; a value too short
    to keep anything is all stars."""
    if value is None:
        return None
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask(value: str | None, rule: PiiRule) -> str | None:
    return keep_ends(value, rule.head, rule.tail)
