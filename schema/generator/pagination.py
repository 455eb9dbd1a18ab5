"""Ordering and keyset (cursor) pagination: no OFFSET, so page 1,000 costs what page 1 costs."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

import strawberry
from tortoise.expressions import Case, F, Q, RawSQL, When
from tortoise.queryset import QuerySet

from schema.generator.errors import EngineError
from schema.generator.jsonable import json_value
from schema.generator.scalars import zone_time
from schema.generator.text import storable, strict_json

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# A cursor carries its row's sort keys, and a text key can be a long text (a guide's conditions):
# the bound is what no row holds, not what most cursors take.
MAX_CURSOR_LENGTH = 1024 * 1024


@strawberry.enum(description="Sort direction; NULLS_FIRST/NULLS_LAST say where missing values go")
class SortDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"
    ASC_NULLS_FIRST = "ASC_NULLS_FIRST"
    ASC_NULLS_LAST = "ASC_NULLS_LAST"
    DESC_NULLS_FIRST = "DESC_NULLS_FIRST"
    DESC_NULLS_LAST = "DESC_NULLS_LAST"


@strawberry.type(description="Where a page sits in the whole list (Relay)")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page")
    has_previous_page: bool = strawberry.field(description="Items precede this page")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of the page")


@dataclass(frozen=True)
class SortKey:
    path: str  # Tortoise path, e.g. "name" or "parent__name"
    kind: str  # scalar kind, to read cursor values back
    descending: bool
    nullable: bool
    nulls_first: bool
    zone: dt.tzinfo = dt.UTC  # a date-time key is written in cursors in this zone, as the API writes it

    def reversed(self) -> SortKey:
        return replace(self, descending=not self.descending, nulls_first=not self.nulls_first)


def sort_key(
    path: str, kind: str, nullable: bool, direction: SortDirection, zone: dt.tzinfo = dt.UTC
) -> SortKey:
    descending = direction.value.startswith("DESC")
    if direction.value.endswith("NULLS_FIRST"):
        nulls_first = True
    elif direction.value.endswith("NULLS_LAST"):
        nulls_first = False
    else:
        nulls_first = descending  # PostgreSQL's default, applied on both databases
    return SortKey(path, kind, descending, nullable, nulls_first, zone)


@dataclass(frozen=True)
class PageRequest:
    first: int | None
    after: str | None
    last: int | None
    before: str | None

    def validate(self) -> None:
        if self.first is not None and self.last is not None:
            raise EngineError("VALIDATION_FAILED", "give `first` or `last`, not both", field="last")
        for name in ("first", "last"):
            size = getattr(self, name)
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise EngineError(
                    "VALIDATION_FAILED",
                    f"`{name}` must be between 0 and {MAX_PAGE_SIZE} (the page size cap), got {size}",
                    field=name,
                )

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        if self.last is not None:
            return self.last
        return DEFAULT_PAGE_SIZE if self.first is None else self.first


ID_KEY = SortKey("id", "int", descending=False, nullable=False, nulls_first=False)


def with_tie_breaker(keys: list[SortKey]) -> list[SortKey]:
    """The keys ended by the primary key, so the order is total and a cursor names one row."""
    return keys if keys and keys[-1].path == "id" else [*keys, ID_KEY]


def null_flag(path: str) -> Case:
    """1 where the field at `path` (through its relations' joins) is NULL, else 0: ordered by
    before the field itself, it puts NULLs where a sort key says on either database."""
    return Case(When(**{f"{path}__isnull": True}, then=RawSQL("1")), default=RawSQL("0"))


def ordered(query: QuerySet, keys: list[SortKey]) -> QuerySet:
    """Apply the keys, with NULL placement made explicit so both databases agree."""
    terms = []
    for i, key in enumerate(keys):
        if key.nullable:
            flag = f"_null{i}"
            query = query.annotate(**{flag: null_flag(key.path)})
            terms.append(f"-{flag}" if key.nulls_first else flag)
        name = key.path
        if "__" in key.path:
            name = f"_key{i}"
            query = query.annotate(**{name: F(key.path)})
        terms.append(f"-{name}" if key.descending else name)
    return query.order_by(*terms)


def order_sql(key: SortKey, column: str, null_flag: str | None = None) -> str:
    """ORDER BY terms (SQL) of one key read back from `column`, with the NULL placement `ordered`
    makes explicit: its 0/1 flag from `null_flag` when the query exposes it, else computed here."""
    terms = []
    if key.nullable:
        flag = null_flag or f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END"
        terms.append(f"{flag} {'DESC' if key.nulls_first else 'ASC'}")
    terms.append(f"{column} {'DESC' if key.descending else 'ASC'}")
    return ", ".join(terms)


def key_columns(keys: list[SortKey]) -> list[str]:
    """Names under which `ordered` exposes each key's value (the last one is the id)."""
    return [f"_key{i}" if "__" in key.path else key.path for i, key in enumerate(keys)]


def cursor_values(row: Any, keys: list[SortKey]) -> list[Any]:
    return [getattr(row, column) for column in key_columns(keys)]


def encode_cursor(values: list[Any], keys: list[SortKey]) -> str:
    """The cursor of a row from its sort-key values. A date-time is written as the API writes it
    (in the key's zone), whichever zone the driver returned it in: a key read through a relation
    comes back in UTC on PostgreSQL, and compiled reads write the same text."""
    plain = []
    for value, key in zip(values, keys, strict=True):
        if key.kind == "datetime" and value is not None:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
            plain.append(zone_time(moment, key.zone))
        elif key.kind == "bool" and isinstance(value, int):
            plain.append(bool(value))  # SQLite gives a related row's flag as 0 or 1
        else:
            plain.append(json_value(value))
    return cursor_of(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))


def cursor_of(text: str) -> str:
    """The cursor of a row's key values written as a compact JSON array."""
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, keys: list[SortKey], field: str) -> list[Any]:
    """The sort-key values a cursor carries, each of its key's type; anything else is refused."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("length")
        raw = strict_json(base64.urlsafe_b64decode(cursor.encode()).decode(), max_depth=1)  # a flat list
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("shape")
        return [_typed(v, key) for v, key in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeError, OverflowError, ArithmeticError):
        raise EngineError(
            "VALIDATION_FAILED",
            f"`{field}` is not a cursor of this list with this ordering",
            field=field,
        ) from None


def after_condition(keys: list[SortKey], values: list[Any]) -> Q:
    """Rows strictly after the cursor in the order of `keys` (whose last key is unique)."""
    alternatives: list[Q] = []
    equal: list[Q] = []
    for key, value in zip(keys, values, strict=True):
        beyond = _beyond(key, value)
        if beyond is not None:
            alternatives.append(Q(*equal, beyond) if equal else beyond)
        equal.append(Q(**{f"{key.path}__isnull": True}) if value is None else Q(**{key.path: value}))
    combined = alternatives[0]
    for alternative in alternatives[1:]:
        combined = combined | alternative
    return combined


def _beyond(key: SortKey, value: Any) -> Q | None:
    op = "lt" if key.descending else "gt"
    if value is None:
        # Past a NULL come the non-NULLs only when NULLs sort first.
        return Q(**{f"{key.path}__isnull": False}) if key.nulls_first else None
    beyond = Q(**{f"{key.path}__{op}": value})
    if key.nullable and not key.nulls_first:
        beyond = beyond | Q(**{f"{key.path}__isnull": True})
    return beyond


def between_cursors(query: QuerySet, keys: list[SortKey], page: PageRequest) -> QuerySet:
    """`query` cut to the rows after `page.after` and before `page.before` in the order of `keys`
    (ended by the id)."""
    if page.after is not None:
        query = query.filter(after_condition(keys, decode_cursor(page.after, keys, "after")))
    if page.before is not None:
        reverse_keys = [k.reversed() for k in keys]
        query = query.filter(after_condition(reverse_keys, decode_cursor(page.before, keys, "before")))
    return query


async def paginate(
    query: QuerySet, keys: list[SortKey], page: PageRequest
) -> tuple[list[Any], list[str], PageInfo]:
    """Fetch one page by keyset: rows, their cursors and the page info."""
    page.validate()
    keys = with_tie_breaker(keys)
    reverse_keys = [k.reversed() for k in keys]
    query = between_cursors(query, keys, page)
    size = page.size
    rows = list(await ordered(query, reverse_keys if page.backward else keys).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    if page.backward:
        rows.reverse()
    cursors = [encode_cursor(cursor_values(row, keys), keys) for row in rows]
    return rows, cursors, page_info(cursors, page, more)


def page_info(cursors: list[str], page: PageRequest, more: bool) -> PageInfo:
    return PageInfo(
        has_next_page=page.before is not None if page.backward else more,
        has_previous_page=more if page.backward else page.after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def _typed(value: Any, key: SortKey) -> Any:
    """The value as the column's type would hold it; ValueError for anything a row could not hold."""
    if value is None:
        if not key.nullable:
            raise ValueError("null")
        return None
    kind = key.kind
    if kind in ("int", "bigint"):
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise ValueError("integer")
        return value
    if kind == "float":
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ValueError("number")
        return float(value)
    if kind == "bool":
        if type(value) is not bool:
            raise ValueError("boolean")
        return value
    if type(value) is not str or not storable(value):
        raise ValueError("text")
    if kind == "datetime":
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive")
        moment.astimezone(dt.UTC)  # OverflowError at the ends of the calendar
        return moment
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "decimal":
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("decimal")
        return number
    return value


def one_choice(element: Any, argument: str) -> tuple[str, Any]:
    """The one field an orderBy or groupBy element sets, and its value (a list of such elements keeps
    their order, which one object's keys would not)."""
    chosen = [(name, value) for name, value in vars(element).items() if value is not None]
    if len(chosen) != 1:
        raise EngineError(
            "VALIDATION_FAILED", f"each {argument} element sets exactly one field", field=argument
        )
    return chosen[0]
