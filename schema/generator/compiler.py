"""Compiled reads: one SQL statement per generated root field, its JSON built by the database.

The resolver path (registry.py, loaders.py) walks a read field by field: strawberry and
graphql-core call a resolver per value, Tortoise builds an object per row. For the generated reads
(`<plural>`, `<model>(id)`, `node` and the relations, connections, counts and page info under them)
this module builds instead one SQL statement whose single value is the field's JSON text:
PostgreSQL with `json_build_object`/`json_agg` over correlated subqueries, SQLite with
`json_object`/`json_group_array` (rows ordered in the subquery it aggregates, as SQLite 3.40 has no
ORDER BY inside an aggregate).

Both paths share every rule that decides *which* rows and values a caller gets: the row conditions
(`RequestAccess.rows`), filters (`compile_where`), sort keys and cursors (pagination.py), page-size
checks, column rules and masking. The conditions and the page query of each level are Tortoise
querysets rendered to SQL, and this module only wraps them. Anything it cannot compile, and every
refusal (a bad cursor, a forbidden relation, a page too large), raises `Fallback`: that root field
then runs on the resolver path, which answers with the one canonical result or error.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from graphql import GraphQLObjectType, get_named_type
from graphql.execution.collect_fields import collect_subfields
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments
from strawberry.utils.str_converters import to_camel_case
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from schema.generator.filters import compile_where
from schema.generator.ids import from_global_id, to_global_id, type_of
from schema.generator.loaders import parameterized_sql
from schema.generator.masking import PiiRule, keep_ends
from schema.generator.pagination import (
    PageRequest,
    SortKey,
    between_cursors,
    cursor_of,
    key_columns,
    order_sql,
    ordered,
    with_tie_breaker,
)
from schema.generator.scalars import zone_time

if TYPE_CHECKING:
    from schema.generator.access import RequestAccess
    from schema.generator.registry import ModelNode, Registry

# Outcomes of root fields since the process started, by (field name, outcome): "compiled",
# "fallback: <reason>" (an unsupported selection or a refusal the resolver path answers), "error"
# (a compiled statement failed unexpectedly; the resolver path answered).
COUNTERS: collections.Counter[tuple[str, str]] = collections.Counter()
# SQLite's parser stack (YYSTACKDEPTH 100 in the library Python ships) overflows a few subqueries
# deep: relations nested deeper than this run on the resolvers there (the query depth limit of 12
# allows about six through connections); PostgreSQL has no such bound.
SQLITE_MAX_NESTING = 6
MAX_OBJECT_KEYS = 50  # json_build_object takes at most 100 arguments on PostgreSQL
PII_KEY = "__sanji_pii__"  # beside an object whose personal data is read in clear; removed before sending

_MARK = "\x01"  # a bound parameter, numbered when the statement is finished
_SPLICE = "\x02"  # where a statement's part built apart goes (see `splice`)
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\d+)|\?")


class Fallback(Exception):
    """The root field runs on the resolver path; the reason is counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Sql:
    """SQL text with `_MARK` where each parameter goes, and the parameters in text order."""

    text: str = ""
    params: list[Any] = field(default_factory=list)

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, [*self.params, *other.params])

    def __radd__(self, other: str) -> Sql:
        return Sql(other + self.text, self.params)


def bound(template: str, *params: Any) -> Sql:
    """SQL text whose `{}` are bound parameters, in order (a statement of the application's own to
    run with compiled ones, e.g. `Prepared.run_guarded`'s guard)."""
    if template.count("{}") != len(params):
        raise ValueError(f"{template.count('{}')} placeholders for {len(params)} parameters")
    return Sql(template.replace("{}", _MARK), list(params))


def join(parts: list[Sql | str], separator: str = ",") -> Sql:
    out = Sql()
    for i, part in enumerate(parts):
        out = out + (separator if i else "") + part
    return out


def queryset_sql(query: QuerySet) -> Sql:
    """The statement Tortoise would run for `query`, its placeholders made position-free."""
    query._choose_db_if_not_chosen()
    return marked(*parameterized_sql(query))


def marked(text: str, params: list[Any]) -> Sql:
    """A statement with the database's placeholders (`$n` or `?`) as `Sql`, whose parameters follow
    its text, so that it can be put inside another; a page's size and offset become literals."""
    ordered_params: list[Any] = []
    positional = iter(params)

    def mark(found: re.Match) -> str:
        token = found.group(0)
        if token[0] in "'\"":
            return token
        value = params[int(found.group(1)) - 1] if found.group(1) else next(positional)
        if type(value) is int and text.endswith((" LIMIT ", " OFFSET "), 0, found.start()):
            # A page's size and offset as literals: PostgreSQL plans a prepared statement once
            # (a generic plan) only when its row count is known; with LIMIT $n it plans it anew
            # at every execution, 0.3 ms for a page of cases, more than the page takes to read.
            return str(value)
        ordered_params.append(value)
        return _MARK

    return Sql(_TOKENS.sub(mark, text), ordered_params)


def splice(outer: Sql, token: str, inner: Sql) -> Sql:
    """`outer` with `inner` (and its parameters, in text order) where `token` is."""
    before, after = outer.text.split(token)
    n = before.count(_MARK)
    return Sql(before + inner.text + after, [*outer.params[:n], *inner.params, *outer.params[n:]])


def finish(statement: Sql, postgres: bool) -> tuple[str, list[Any]]:
    pieces = statement.text.split(_MARK)
    if postgres:
        text = "".join(p + (f"${i + 1}" if i < len(pieces) - 1 else "") for i, p in enumerate(pieces))
    else:
        text = "?".join(pieces)
    return text, statement.params


@functools.lru_cache(maxsize=16)
def fixed_offset(zone: str) -> tuple[dt.datetime, str] | None:
    """(since when, the offset as ISO text) when `zone` keeps one UTC offset from its last change
    on, for good (Asia/Shanghai: +08:00 since 1991); None for a zone that still changes (summer
    time) or will. Offsets are read from the zone database: every day back to 1900, then to the
    second around the last change."""
    tz = ZoneInfo(zone)
    now = dt.datetime.now(dt.UTC)

    def offset(moment: dt.datetime) -> dt.timedelta | None:
        return moment.astimezone(tz).utcoffset()

    current = offset(now)
    # Summer time differs between January and July in either hemisphere: check years to come.
    future = [dt.datetime(year, month, 15, tzinfo=dt.UTC) for year in (now.year, now.year + 1, 2100, 9000)
              for month in (1, 7)]  # fmt: skip
    if any(offset(moment) != current for moment in future):
        return None
    day = dt.timedelta(days=1)
    moment = now
    floor = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    while moment > floor and offset(moment - day) == current:
        moment -= day
    if moment <= floor:
        moment = floor
    else:  # the change lies in (moment - day, moment]: find its second
        low, high = moment - day, moment
        while high - low > dt.timedelta(seconds=1):
            middle = low + (high - low) / 2
            low, high = (middle, high) if offset(middle) != current else (low, middle)
        moment = high.replace(microsecond=0) + dt.timedelta(seconds=1 if high.microsecond else 0)
    text = dt.datetime(2000, 1, 1, tzinfo=dt.timezone(current)).isoformat()[19:]  # "+08:00"
    return moment, text


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(*names: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in names)


class Dialect:
    """The JSON and formatting expressions of one database."""

    def __init__(self, postgres: bool, zone: str) -> None:
        self.postgres = postgres
        self.zone = zone  # date-times are told in it

    def obj(self, pairs: list[tuple[str, Sql | str]]) -> Sql:
        if len(pairs) > MAX_OBJECT_KEYS:
            raise Fallback(f"more than {MAX_OBJECT_KEYS} fields in one object")
        function = "json_build_object" if self.postgres else "json_object"
        return function + "(" + join([literal(k) + "," + v for k, v in pairs]) + ")"

    def json_column(self, column: str) -> str:
        """A column holding JSON, as a JSON value (SQLite forgets across subqueries that it is JSON)."""
        return column if self.postgres else f"json({column})"

    def boolean(self, condition: str) -> str:
        if self.postgres:
            return f"({condition})"
        return f"json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)"

    def bool_literal(self, value: bool) -> str:
        if self.postgres:
            return "true" if value else "false"
        return f"json('{'true' if value else 'false'}')"

    def least(self, a: str, b: str) -> str:
        return f"least({a},{b})" if self.postgres else f"min({a},{b})"

    def aggregate(self, element: Sql, order: str, condition: str) -> Sql:
        """The JSON array of `element` over the rows meeting `condition`, in `order`."""
        if self.postgres:
            return (
                "coalesce(json_agg(" + element + f" ORDER BY {order}) FILTER (WHERE {condition}),'[]'::json)"
            )
        # The rows arrive in the order of the subquery they come from (see `Compiler.connection`).
        return "json_group_array(" + element + f") FILTER (WHERE {condition})"

    def value(self, column: str, kind: str, enum: Any = None) -> str:
        """A column's value as the API returns it (the rules of schema/generator/scalars.py)."""
        if kind == "datetime":
            return self.zone_time(column)
        if kind == "enum":
            pairs = [(m.value, m.name) for m in enum]
            if all(str(v) == n for v, n in pairs):
                return column
            whens = " ".join(f"WHEN {literal(str(v))} THEN {literal(n)}" for v, n in pairs)
            return f"CASE {column} {whens} END"
        if kind == "bool" and not self.postgres:
            return (
                f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} THEN json('true') ELSE json('false') END"
            )
        if kind == "json" and not self.postgres:
            return f"json({column})"
        if kind == "decimal":
            return f"CAST({column} AS TEXT)"
        return column

    def zone_time(self, column: str) -> str:
        if not self.postgres:
            return f"sanji_time({column},{literal(self.zone)})"
        local = f"({column} AT TIME ZONE {literal(self.zone)})"
        offset = f"({local} - ({column} AT TIME ZONE 'UTC'))"
        wall = (
            f"to_char({local},'YYYY-MM-DD\"T\"HH24:MI:SS')"
            f" || CASE WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 THEN ''"
            f" ELSE '.' || to_char({local},'US') END"
        )
        any_offset = (
            f"CASE WHEN {offset} < interval '0' THEN '-' ELSE '+' END"
            f" || to_char(abs(extract(epoch FROM {offset}))::int / 3600,'FM00') || ':'"
            f" || to_char(abs(extract(epoch FROM {offset}))::int % 3600 / 60,'FM00')"
            f" || CASE WHEN abs(extract(epoch FROM {offset}))::int % 60 = 0 THEN ''"
            f" ELSE ':' || to_char(abs(extract(epoch FROM {offset}))::int % 60,'FM00') END"
        )
        fixed = fixed_offset(self.zone)
        if fixed is None:
            return f"CASE WHEN {column} IS NULL THEN NULL ELSE {wall} || {any_offset} END"
        # Since its last change the zone's offset is one text ("+08:00"): computing it per value
        # was a third of a page's time in the database.
        since, text = fixed
        return (
            f"CASE WHEN {column} IS NULL THEN NULL"
            f" WHEN {column} >= {literal(since.isoformat())}::timestamptz THEN {wall} || {literal(text)}"
            f" ELSE {wall} || {any_offset} END"
        )

    def global_id(self, type_name: str, column: str) -> str:
        if not self.postgres:
            return f"sanji_global_id({literal(type_name)},{column})"
        return f"encode(convert_to({literal(type_name + ':')} || {column},'UTF8'),'base64')"

    def mask(self, column: str, rule: PiiRule) -> str:
        head, tail = int(rule.head), int(rule.tail)
        if not self.postgres:
            return f"sanji_mask({column},{head},{tail})"
        n = f"char_length({column})"
        return (
            f"CASE WHEN {column} IS NULL THEN NULL WHEN {n} <= {head + tail} THEN repeat('*',{n})"
            f" ELSE left({column},{head}) || repeat('*',{n} - {head + tail}) || right({column},{tail}) END"
        )

    def cursor(self, values: list[tuple[str, str]]) -> str:
        """The cursor of a row from its sort-key columns and kinds (what `encode_cursor` reads back)."""
        items = []
        for column, kind in values:
            if kind in ("decimal", "datetime") or (kind == "bool" and not self.postgres):
                column = self.value(column, kind)  # as the row's value encodes: district time, text
            items.append(column)
        if self.postgres:
            # The text encode_cursor writes: no spaces, a NULL as null.
            members = " || ',' || ".join(f"coalesce(to_json({item})::text,'null')" for item in items)
            text = f"'[' || {members} || ']'"
            return f"translate(encode(convert_to({text},'UTF8'),'base64'),E'+/\\n','-_')"
        return f"sanji_cursor(json_array({','.join(items)}))"


# -- SQLite: the formatting rules as functions of the connection, the same Python code as the resolvers


def _sqlite_time(text: str | None, zone: str) -> str | None:
    if text is None:
        return None
    return zone_time(dt.datetime.fromisoformat(text), _zone(zone))


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _sqlite_global_id(type_name: str, pk: int | None) -> str | None:
    return None if pk is None else to_global_id(type_name, pk)


SQLITE_FUNCTIONS = {
    "sanji_time": (2, _sqlite_time),
    "sanji_global_id": (2, _sqlite_global_id),
    "sanji_mask": (3, keep_ends),
    "sanji_cursor": (1, cursor_of),
}


async def prepare_sqlite(client: Any) -> None:
    """Give the SQLite connection the functions compiled statements call (once per connection)."""
    async with client.acquire_connection() as connection:
        if getattr(connection, "_sanji_functions", False):
            return
        for name, (arity, function) in SQLITE_FUNCTIONS.items():
            await connection.create_function(name, arity, function, deterministic=True)
        connection._sanji_functions = True


# -- the compiler


@dataclass
class Selection:
    """What graphql-core knows of the operation: enough to collect fields and read arguments."""

    schema: Any  # GraphQLSchema
    fragments: Any
    variable_values: Any
    operation: Any
    scalar_registry: Any
    config: Any

    def subfields(self, return_type: Any, details: list) -> dict[str, list]:
        named = get_named_type(return_type)
        if not isinstance(named, GraphQLObjectType):
            raise Fallback(f"{named} is not an object type")
        collected = collect_subfields(
            self.schema, self.fragments, self.variable_values, self.operation, named, details
        )
        if collected.new_defer_usages:
            raise Fallback("@defer")
        return collected.grouped_field_set

    def arguments(self, field_def: Any, details: list) -> dict[str, Any]:
        raw = get_argument_values(
            field_def, details[0].node, self.variable_values, details[0].fragment_variable_values
        )
        definition = field_def.extensions.get("strawberry-definition")
        if definition is None:
            raise Fallback("a field without a strawberry definition")
        return convert_arguments(raw, definition.arguments, self.scalar_registry, self.config)


@dataclass
class Compiled:
    statement: Sql
    clear_pii: bool  # objects carry PII_KEY: whose personal data the statement reads in clear


class Compiler:
    """Compiles one root field for one request's caller."""

    def __init__(
        self,
        registry: Registry,
        access: RequestAccess,
        selection: Selection,
        postgres: bool,
        today: dt.date,
    ):
        self.registry = registry
        self.today = today  # the request's day in the registry's zone, for derived fields
        self.timezone = registry.zone.key  # of date-times and date buckets
        self.access = access
        self.selection = selection
        self.sql = Dialect(postgres, registry.zone.key)
        self.aliases = 0
        self.depth = 0
        self.clear_pii = False

    @contextlib.contextmanager
    def deeper(self) -> Iterator[None]:
        """One more level of subqueries inside subqueries: SQLite's parser takes only a few."""
        self.depth += 1
        if not self.sql.postgres and self.depth > SQLITE_MAX_NESTING:
            raise Fallback(f"SQLite parses at most {SQLITE_MAX_NESTING} levels of nested relations")
        try:
            yield
        finally:
            self.depth -= 1

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"_{prefix}{self.aliases}"

    # -- roots
    def root(self, parent_type: GraphQLObjectType, details: list) -> Compiled:
        name = details[0].node.name.value
        field_def = parent_type.fields[name]
        args = self.selection.arguments(field_def, details)
        node = self._node_of_list(name)
        aggregated = (
            self._node_of_list(name.removesuffix("Aggregate")) if name.endswith("Aggregate") else None
        )
        if node is not None:
            value = self.connection(node, field_def, details, args, None)
        elif aggregated is not None:
            value = self.aggregate(aggregated, field_def, details, args)
        elif name == "node":
            type_name = type_of(args["id"])
            node = self.registry.by_type.get(type_name)
            if node is None:
                raise Fallback("node of an unknown type")
            pk = from_global_id(args["id"], type_name)
            runtime = self.selection.schema.get_type(type_name)
            value = self.lookup(node, runtime, details, pk)
        else:
            node = self._node_of_lookup(name)
            if node is None:
                raise Fallback(f"{name} is not a generated read")
            pk = from_global_id(args["id"], node.exposure.type_name)
            value = self.lookup(node, field_def.type, details, pk)
        text = "(" + value + ")" + ("::text" if self.sql.postgres else "")
        return Compiled("SELECT coalesce(" + text + ",'null')", self.clear_pii)

    def _rows(self, node: ModelNode, **options: Any) -> Any:
        """The caller's rows of the model, as every compiled read takes them; a model whose rows are
        decided per caller (Access.readers: a user's saved reports) runs on the resolvers, since a
        compiled statement is kept for every caller of the same role and area."""
        self._shared(node)
        return self.access.rows(node, **options)

    @staticmethod
    def _shared(node: ModelNode) -> None:
        """Refuse a model whose rows are decided per caller (see `_rows`)."""
        if node.exposure.access.readers is not None:
            raise Fallback(f"{node.exposure.plural} are read per user")

    def _node_of_list(self, name: str) -> ModelNode | None:
        return next((n for n in self.registry.nodes.values() if n.exposure.plural == name), None)

    def _node_of_lookup(self, name: str) -> ModelNode | None:
        return next((n for n in self.registry.nodes.values() if n.exposure.singular == name), None)

    def lookup(self, node: ModelNode, return_type: Any, details: list, pk: int) -> Sql:
        rows = node.model.filter(self._rows(node, per_row=True), id=pk)
        return self.one(node, return_type, details, rows)

    def one(self, node: ModelNode, return_type: Any, details: list, rows: QuerySet) -> Sql:
        """`SELECT <object> FROM (<rows>) AS r`: the object of the first row, NULL without one."""
        alias, inner = self.alias("r"), self.alias("s")
        element, columns, extras = self.object(node, return_type, details, alias, inner)
        source = queryset_sql(rows.limit(1).values(*sorted(columns)))
        return "SELECT " + element + " FROM (" + with_columns(inner, source, extras) + f") AS {alias}"

    # -- objects
    def object(
        self, node: ModelNode, return_type: Any, details: list, alias: str, inner: str
    ) -> tuple[Sql, set[str], list[tuple[str, Sql]]]:
        """The JSON object of a row of `alias`, the columns of the row it reads, and the columns to
        compute beside them in the subquery `inner` that `alias` selects from: the relations' JSON.

        A relation's subquery is a column of the rows' subquery rather than an argument of the
        object's JSON functions: SQLite's parser then takes twice the depth of relations.
        """
        fields = self.selection.subfields(return_type, details)
        object_type = get_named_type(return_type)
        columns = {"id"}
        pairs: list[tuple[str, Sql | str]] = []
        extras: list[tuple[str, Sql]] = []
        clear: list[str] = []
        by_name = _members(node)

        def relation(key: str, subquery: Sql) -> None:
            name = self.alias("j")
            extras.append((name, "(" + subquery + ")"))
            pairs.append((key, self.sql.json_column(ident(alias, name))))

        for key, group in fields.items():
            name = group[0].node.name.value
            if name == "__typename":
                pairs.append((key, literal(object_type.name)))
                continue
            kind, member = by_name.get(name, (None, None))
            if name == "id":
                pairs.append((key, self.sql.global_id(node.exposure.type_name, ident(alias, "id"))))
            elif kind == "scalar":
                columns.add(member.name)
                pairs.append((key, self._scalar(node, member, ident(alias, member.name), clear)))
            elif kind == "forward":
                columns.add(member.column)
                target = self.registry.node(member.model)
                rows = target.model.filter(
                    self._rows(target, per_row=True), id=RawSQL(ident(inner, member.column))
                )
                with self.deeper():
                    relation(key, self.one(target, object_type.fields[name].type, group, rows))
            elif kind == "reverse_one":
                target = self.registry.node(member.model)
                rows = target.model.filter(
                    self._rows(target, per_row=True), **{member.column: RawSQL(ident(inner, "id"))}
                )
                with self.deeper():
                    relation(key, self.one(target, object_type.fields[name].type, group, rows))
            elif kind == "reverse":
                target = self.registry.node(member.model)
                field_def = object_type.fields[name]
                args = self.selection.arguments(field_def, group)
                with self.deeper():
                    relation(
                        key,
                        self.connection(target, field_def, group, args, (member.column, ident(inner, "id"))),
                    )
            elif kind == "derived" and member.sql is not None:
                columns.update(member.reads)
                expression = member.sql(lambda column: ident(alias, column), self.today)
                pairs.append(
                    (key, self.sql.value(f"({expression})", "bool" if member.returns is bool else ""))
                )
            else:
                raise Fallback(f"{object_type.name}.{name} is computed in Python")
        if clear:
            self.clear_pii = True
            # A field is audited only when it holds a value, as the resolver does.
            names = ",".join(f"CASE WHEN {ident(alias, n)} IS NOT NULL THEN {literal(n)} END" for n in clear)
            array = "json_build_array" if self.sql.postgres else "json_array"
            pairs.append(
                (PII_KEY, f"{array}({literal(node.exposure.type_name)},{ident(alias, 'id')},{names})")
            )
        return self.sql.obj(pairs), columns, extras

    def _scalar(self, node: ModelNode, scalar: Any, column: str, clear: list[str]) -> str:
        kind = node.exposure.pii.get(scalar.name)
        if kind is None:
            return self.sql.value(column, scalar.kind, scalar.enum)
        if self.access.sees_pii(node):
            clear.append(scalar.name)
            return column
        return self.sql.mask(column, kind)

    # -- connections
    def connection(
        self,
        node: ModelNode,
        field_def: Any,
        details: list,
        args: dict[str, Any],
        parent: tuple[str, str] | None,
    ) -> Sql:
        """`SELECT <connection JSON> FROM <the page's rows>`; `parent` is (the foreign-key column,
        the parent row's id) for a relation's connection."""
        page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
        page.validate()
        where, order_by = args.get("where"), args.get("order_by")
        filtered = compile_where(node, where, self.access)
        condition = self._rows(node, per_row=parent is not None) & filtered
        branches = self.access.branches(node) if parent is None else []
        keys = with_tie_breaker(node.sort_keys(order_by, self.access))
        reverse_keys = [k.reversed() for k in keys]
        rows = node.model.filter(condition)
        if parent is not None:
            rows = rows.filter(**{parent[0]: RawSQL(parent[1])})
            counted = rows
        else:  # a top-level list's count: the area in the form for counting
            counted = node.model.filter(self._rows(node, counted=True) & filtered)
        rows = between_cursors(rows, keys, page)

        alias, inner = self.alias("c"), self.alias("t")
        extras: list[tuple[str, Sql]] = []
        size = page.size
        connection_type = get_named_type(field_def.type)
        fields = self.selection.subfields(field_def.type, details)
        columns: set[str] = {"id"}
        wants_cursor = False
        reads_rows = False  # whether the JSON aggregates the page's rows (else it needs none of them)
        pairs: list[tuple[str, Sql | str]] = []
        in_page = f"{ident(alias, '_rn')} <= {size:d}"
        order = _order(alias, keys)
        for key, group in fields.items():
            name = group[0].node.name.value
            if name == "__typename":
                pairs.append((key, literal(connection_type.name)))
            elif name == "totalCount":
                count = queryset_sql(counted.values("id"))
                pairs.append((key, "(SELECT count(*) FROM (" + count + f") AS {self.alias('n')})"))
            elif name == "nodes":
                element, used, more_columns = self.object(
                    node, connection_type.fields["nodes"].type, group, alias, inner
                )
                columns |= used
                extras += more_columns
                reads_rows = True
                pairs.append((key, self.sql.aggregate(element, order, in_page)))
            elif name == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type)
                edge_pairs: list[tuple[str, Sql | str]] = []
                for edge_key, edge_group in self.selection.subfields(edge_type, group).items():
                    edge_name = edge_group[0].node.name.value
                    if edge_name == "__typename":
                        edge_pairs.append((edge_key, literal(edge_type.name)))
                    elif edge_name == "cursor":
                        wants_cursor = True
                        edge_pairs.append((edge_key, ident(alias, "_cursor")))
                    else:  # node
                        element, used, more_columns = self.object(
                            node, edge_type.fields["node"].type, edge_group, alias, inner
                        )
                        columns |= used
                        extras += more_columns
                        edge_pairs.append((edge_key, element))
                reads_rows = True
                pairs.append((key, self.sql.aggregate(self.sql.obj(edge_pairs), order, in_page)))
            elif name == "pageInfo":
                info_type = get_named_type(connection_type.fields["pageInfo"].type)
                info_pairs: list[tuple[str, Sql | str]] = []
                more = self.sql.boolean(f"count(*) > {size:d}")
                last = f"{ident(alias, '_rn')} = {self.sql.least(ident(alias, '_n'), str(size))}"
                first = f"{ident(alias, '_rn')} = {min(size, 1):d}"  # no row of an empty page
                for info_key, info_group in self.selection.subfields(info_type, group).items():
                    info_name = info_group[0].node.name.value
                    if info_name == "__typename":
                        value = literal(info_type.name)
                    elif info_name == "hasNextPage":
                        value = self.sql.bool_literal(page.before is not None) if page.backward else more
                    elif info_name == "hasPreviousPage":
                        value = more if page.backward else self.sql.bool_literal(page.after is not None)
                    else:  # startCursor, endCursor: the page's first and last rows in the list's order
                        wants_cursor = True
                        at_start = (info_name == "startCursor") != page.backward
                        value = (
                            f"max(CASE WHEN {first if at_start else last} THEN {ident(alias, '_cursor')} END)"
                        )
                    reads_rows = reads_rows or value is more or wants_cursor
                    info_pairs.append((info_key, value))
                pairs.append((key, self.sql.obj(info_pairs)))
            else:
                raise Fallback(f"{connection_type.name}.{name}")

        if not reads_rows:
            return "SELECT " + self.sql.obj(pairs)
        # The page: at most size + 1 rows in the page's order (the extra one says whether more
        # follow), numbered in that order; the JSON lists them in the list's order.
        page_keys = reverse_keys if page.backward else keys
        names = key_columns(keys)
        flags = [f"_null{i}" for i, k in enumerate(keys) if k.nullable]
        selected = sorted(columns | set(names) | set(flags))
        if len(branches) > 1:  # the rows whose ids the branches' first rows hold (see branch_ids)
            rows = node.model.filter(id__in=RawSQL(f"({_SPLICE})"))
        source = queryset_sql(ordered(rows, page_keys).limit(size + 1).values(*selected))
        if len(branches) > 1:
            source = splice(source, _SPLICE, self.branch_ids(node, branches, filtered, keys, page, page_keys))
        extras.append(("_rn", Sql(f"ROW_NUMBER() OVER (ORDER BY {_order(inner, page_keys)})")))
        extras.append(("_n", Sql("COUNT(*) OVER ()")))
        if wants_cursor:
            kinds = [(ident(inner, n), k.kind) for n, k in zip(names, keys, strict=True)]
            extras.append(("_cursor", Sql(self.sql.cursor(kinds))))
        rows_sql = with_columns(inner, source, extras)
        if not self.sql.postgres:
            rows_sql = rows_sql + f" ORDER BY {_order(inner, keys)}"
        return "SELECT " + self.sql.obj(pairs) + " FROM (" + rows_sql + f") AS {alias}"

    def branch_ids(self, node, branches, filtered, keys, page, page_keys) -> Sql:
        """The ids of the first size + 1 rows of each branch in the page's order: the page's rows
        are among them (a row of the page is in a branch, and no more than size rows of that
        branch come before it). Each branch reads its own index, where the union of all the
        area's rows would be built, then sorted, for twenty of them."""
        parts = []
        names = ["id", *key_columns(keys), *(f"_null{i}" for i, k in enumerate(keys) if k.nullable)]
        for branch in branches:
            rows = between_cursors(node.model.filter(branch & filtered), keys, page)
            first = queryset_sql(ordered(rows, page_keys).limit(page.size + 1).values(*dict.fromkeys(names)))
            name = self.alias("b")
            parts.append(f"SELECT {ident(name, 'id')} FROM (" + first + f") AS {name}")
        return join(parts, " UNION ")

    # -- aggregates
    def aggregate(self, node: ModelNode, field_def: Any, details: list, args: dict[str, Any]) -> Sql:
        """`<plural>Aggregate`: the overall measures from one row, the groups from the grouped query,
        both built by `Aggregates` as the resolver builds them."""
        self._shared(node)  # a model read per user runs on the resolvers (see `_rows`)
        aggregates = node.aggregates
        group_by = args.get("group_by") or []
        condition = aggregates.condition(self.access, args.get("where"), group_by)
        aggregate_type = get_named_type(field_def.type)
        fields = self.selection.subfields(field_def.type, details)
        groups_selected = [g for g in fields.values() if g[0].node.name.value == "groups"]
        group_type = get_named_type(aggregate_type.fields["groups"].type)
        wanted_groups: set[str] = set()
        for group in groups_selected:
            wanted_groups |= self._wanted(group_type, self.selection.subfields(group_type, group))
        grouped = keys = None
        if group_by:  # built even when unselected: its refusals (first out of range ...) hold
            grouped, keys = aggregates.groups_query(
                condition,
                group_by,
                args.get("having"),
                args.get("order_by") or [],
                args.get("first"),
                self.timezone,
                wanted_groups,
                self.today,
            )
        totals = self.alias("a")
        pairs: list[tuple[str, Sql | str]] = []
        for key, group in fields.items():
            name = group[0].node.name.value
            if name == "__typename":
                pairs.append((key, literal(aggregate_type.name)))
            elif name == "groups":
                pairs.append((key, self._groups(aggregates, group_type, group, grouped, keys)))
            else:
                pairs.append((key, self._measure(aggregates, aggregate_type, name, group, totals)))
        wanted = self._wanted(aggregate_type, fields)
        if not wanted:
            return "SELECT " + self.sql.obj(pairs)
        source = queryset_sql(aggregates.totals_query(condition, wanted, self.today))
        return "SELECT " + self.sql.obj(pairs) + " FROM (" + source + f") AS {totals}"

    def _wanted(self, object_type: Any, fields: dict[str, list]) -> set[str]:
        """The measures a selection asks for: "count", "sum.tripsSaved" ... (as `Aggregates` names them)."""
        out = set()
        for group in fields.values():
            name = group[0].node.name.value
            if name == "count":
                out.add("count")
            elif name in ("sum", "avg", "min", "max", "figures"):
                for sub in self.selection.subfields(object_type.fields[name].type, group).values():
                    if sub[0].node.name.value != "__typename":
                        out.add(f"{name}.{sub[0].node.name.value}")
        return out

    def _measure(self, aggregates: Any, object_type: Any, name: str, group: list, alias: str) -> Sql | str:
        if name == "count":
            return ident(alias, "agg_count")
        measure_type = get_named_type(object_type.fields[name].type)
        pairs: list[tuple[str, Sql | str]] = []
        scalars = {to_camel_case(s.name): s for s in aggregates.values}
        figures = {to_camel_case(f): f for f in aggregates.figures}
        for key, sub in self.selection.subfields(object_type.fields[name].type, group).items():
            field = sub[0].node.name.value
            if field == "__typename":
                pairs.append((key, literal(measure_type.name)))
                continue
            if name == "figures":
                pairs.append((key, ident(alias, f"agg_figures_{figures[field]}")))
                continue
            scalar = scalars[field]
            column = ident(alias, f"agg_{name}_{scalar.name}")
            pairs.append(
                (key, self.sql.value(column, scalar.kind, scalar.enum) if name in ("min", "max") else column)
            )
        return self.sql.obj(pairs)

    def _groups(self, aggregates: Any, group_type: Any, details: list, grouped: Any, keys: Any) -> Sql | str:
        if grouped is None:
            return "'[]'::json" if self.sql.postgres else "json('[]')"
        alias, inner = self.alias("g"), self.alias("h")
        column_of = {
            group.attribute: (alias_name if not isinstance(expr, str) else expr)
            for alias_name, (group, expr) in keys.items()
        }
        pairs: list[tuple[str, Sql | str]] = []
        for key, group in self.selection.subfields(group_type, details).items():
            name = group[0].node.name.value
            if name == "__typename":
                pairs.append((key, literal(group_type.name)))
            elif name == "keys":
                keys_type = get_named_type(group_type.fields["keys"].type)
                by_name = {to_camel_case(g.attribute): g for g in aggregates.groups}
                key_pairs: list[tuple[str, Sql | str]] = []
                for sub_key, sub in self.selection.subfields(keys_type, group).items():
                    field = sub[0].node.name.value
                    if field == "__typename":
                        key_pairs.append((sub_key, literal(keys_type.name)))
                        continue
                    found = by_name[field]
                    if found.attribute not in column_of:
                        key_pairs.append((sub_key, "NULL"))
                        continue
                    column = ident(alias, column_of[found.attribute])
                    kind = "date" if found.bucketed else found.scalar.kind
                    key_pairs.append((sub_key, self.sql.value(column, kind, found.scalar.enum)))
                pairs.append((key, self.sql.obj(key_pairs)))
            else:
                pairs.append((key, self._measure(aggregates, group_type, name, group, alias)))
        rows = with_columns(inner, queryset_sql(grouped), [("_rn", Sql("ROW_NUMBER() OVER ()"))])
        element = self.sql.aggregate(self.sql.obj(pairs), ident(alias, "_rn"), "1 = 1")
        return "(SELECT " + element + " FROM (" + rows + f") AS {alias})"


def with_columns(alias: str, source: Sql, extras: list[tuple[str, Sql]]) -> Sql:
    """`SELECT alias.*, <extras> FROM (source) AS alias`, or the source itself without extras."""
    if not extras:
        return source
    columns = join([f"{ident(alias)}.*", *(expression + f" AS {ident(name)}" for name, expression in extras)])
    return "SELECT " + columns + " FROM (" + source + f") AS {alias}"


def _order(alias: str, keys: list[SortKey]) -> str:
    """ORDER BY terms over the columns `ordered` exposes (its NULL flags included)."""
    return ", ".join(
        order_sql(key, ident(alias, name), ident(alias, f"_null{i}"))
        for i, (name, key) in enumerate(zip(key_columns(keys), keys, strict=True))
    )


_MEMBERS: dict[Any, dict[str, tuple[str, Any]]] = {}


def _members(node: ModelNode) -> dict[str, tuple[str, Any]]:
    """GraphQL field name -> (what it is, its spec) for one model's object type."""
    found = _MEMBERS.get(node)
    if found is None:
        found = {to_camel_case(s.name): ("scalar", s) for s in node.scalars}
        found.update({to_camel_case(r.name): ("forward", r) for r in node.forward})
        for r in node.backward:
            found[to_camel_case(r.name)] = ("reverse_one" if r.one else "reverse", r)
        found.update({to_camel_case(d.name): ("derived", d) for d in node.exposure.derived})
        _MEMBERS[node] = found
    return found


def strip_pii(text: str) -> tuple[str, list[tuple[str, int, str]]]:
    """The JSON without the clear-read markers, and the (type, id, field) reads they name."""
    reads: list[tuple[str, int, str]] = []

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            marker = value.pop(PII_KEY, None)
            if marker is not None:
                type_name, pk, *names = marker
                reads.extend((type_name, pk, n) for n in names if n is not None)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        return value

    data = walk(json.loads(text))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")), reads
