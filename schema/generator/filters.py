"""`<Model>Where` inputs and their compilation to SQL conditions (Tortoise Q objects)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.utils.str_converters import to_camel_case
from tortoise.expressions import Q, RawSQL, Subquery

from schema.generator.errors import EngineError
from schema.generator.ids import from_global_id
from schema.generator.scalars import BigInt, graphql_enum
from schema.generator.spec import ScalarField

if TYPE_CHECKING:
    from schema.generator.access import RequestAccess
    from schema.generator.registry import Node

# GraphQL operator name -> Tortoise lookup suffix
LOOKUPS = {
    "eq": "",
    "ne": "__not",
    "gt": "__gt",
    "gte": "__gte",
    "lt": "__lt",
    "lte": "__lte",
    "in_": "__in",
    "not_in": "__not_in",
    "is_null": "__isnull",
    "contains": "__contains",
    "icontains": "__icontains",
    "starts_with": "__startswith",
}
ORDERED = ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "not_in", "is_null")
OPERATORS = {
    "string": (*ORDERED, "contains", "icontains", "starts_with"),
    "int": ORDERED,
    "bigint": ORDERED,
    "float": ORDERED,
    "decimal": ORDERED,
    "date": ORDERED,
    "datetime": ORDERED,
    "bool": ("eq", "ne", "is_null"),
    "enum": ("eq", "ne", "in_", "not_in", "is_null"),
}
_GRAPHQL_NAMES = {"in_": "in", "not_in": "notIn", "is_null": "isNull", "starts_with": "startsWith"}
_SCALARS = {
    "string": (str, "String"),
    "int": (int, "Int"),
    "bigint": (BigInt, "BigInt"),
    "float": (float, "Float"),
    "decimal": (Decimal, "Decimal"),
    "date": (dt.date, "Date"),
    "datetime": (dt.datetime, "DateTime"),
    "bool": (bool, "Boolean"),
}
_FILTER_INPUTS: dict[Any, type] = {}
# Bounds that keep a filter's SQL within what both databases take (SQLite binds at most 32,766
# values in a statement, asyncpg 32,767) and its compilation within Python's stack.
MAX_VALUES = 1000  # in one `in` or `notIn` list
_NAME = re.compile(r"[A-Za-z0-9_]+")  # an enum value that may be written into SQL as it is
MAX_FILTER_VALUES = 5000  # in the whole filter: each becomes a bound parameter of one statement
MAX_ALTERNATIVES = 100  # conditions in one `and` or `or` list
MAX_WHERE_DEPTH = 16  # and/or/not and relation levels
WITHIN_DESCRIPTION = "In the area of this id (辖区): the row itself and every row below it, at any depth"


def operator_input(kind: str, enum: type[Enum] | None = None) -> type:
    """The `<Scalar>Filter` input for a kind of field (one per scalar, one per enum)."""
    key = enum or kind
    if key in _FILTER_INPUTS:
        return _FILTER_INPUTS[key]
    if enum is not None:
        value_type, label = graphql_enum(enum), enum.__name__
    else:
        value_type, label = _SCALARS[kind]
    cls = type(f"{label}Filter", (), {"__annotations__": {}})
    for op in OPERATORS[kind]:
        annotation = bool if op == "is_null" else list[value_type] if op in ("in_", "not_in") else value_type
        cls.__annotations__[op] = annotation | None
        description = _OPERATOR_DESCRIPTIONS[op]
        setattr(cls, op, strawberry.field(default=None, name=_GRAPHQL_NAMES.get(op), description=description))
    _FILTER_INPUTS[key] = strawberry.input(
        cls, description=f"Conditions on a {label} value; all given must hold"
    )
    return _FILTER_INPUTS[key]


_OPERATOR_DESCRIPTIONS = {
    "eq": "Equal to",
    "ne": "Not equal to",
    "gt": "Greater than",
    "gte": "Greater than or equal to",
    "lt": "Less than",
    "lte": "Less than or equal to",
    "in_": "One of these values",
    "not_in": "None of these values",
    "is_null": "true: has no value; false: has a value",
    "contains": "Contains this text (case-sensitive)",
    "icontains": "Contains this text, ignoring case",
    "starts_with": "Starts with this text",
}


@strawberry.input(description="Conditions on a global id")
class IDFilter:
    eq: strawberry.ID | None = strawberry.field(default=None, description="This id")
    in_: list[strawberry.ID] | None = strawberry.field(
        default=None, name="in", description="One of these ids"
    )
    not_in: list[strawberry.ID] | None = strawberry.field(
        default=None, name="notIn", description="None of these ids"
    )


def scalar_conditions(path: str, scalar: ScalarField, condition: Any) -> list[Q]:
    out = []
    for op, suffix in LOOKUPS.items():
        value = getattr(condition, op, None)
        if value is None:
            continue
        if isinstance(value, list) and len(value) > MAX_VALUES:
            raise EngineError(
                "VALIDATION_FAILED",
                f"{to_camel_case(scalar.name)}: at most {MAX_VALUES:,} values in a list, got {len(value):,}",
                field=f"where.{scalar.name}",
            )
        if op in ORDERED and op != "is_null":
            for item in value if isinstance(value, list) else [value]:
                _check_fits(scalar, item)
        if scalar.enum is not None and op != "is_null":
            value = _enum_literal(value)
        if op == "is_null":
            out.append(Q(**{f"{path}__isnull": bool(value)}))
        elif op == "ne":
            # SQL's <> drops NULLs; "not equal" should keep rows that have no value.
            out.append(Q(**{f"{path}__not": value}) | Q(**{f"{path}__isnull": True}))
        else:
            out.append(Q(**{f"{path}{suffix}": value}))
    return out


def _enum_literal(value: Any) -> Any:
    """An enum's value (or list of values) as SQL literals, else as it is.

    An enum holds a few names fixed in the code, GraphQL checked the value is one of them, and
    the statement is kept per variables anyway: as a literal it lets PostgreSQL plan a prepared
    statement once (a generic plan) where a parameter made it plan at every execution, 0.3-0.9 ms
    of a read of halls and their rooms' cases.
    """
    values = value if isinstance(value, list) else [value]
    literals = []
    for item in values:
        raw = item.value if isinstance(item, Enum) else item
        if not (isinstance(raw, str) and _NAME.fullmatch(raw)):  # (an int's column type is unknown here)
            return value
        literals.append(f"'{raw}'")
    if not literals:  # an empty list: as it is (no `IN ()`)
        return value
    return RawSQL("(" + ",".join(literals) + ")") if isinstance(value, list) else RawSQL(literals[0])


def _check_fits(scalar: ScalarField, value: Any) -> None:
    """A value no row can hold is refused rather than compared (Tortoise or the driver would fail on it)."""
    field = f"where.{scalar.name}"
    if scalar.max_length is not None and isinstance(value, str) and len(value) > scalar.max_length:
        raise EngineError(
            "VALIDATION_FAILED",
            f"{to_camel_case(scalar.name)}: at most {scalar.max_length} characters",
            field=field,
        )
    if (
        scalar.bounds is not None
        and isinstance(value, int)
        and not scalar.bounds[0] <= value <= scalar.bounds[1]
    ):
        low, high = scalar.bounds
        raise EngineError(
            "VALIDATION_FAILED", f"{to_camel_case(scalar.name)}: between {low} and {high}", field=field
        )


def id_conditions(type_name: str, condition: Any) -> list[Q]:
    def pk(value: str) -> int:
        return from_global_id(value, type_name, field="where.id")

    for values in (condition.in_, condition.not_in):
        if values is not None and len(values) > MAX_VALUES:
            raise EngineError(
                "VALIDATION_FAILED",
                f"id: at most {MAX_VALUES:,} values in a list, got {len(values):,}",
                field="where.id",
            )
    out = []
    if condition.eq is not None:
        out.append(Q(id=pk(condition.eq)))
    if condition.in_ is not None:
        out.append(Q(id__in=[pk(v) for v in condition.in_]))
    if condition.not_in is not None:
        out.append(Q(id__not_in=[pk(v) for v in condition.not_in]))
    return out


def compile_where(node: Node, where: Any, access: RequestAccess, depth: int = 1) -> Q:
    """Compile a `<Model>Where` value into one Q; relations become subqueries (no row duplication).

    A condition on a relation sees only the related rows the caller may read: a filter must not
    reveal what a list would not show. `depth` counts the `and`/`or`/`not`/relation levels so far.
    """
    if where is None:
        return Q()
    if depth > MAX_WHERE_DEPTH:
        raise EngineError(
            "VALIDATION_FAILED",
            f"the filter nests and/or/not and relations more than {MAX_WHERE_DEPTH} levels deep",
            field="where",
        )
    parts: list[Q] = []
    if where.id is not None:
        parts += id_conditions(node.exposure.type_name, where.id)
    for scalar in node.filter_scalars:
        condition = getattr(where, scalar.name)
        if condition is not None:
            parts += scalar_conditions(scalar.name, scalar, condition)
    if node.exposure.tree_path is not None and (top := getattr(where, "within", None)) is not None:
        top_id = from_global_id(top, node.exposure.type_name, "where.within")
        parts.append(within_condition(node, top_id, access))
    for relation in node.forward:
        sub = getattr(where, relation.name, None)
        if sub is not None:
            target = node.registry.node(relation.model)
            inner = target.model.filter(access.rows(target), compile_where(target, sub, access, depth + 1))
            inner = inner.values("id")
            parts.append(Q(**{f"{relation.column}__in": Subquery(inner)}))
    for relation in node.backward:
        sub = getattr(where, relation.name, None)
        if sub is not None:
            target = node.registry.node(relation.model)
            inner = target.model.filter(access.rows(target), compile_where(target, sub, access, depth + 1))
            inner = inner.values(relation.column)
            parts.append(Q(id__in=Subquery(inner)))
    if where.and_:
        parts += [compile_where(node, w, access, depth + 1) for w in _bounded(where.and_, "and")]
    if where.or_:
        alternatives = [compile_where(node, w, access, depth + 1) for w in _bounded(where.or_, "or")]
        parts.append(Q(*alternatives, join_type=Q.OR))
    if where.not_ is not None:
        parts.append(~compile_where(node, where.not_, access, depth + 1))
    if depth == 1 and (count := _values(where)) > MAX_FILTER_VALUES:  # each list passed its own bound
        raise EngineError(
            "VALIDATION_FAILED",
            f"the filter holds {count:,} values; at most {MAX_FILTER_VALUES:,}",
            field="where",
        )
    return Q(*parts) if parts else Q()


def within_condition(node: Node, top: int, access: RequestAccess) -> Q:
    """The rows in the area of row `top` of a tree model: their paths start with its path, which is
    one half-open range ["/1/5/", "/1/50"): "/" sorts just before "0", and the path compares bytewise.

    Both bounds are subqueries over `top`'s row among those the caller may read, so the range is
    answered by the path's index; an unknown or unreadable `top` leaves both NULL and matches nothing.
    """
    path = node.exposure.tree_path
    assert path is not None
    own = node.model.filter(access.rows(node), id=top)
    low = own.values(path)
    high = own.annotate(_high=RawSQL(f"substr({path}, 1, length({path}) - 1) || '0'")).values("_high")
    below = node.model.filter(**{f"{path}__gte": Subquery(low), f"{path}__lt": Subquery(high)})
    # As a set of ids, so that `not: {within: …}` of an unknown id is every row (the bounds' NULLs
    # would make the negated comparison NULL: no row).
    return Q(id__in=Subquery(below.values("id")))


def _values(value: Any) -> int:
    """How many values a filter input holds (each list item and each scalar counts one)."""
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(max(1, _values(item)) for item in value)
    if hasattr(value, "__dict__") and not isinstance(value, Enum):
        return sum(_values(item) for item in vars(value).values())
    return 1


def _bounded(conditions: list, name: str) -> list:
    if len(conditions) > MAX_ALTERNATIVES:
        raise EngineError(
            "VALIDATION_FAILED",
            f"`{name}` holds {len(conditions):,} conditions; at most {MAX_ALTERNATIVES}",
            field=f"where.{name}",
        )
    return conditions
