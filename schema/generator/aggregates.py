"""`<plural>Aggregate`: count, sum/avg/min/max and GROUP BY (own fields, to-one fields, date buckets).

Everything is one SQL statement with GROUP BY and HAVING, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import strawberry
from pypika_tortoise.functions import Cast, NullIf
from pypika_tortoise.terms import Case as PypikaCase
from pypika_tortoise.terms import Star
from strawberry.utils.str_converters import to_camel_case
from tortoise.expressions import Expression, Q, RawSQL, ResolveResult, Subquery
from tortoise.functions import Avg, Count, Max, Min, Sum
from tortoise.models import Model
from tortoise.queryset import QuerySet

from schema.generator.errors import EngineError
from schema.generator.filters import compile_where, operator_input
from schema.generator.pagination import SortDirection, SortKey, null_flag, one_choice, sort_key
from schema.generator.resolvers import flat_fields, resolver
from schema.generator.scalars import BigInt, graphql_enum
from schema.generator.spec import ScalarField

if TYPE_CHECKING:
    from tortoise.expressions import ResolveContext

    from schema.generator.access import RequestAccess
    from schema.generator.registry import ModelNode

DEFAULT_GROUPS = 1000
MAX_GROUPS = 10000
GROUPABLE = {"enum", "bool", "string", "int", "date", "datetime"}
RELATED_GROUPABLE = {"enum", "bool"}
RELATED_GROUPABLE_NAMES = {"code", "name"}
PLACES = 4  # decimals of a figure's share, as serviceStats rounds its rates (api/services/stats.py)


class Share(Expression):
    """The share of the rows meeting `out_of` that also meet `counted`, in SQL: the exact ratio of
    the two counts rounded half up to PLACES decimals in integers, ((2 n 10^p + d) div 2d) / 10^p, as
    stats.rounded does in Python (a float's own ROUND would take 1/32 down); NULL when d is 0. The
    same expression on SQLite and PostgreSQL, for the resolvers and the compiled reads alike."""

    def __init__(self, pk: str, counted: Q, out_of: Q) -> None:
        self.pk, self.counted, self.out_of = pk, counted, out_of

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        both = self.counted if _empty(self.out_of) else self.counted & self.out_of
        n = counting(self.pk, both).resolve(resolve_context).term
        d = counting(self.pk, self.out_of).resolve(resolve_context).term
        scale = 10**PLACES
        # integer literals, not parameters: PostgreSQL then knows their type (and keeps one plan)
        scaled = (n * Literal(2 * scale) + d) / NullIf(d * Literal(2), Literal(0))
        return ResolveResult(term=Cast(scaled, "DOUBLE PRECISION") / Literal(scale))


class Literal(RawSQL):
    """An integer written into the statement (PostgreSQL then knows its type, where a parameter in
    a CASE would be taken for text); neutral as to aggregation, as a value is, so an expression
    over aggregates stays an aggregate (HAVING, not WHERE)."""

    is_aggregate = None

    def __init__(self, value: int) -> None:
        super().__init__(str(int(value)))


def counting(pk: str, condition: Q) -> Count:
    """COUNT of the rows meeting `condition` (every row, for an empty one)."""
    if _empty(condition):
        return Count(Star())
    return Count(pk, _filter=condition)


def _empty(condition: Q) -> bool:
    return not condition.children and not condition.filters


class NullFlag(Expression):
    """1 where `inner` (a measure or a key) is NULL, else 0: ordering by it first puts NULLs where
    the sort direction says, on SQLite and PostgreSQL alike (their own defaults differ)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        if isinstance(self.inner, str):  # a key's path, through its relation's join
            return null_flag(self.inner).resolve(resolve_context)
        if isinstance(self.inner, RawSQL):  # a date bucket's SQL (a term itself)
            term = RawSQL(self.inner.sql)
        else:
            term = self.inner.resolve(resolve_context).term
        return ResolveResult(term=PypikaCase().when(term.isnull(), Literal(1)).else_(Literal(0)))


class FloatAvg(Avg):
    """AVG as the database gives it, not cast back to the integer column's type."""

    populate_field_object = False


@strawberry.enum(description="Date bucket for grouping by a date or time (in the API's time zone)")
class DateBucket(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True)
class GroupField:
    attribute: str  # python attribute on the keys type, e.g. handling_organization_tier
    path: str  # Tortoise path, e.g. handling_organization__tier
    scalar: ScalarField
    table: str
    nullable: bool
    relation: type | None = None  # the related model, for keys read through a to-one relation

    @property
    def bucketed(self) -> bool:
        return self.scalar.kind in ("date", "datetime")

    @property
    def graphql_name(self) -> str:
        return to_camel_case(self.attribute)

    def choice_type(self) -> Any:
        """What a groupBy entry sets for this field: a date bucket for a date or time, else true."""
        return (DateBucket if self.bucketed else bool) | None

    def describe(self) -> str:
        if self.bucketed:
            return f"Group by {self.path} in buckets of this size (in the API's time zone)"
        return f"true: group by {self.path}"

    def key_type(self) -> Any:
        if self.bucketed:
            base: Any = dt.date
        elif self.scalar.kind == "enum":
            base = graphql_enum(self.scalar.enum)
        else:
            base = self.scalar.python_type
        return base | None


class Aggregates:
    """The aggregate types and resolver of one model."""

    def __init__(self, node: ModelNode) -> None:
        self.node = node
        exposure = node.exposure
        self.values = [
            s
            for s in node.scalars
            if exposure.allowed(exposure.aggregatable, s.name)
            and (s.numeric or s.kind in ("date", "datetime"))
        ]
        self.numeric = [s for s in self.values if s.numeric]
        self.groups = self._group_fields()
        self.by_attribute = {g.attribute: g for g in self.groups}
        self.figures = {f.name: f for f in exposure.figures}
        self._counts = {f.name for f in exposure.figures if not f.share}  # never NULL
        taken = {g.attribute for g in self.groups} | {"count"} | {f"sum_{s.name}" for s in self.numeric}
        if clash := taken & set(self.figures):
            raise TypeError(f"{exposure.type_name}: figures named as groupings or sums: {sorted(clash)}")

    def _group_fields(self) -> list[GroupField]:
        node, table = self.node, self.node.model._meta.db_table
        out = [
            GroupField(s.name, s.name, s, table, s.nullable)
            for s in node.scalars
            if s.kind in GROUPABLE
            and node.plain(s)
            and node.exposure.allowed(node.exposure.aggregatable, s.name)
        ]
        for relation in node.forward:
            target = node.registry.node(relation.model)
            for s in target.scalars:
                if s.kind in RELATED_GROUPABLE or s.name in RELATED_GROUPABLE_NAMES:
                    path = f"{relation.name}__{s.name}"
                    attribute = f"{relation.name}_{s.name}"
                    nullable = relation.nullable or s.nullable
                    out.append(GroupField(attribute, path, s, "", nullable, relation.model))
        return out

    def build(self) -> None:
        name = self.node.exposure.type_name
        plural = self.node.exposure.plural
        # The same shape as orderBy: a list of entries that each set one field, named as in the keys.
        self.group_by = _input(
            f"{name}GroupBy",
            f"One grouping key for {plural}: set exactly one field, as in orderBy "
            "(`true`, or a date bucket for a date or time field)",
            {
                g.attribute: (g.choice_type(), strawberry.field(default=None, description=g.describe()))
                for g in self.groups
            },
        )
        self.keys = _type(
            f"{name}GroupKeys",
            f"Values of the grouping keys of a group of {plural}",
            {
                g.attribute: (g.key_type(), strawberry.field(description=f"Group value of {g.path}"))
                for g in self.groups
            },
        )
        sums = {
            s.name: (BigInt | None if s.kind in ("int", "bigint") else s.python_type | None)
            for s in self.numeric
        }
        describe = self.node.exposure.describe
        averages = {s.name: float | None for s in self.numeric}
        extremes = {s.name: _extreme_type(s) for s in self.values}
        self.sums = _values_type(f"{name}Sums", f"Sums over {plural}", sums, describe)
        self.avgs = _values_type(f"{name}Averages", f"Averages over {plural}", averages, describe)
        self.mins = _values_type(f"{name}Minimums", f"Smallest values over {plural}", extremes, describe)
        self.maxs = _values_type(f"{name}Maximums", f"Largest values over {plural}", extremes, describe)
        self.figure_type = None
        if self.figures:
            self.figure_type = _type(
                f"{name}Figures",
                f"The domain's figures over {plural}",
                {
                    f.name: (float | None if f.share else int, strawberry.field(description=f.description))
                    for f in self.figures.values()
                },
            )
        measures = {"count": (int, strawberry.field(description="Number of items"))}
        if self.figure_type is not None:
            measures["figures"] = (
                self.figure_type,
                strawberry.field(description="The domain's figures (rates rounded to 4 decimals)"),
            )
        for label, cls in (("sum", self.sums), ("avg", self.avgs), ("min", self.mins), ("max", self.maxs)):
            if cls is not None:
                measures[label] = (cls, strawberry.field(description=f"{label} of each numeric field"))
        self.group = _type(
            f"{name}AggregateGroup",
            f"One group of {plural} with its keys and aggregates",
            {"keys": (self.keys, strawberry.field(description="The group's key values")), **measures},
        )
        self.aggregate = _type(
            f"{name}Aggregate",
            f"Aggregates over {plural}, overall and per group",
            {
                **measures,
                "groups": (list[self.group], strawberry.field(description="Groups, when groupBy is given")),
            },
        )
        having = {
            "count": (operator_input("int") | None, strawberry.field(default=None, description="Count"))
        }
        for s in self.numeric:
            having[f"sum_{s.name}"] = (
                operator_input("bigint" if s.kind in ("int", "bigint") else s.kind) | None,
                strawberry.field(default=None, description=f"Sum of {s.name}"),
            )
        for f in self.figures.values():
            having[f.name] = (
                operator_input("float" if f.share else "int") | None,
                strawberry.field(default=None, description=f"{f.description}: a condition on it"),
            )
        self.having = _input(f"{name}AggregateHaving", f"Conditions on the groups of {plural}", having)
        order = {"count": (SortDirection | None, strawberry.field(default=None, description="By count"))}
        for s in self.numeric:
            order[f"sum_{s.name}"] = (
                SortDirection | None,
                strawberry.field(default=None, description=f"By sum of {s.name}"),
            )
        for f in self.figures.values():
            order[f.name] = (SortDirection | None, strawberry.field(default=None, description=f"By {f.name}"))
        for g in self.groups:
            order[g.attribute] = (
                SortDirection | None,
                strawberry.field(default=None, description=f"By {g.path}"),
            )
        self.order_by = _input(f"{name}AggregateOrderBy", f"One sort key for groups of {plural}", order)

    def resolver(self):
        node, agg = self.node, self

        async def resolve(root, info, where=None, group_by=None, having=None, order_by=None, first=None):
            condition = agg.condition(await node.registry.access(info), where, group_by or [])
            timezone = node.registry.zone.key
            wanted = _wanted_measures(info)
            today = node.registry.today(info.context.get("clock"))
            return await agg.compute(
                condition, group_by or [], having, order_by or [], first, timezone, wanted, today
            )

        return resolver(
            resolve,
            self.aggregate,
            {
                "where": (node.where | None, None, "Conditions the items meet"),
                "group_by": (list[self.group_by] | None, None, "Grouping keys; without them only totals"),
                "having": (self.having | None, None, "Conditions on the groups"),
                "order_by": (list[self.order_by] | None, None, "Order of the groups"),
                "first": (
                    int | None,
                    None,
                    f"Most groups returned (default {DEFAULT_GROUPS}, max {MAX_GROUPS})",
                ),
            },
        )

    def condition(self, access: RequestAccess, where: Any, group_by: list[Any]) -> Q:
        """The rows the caller aggregates; grouping by a related row's field needs every one of
        those rows readable (a group key shows the related row's value)."""
        node = self.node
        condition = access.rows(node, counted=True) & compile_where(node, where, access)
        for choice in group_by:
            group, _bucket = self.group_field(choice)
            if group.relation is not None:
                access.require_all(node.registry.node(group.relation), f"grouping by {group.path}")
        return condition

    def _measures(self, wanted: set[str], today: dt.date) -> dict[str, Any]:
        """The aggregate expressions the query asked for (count always, to know a group's size);
        the figures judged on `today` (overdue)."""
        # COUNT(*), not COUNT(id): the same number (ids are never NULL), and PostgreSQL may then
        # count from an index alone (cases by status from the status index) instead of the table.
        out: dict[str, Any] = {"agg_count": Count(Star())}
        for label, function, fields in (
            ("sum", Sum, self.numeric),
            ("avg", FloatAvg, self.numeric),
            ("min", Min, self.values),
            ("max", Max, self.values),
        ):
            for s in fields:
                if f"{label}.{to_camel_case(s.name)}" in wanted:
                    out[f"agg_{label}_{s.name}"] = function(s.name)
        pk = self.node.model._meta.pk_attr
        for f in self.figures.values():
            if f"figures.{to_camel_case(f.name)}" in wanted:
                counted = f.counted(today)
                out[f"agg_figures_{f.name}"] = (
                    Share(pk, counted, f.out_of(today)) if f.out_of else counting(pk, counted)
                )
        return out

    def _measure_values(self, row: dict[str, Any]) -> dict[str, Any]:
        def pick(prefix: str, fields: list[ScalarField], convert=None) -> SimpleNamespace:
            values = {}
            for s in fields:
                value = row.get(f"agg_{prefix}_{s.name}")
                values[s.name] = convert(value) if convert and value is not None else _from_db(value, s)
            return SimpleNamespace(**values)

        figures = {}
        for f in self.figures.values():
            value = row.get(f"agg_figures_{f.name}")
            figures[f.name] = (None if value is None else float(value)) if f.share else int(value or 0)
        return {
            "count": row["agg_count"],
            "figures": SimpleNamespace(**figures),
            "sum": pick("sum", self.numeric),
            "avg": pick("avg", self.numeric, float),
            "min": pick("min", self.values),
            "max": pick("max", self.values),
        }

    async def compute(
        self, condition, group_by, having, order_by, first, timezone: str, wanted, today: dt.date
    ) -> SimpleNamespace:
        totals = {"agg_count": 0}
        if wanted["total"]:
            totals = await self.totals_query(condition, wanted["total"], today) or totals
        result = SimpleNamespace(**self._measure_values(totals), groups=[])
        if not group_by:
            return result
        grouped, keys = self.groups_query(
            condition, group_by, having, order_by, first, timezone, wanted["groups"], today
        )
        for row in await grouped:
            values = {g.attribute: None for g in self.groups}
            for alias, (group, expr) in keys.items():
                raw = row[alias if not isinstance(expr, str) else expr]
                values[group.attribute] = _key_value(raw, group)
            result.groups.append(SimpleNamespace(keys=SimpleNamespace(**values), **self._measure_values(row)))
        return result

    def totals_query(self, condition, wanted: set[str], today: dt.date):
        """The one-row query of the overall measures (`agg_count`, `agg_sum_<field>` ...)."""
        measures = self._measures(wanted, today)
        return _joinless(self.node.model, condition).annotate(**measures).first().values(*measures)

    def groups_query(
        self, condition, group_by, having, order_by, first, timezone: str, wanted: set[str], today: dt.date
    ):
        """The query of the groups (their keys as `key<i>` or the key's path, and their measures), in
        order and limited, and the keys: alias -> (group field, its expression or path)."""
        needed = _needed_for_having_and_order(having, order_by, set(self.figures))
        measures = self._measures(wanted | needed, today)
        limit = DEFAULT_GROUPS if first is None else first
        if not 0 <= limit <= MAX_GROUPS:
            raise EngineError(
                "VALIDATION_FAILED", f"`first` must be between 0 and {MAX_GROUPS}", field="first"
            )
        keys: dict[str, Any] = {}
        for i, choice in enumerate(group_by):
            group, bucket = self.group_field(choice)
            # The keys of a group have one value per field: a field twice (even bucketed twice) is refused.
            if any(group is seen for seen, _expr in keys.values()):
                raise EngineError(
                    "VALIDATION_FAILED", f"groupBy names {group.graphql_name} twice", field="groupBy"
                )
            if group.bucketed and group.table:
                keys[f"key{i}"] = (group, RawSQL(_bucket_sql(self.node, group, bucket, timezone)))
            else:
                keys[f"key{i}"] = (group, group.path)
        annotations = {alias: expr for alias, (_g, expr) in keys.items() if not isinstance(expr, str)}
        grouped = self.node.model.filter(condition).annotate(**annotations, **measures)
        group_terms = [alias if not isinstance(expr, str) else expr for alias, (_g, expr) in keys.items()]
        grouped = grouped.group_by(*group_terms)
        if having is not None:
            grouped = grouped.filter(**_having_filters(having, set(self.figures)))
        order, flags = self._group_order(order_by, keys, measures)
        for i, (alias, (group, expr)) in enumerate(keys.items()):  # then by the keys, NULLs last
            term = alias if not isinstance(expr, str) else expr
            key = sort_key(term, "", group.nullable, SortDirection.ASC)
            _order_by(key, expr, f"agg_keynull{i}", order, flags)
        grouped = grouped.annotate(**flags).order_by(*order).limit(limit)
        return grouped.values(*group_terms, *measures), keys

    def group_field(self, choice: Any) -> tuple[GroupField, DateBucket | None]:
        """The field a groupBy entry names, and its bucket (date and time fields)."""
        attribute, value = one_choice(choice, "groupBy")
        group = self.by_attribute[attribute]
        if value is False:
            raise EngineError(
                "VALIDATION_FAILED",
                f"groupBy {{{group.graphql_name}: false}} groups by nothing: leave the element out",
                field="groupBy",
            )
        return group, (DateBucket(value) if group.bucketed else None)

    def _group_order(
        self, order_by: list[Any], keys: dict[str, Any], measures: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any]]:
        """The ORDER BY terms of `orderBy` (measures or keys), and the annotations they need: a
        NULL flag before each nullable measure or key, so that NULLs sort as the direction says
        (PostgreSQL's default, NULLs first when descending, unless NULLS_FIRST/LAST) on both
        databases, as lists sort."""
        terms, flags = [], {}
        alias_of = {group.attribute: (alias, expr, group) for alias, (group, expr) in keys.items()}
        for i, element in enumerate(order_by):
            name, direction = one_choice(element, "orderBy")
            if name.startswith("sum_") or name == "count" or name in self.figures:
                column = _measure_column(name, set(self.figures))
                nullable, source = name != "count" and name not in self._counts, measures[column]
            elif name in alias_of:
                alias, expr, group = alias_of[name]
                column = alias if not isinstance(expr, str) else expr
                nullable, source = group.nullable, expr
            else:
                raise EngineError(
                    "VALIDATION_FAILED", f"groups are not grouped by {to_camel_case(name)}", field="orderBy"
                )
            key = sort_key(column, "", nullable, SortDirection(direction))
            _order_by(key, source, f"agg_null{i}", terms, flags)
        return terms, flags


def _order_by(key: SortKey, source: Any, flag: str, terms: list[str], flags: dict[str, Any]) -> None:
    """Adds the ORDER BY terms of `key` (a group's measure or key, as `source` computes it): its
    NULL flag first when it may be NULL (annotated as `flag`), then the column itself."""
    if key.nullable:
        flags[flag] = NullFlag(source)
        terms.append(f"-{flag}" if key.nulls_first else flag)
    terms.append(f"-{key.path}" if key.descending else key.path)


def _wanted_measures(info: strawberry.Info) -> dict[str, set[str]]:
    """Which measures the query selects, overall and per group, as "sum.tripsSaved", "count", ..."""

    def collect(selections) -> set[str]:
        out = set()
        for field in flat_fields(selections):
            if field.name in ("sum", "avg", "min", "max", "figures"):
                out |= {f"{field.name}.{sub.name}" for sub in flat_fields(field.selections)}
            elif field.name == "count":
                out.add("count")
        return out

    total, groups = set(), set()
    for selected in info.selected_fields:
        total |= collect(selected.selections)
        for field in flat_fields(selected.selections):
            if field.name == "groups":
                groups |= collect(field.selections)
    return {"total": total, "groups": groups}


def _needed_for_having_and_order(having: Any, order_by: list[Any], figures: set[str]) -> set[str]:
    names = [k for k, v in vars(having).items() if v is not None] if having is not None else []
    for element in order_by:
        names += [k for k, v in vars(element).items() if v is not None]
    needed = {f"sum.{to_camel_case(n.removeprefix('sum_'))}" for n in names if n.startswith("sum_")}
    return needed | {f"figures.{to_camel_case(n)}" for n in names if n in figures}


def _measure_column(name: str, figures: set[str]) -> str:
    """The column of a measure that having and orderBy name: count, sum_<field> or a figure."""
    return f"agg_figures_{name}" if name in figures else f"agg_{name}"


def _having_filters(having: Any, figures: set[str]) -> dict[str, Any]:
    from schema.generator.filters import LOOKUPS

    filters: dict[str, Any] = {}
    for name, condition in vars(having).items():
        if condition is None:
            continue
        column = _measure_column(name, figures)
        for op, suffix in LOOKUPS.items():
            value = getattr(condition, op, None)
            if value is not None:
                filters[f"{column}{suffix or ''}" if op != "eq" else column] = value
    return filters


def _joinless(model: type[Model], condition: Any) -> QuerySet:
    """The rows meeting `condition`, ready for an overall aggregate: a condition through a relation
    (a join) goes into a subquery, since Tortoise groups a joined aggregate by every column (one
    group per row, where one total is wanted)."""
    rows = model.filter(condition)
    probe = rows.only("id")
    probe._make_query()
    if probe._joined_tables:
        return model.filter(id__in=Subquery(rows.values("id")))
    return rows


def _bucket_sql(node: ModelNode, group: GroupField, bucket: DateBucket | None, timezone: str) -> str:
    bucket = bucket or DateBucket.DAY
    column = f'"{group.table}"."{group.scalar.column}"'
    dialect = node.model._meta.db.capabilities.dialect
    if dialect == "postgres":
        local = (
            f"({column} AT TIME ZONE '{_safe_tz(timezone)}')" if group.scalar.kind == "datetime" else column
        )
        return f"CAST(date_trunc('{bucket.value.lower()}', {local}) AS DATE)"
    shift = ""
    if group.scalar.kind == "datetime":
        # SQLite has no zone database: the district's current UTC offset (China keeps no DST).
        offset = ZoneInfo(_safe_tz(timezone)).utcoffset(dt.datetime.now())
        shift = f", '{int(offset.total_seconds() // 60):+d} minutes'"
    return {
        DateBucket.DAY: f"date({column}{shift})",
        DateBucket.WEEK: f"date({column}{shift}, 'weekday 0', '-6 days')",
        DateBucket.MONTH: f"strftime('%Y-%m-01', {column}{shift})",
        DateBucket.YEAR: f"strftime('%Y-01-01', {column}{shift})",
    }[bucket]


def _safe_tz(timezone: str) -> str:
    ZoneInfo(timezone)  # raises for an unknown zone; the name then goes into SQL only if real
    if "'" in timezone:
        raise EngineError("VALIDATION_FAILED", "bad time zone", field="timezone")
    return timezone


def _key_value(raw: Any, group: GroupField) -> Any:
    if raw is None:
        return None
    if group.bucketed:
        return dt.date.fromisoformat(raw[:10]) if isinstance(raw, str) else raw
    return _from_db(raw, group.scalar)


def _from_db(value: Any, scalar: ScalarField) -> Any:
    if value is None:
        return None
    if scalar.kind == "enum" and not isinstance(value, Enum):
        return scalar.enum(value)
    if scalar.kind == "bool":
        return bool(value)
    if scalar.kind in ("int", "bigint"):
        return int(value)
    if scalar.kind == "float":
        return float(value)
    return value


def _extreme_type(scalar: ScalarField) -> Any:
    if scalar.kind == "bigint":
        return BigInt | None
    return scalar.python_type | None


def _class(name: str, fields: dict[str, tuple[Any, Any]]) -> type:
    """A plain class with these annotated fields, ready for strawberry.type or strawberry.input."""
    annotations = {k: t for k, (t, _f) in fields.items()}
    return type(name, (), {"__annotations__": annotations, **{k: f for k, (_t, f) in fields.items()}})


def _type(name: str, description: str, fields: dict[str, tuple[Any, Any]]) -> type:
    return strawberry.type(_class(name, fields), description=description)


def _input(name: str, description: str, fields: dict[str, tuple[Any, Any]]) -> type:
    return strawberry.input(_class(name, fields), description=description)


def _values_type(name: str, description: str, fields: dict[str, Any], describe) -> type | None:
    if not fields:
        return None
    return _type(
        name, description, {k: (t, strawberry.field(description=describe(k))) for k, t in fields.items()}
    )
