"""The models a GraphQL schema exposes, read from its introspection: lists, filters, order, CRUD inputs.

Nothing here knows a model by name: a `<Type>Connection` list field of Query is a model, its `where`
and `orderBy` arguments give the filters and sort keys, its to-one relations are shown by a field of
the related object that names it, and `create<Type>` / `update<Type>` mutations give the forms. Values
typed into widgets become GraphQL variables here too. Where the API answers no introspection
(production), the same description comes from the SDL shipped with the `schema` package.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import build_schema, introspection_from_schema

from admin_ui.formatting import DISTRICT

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"
INTROSPECTION = f"""query BrowserIntrospection {{ __schema {{
  queryType {{ name }} mutationType {{ name }}
  types {{
    kind name description
    fields {{ name description args {{ name defaultValue type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }}
    inputFields {{ name description defaultValue type {{ {TYPE_REF} }} }}
    enumValues {{ name description }}
  }}
}} }}"""
LEAF_KINDS = ("SCALAR", "ENUM")
COMBINATORS = ("and", "or", "not")
INTEGERS = ("Int", "BigInt")
NAMING = ("name", "number", "code", "revision", "title")  # a field that names an object, by preference


@dataclass(frozen=True)
class Ref:
    """A type reference unwrapped: the named type, and whether it is required and a list."""

    name: str
    kind: str
    required: bool
    is_list: bool
    sdl: str  # as written in a variable definition, e.g. "[Tier!]"

    @property
    def leaf(self) -> bool:
        return self.kind in LEAF_KINDS


@dataclass(frozen=True)
class Field:
    """A leaf field of an object (a column) or of an input (a form field or a filter operator)."""

    name: str
    description: str
    ref: Ref
    choices: tuple[str, ...] = ()  # enum values
    required: bool = False  # an input field that must be given


@dataclass(frozen=True)
class Step:
    """A field on a filter's path, with the type it belongs to (labels come from both)."""

    owner: str
    name: str
    description: str


@dataclass(frozen=True)
class Filter:
    """A filterable field, or a to-one relation by the field that names the related object (else
    its id): its path in `where` and its operators."""

    steps: tuple[Step, ...]
    operators: tuple[Field, ...]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    @property
    def label(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Relation:
    """A to-one relation, shown by the field that names the related object instead of its global id."""

    name: str
    description: str
    type_name: str
    naming: str  # the related object's field, e.g. "name"


@dataclass(frozen=True)
class Mutation:
    name: str
    arguments: dict[str, Ref]  # e.g. {"id": ID!, "input": CreateWindowInput!}
    fields: tuple[Field, ...]  # the input's fields that take plain values
    nested: tuple[str, ...]  # input fields taking other inputs (nested creates), not offered here


@dataclass(frozen=True)
class Model:
    plural: str
    type_name: str
    description: str
    arguments: dict[str, Ref]
    columns: tuple[Field, ...]
    relations: tuple[Relation, ...]
    naming: str | None  # the field that names a row, e.g. "code"; None when it has none
    filters: tuple[Filter, ...]
    order_fields: tuple[str, ...]
    directions: tuple[str, ...]
    create: Mutation | None
    update: Mutation | None
    # Every field of a to-one relation's `where` (filters hold only the field naming the related row)
    related_filters: tuple[Filter, ...] = ()


def ref(raw: dict) -> Ref:
    required = raw["kind"] == "NON_NULL"
    inner = raw["ofType"] if required else raw
    is_list = inner["kind"] == "LIST"
    named = inner
    while named.get("ofType"):
        named = named["ofType"]
    return Ref(named["name"], named["kind"], required, is_list, _sdl(raw))


def _sdl(raw: dict) -> str:
    if raw["kind"] == "NON_NULL":
        return f"{_sdl(raw['ofType'])}!"
    if raw["kind"] == "LIST":
        return f"[{_sdl(raw['ofType'])}]"
    return raw["name"]


def shipped_schema() -> dict:
    """The `__schema` of the SDL committed with the `schema` package, as introspection answers it
    (located without importing the package, which would bring the server's libraries)."""
    spec = importlib.util.find_spec("schema")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the schema package is not installed")
    sdl = Path(next(iter(spec.submodule_search_locations)), "schema.graphql").read_text(encoding="utf-8")
    return introspection_from_schema(build_schema(sdl))["__schema"]


class Schema:
    """The introspected schema, by type name."""

    def __init__(self, data: dict) -> None:
        self.types = {t["name"]: t for t in data["types"]}
        self.query = self.types[data["queryType"]["name"]]
        mutation = data.get("mutationType")
        self.mutation = self.types[mutation["name"]] if mutation else {"fields": []}

    def field(self, raw: dict, required: bool = False) -> Field:
        kind = ref(raw["type"])
        choices = tuple(v["name"] for v in self.types[kind.name].get("enumValues") or ())
        return Field(raw["name"], raw.get("description") or "", kind, choices, required)

    def models(self) -> list[Model]:
        found = []
        for raw in self.query["fields"]:
            kind = ref(raw["type"])
            if kind.kind == "OBJECT" and not kind.is_list and kind.name.endswith("Connection"):
                model = self._model(raw)
                if model is not None:
                    found.append(model)
        return found

    def _model(self, raw: dict) -> Model | None:
        connection = self.types[ref(raw["type"]).name]
        nodes = next((f for f in connection["fields"] or () if f["name"] == "nodes"), None)
        if nodes is None:
            return None
        node = self.types[ref(nodes["type"]).name]
        arguments = {a["name"]: ref(a["type"]) for a in raw["args"]}
        order = self.types.get(arguments["orderBy"].name) if "orderBy" in arguments else None
        order_fields = [f for f in (order or {}).get("inputFields") or () if ref(f["type"]).leaf]
        directions = self.field(order_fields[0]).choices if order_fields else ()
        columns = tuple(self._columns(node))
        return Model(
            plural=raw["name"],
            type_name=node["name"],
            description=node.get("description") or "",
            arguments=arguments,
            columns=columns,
            relations=tuple(self._relations(node)),
            naming=_naming(c.name for c in columns),
            filters=tuple(self._filters(node, arguments.get("where"))),
            order_fields=tuple(f["name"] for f in order_fields),
            directions=directions,
            create=self._mutation(f"create{node['name']}"),
            update=self._mutation(f"update{node['name']}"),
            related_filters=tuple(self._related_filters(node, arguments.get("where"))),
        )

    def _columns(self, node: dict) -> list[Field]:
        return [
            self.field(f)
            for f in node["fields"]
            if ref(f["type"]).leaf
            and not ref(f["type"]).is_list
            and not any(ref(a["type"]).required for a in f["args"])
        ]

    def _to_one(self, node: dict) -> dict[str, dict]:
        return {f["name"]: f for f in node["fields"] if ref(f["type"]).kind == "OBJECT" and not f["args"]}

    def _relations(self, node: dict) -> list[Relation]:
        found = []
        for name, raw in self._to_one(node).items():
            related = self.types[ref(raw["type"]).name]
            naming = _naming(c.name for c in self._columns(related))
            if naming:
                found.append(Relation(name, raw.get("description") or "", related["name"], naming))
        return found

    def _filters(self, node: dict, where: Ref | None) -> list[Filter]:
        if where is None:
            return []
        to_one, described = self._to_one(node), {f["name"]: f for f in node["fields"]}
        found = []
        for raw in self.types[where.name]["inputFields"] or ():
            if raw["name"] in COMBINATORS:
                continue
            step = Step(
                node["name"], raw["name"], (described.get(raw["name"]) or raw).get("description") or ""
            )
            operators = self._operators(ref(raw["type"]))
            if operators:
                found.append(Filter((step,), operators))
            elif raw["name"] in to_one:  # a to-one relation: by the field that names it, else its id
                related = self.types[ref(to_one[raw["name"]]["type"]).name]
                nested = {f["name"]: f for f in self.types[ref(raw["type"]).name]["inputFields"] or ()}
                named = _naming(n for n in nested if self._operators(ref(nested[n]["type"]))) or "id"
                if named in nested and self._operators(ref(nested[named]["type"])):
                    inner = Step(related["name"], named, nested[named].get("description") or "")
                    found.append(Filter((step, inner), self._operators(ref(nested[named]["type"]))))
        return found

    def _related_filters(self, node: dict, where: Ref | None) -> list[Filter]:
        """A filter per field of each to-one relation's `where` that takes values (organization's
        tier, an item's type ...), one level deep."""
        if where is None:
            return []
        to_one, found = self._to_one(node), []
        for raw in self.types[where.name]["inputFields"] or ():
            if raw["name"] not in to_one or self._operators(ref(raw["type"])):
                continue
            related = self.types[ref(to_one[raw["name"]]["type"]).name]
            described = {f["name"]: f for f in related["fields"] or ()}
            step = Step(node["name"], raw["name"], to_one[raw["name"]].get("description") or "")
            for inner in self.types[ref(raw["type"]).name]["inputFields"] or ():
                operators = self._operators(ref(inner["type"]))
                if operators and inner["name"] not in COMBINATORS:
                    text = (described.get(inner["name"]) or inner).get("description") or ""
                    found.append(Filter((step, Step(related["name"], inner["name"], text)), operators))
        return found

    def _operators(self, kind: Ref) -> tuple[Field, ...]:
        """The operators of a filter input (one whose fields all take values); none for other inputs."""
        fields = self.types[kind.name].get("inputFields") if kind.kind == "INPUT_OBJECT" else None
        if not fields or not all(ref(f["type"]).leaf for f in fields):
            return ()
        return tuple(self.field(f) for f in fields)

    def _mutation(self, name: str) -> Mutation | None:
        raw = next((f for f in self.mutation["fields"] or () if f["name"] == name), None)
        if raw is None or "input" not in {a["name"] for a in raw["args"]}:
            return None
        arguments = {a["name"]: ref(a["type"]) for a in raw["args"]}
        inputs = self.types[arguments["input"].name]["inputFields"] or ()
        fields = tuple(
            self.field(f, required=ref(f["type"]).required and f.get("defaultValue") is None)
            for f in inputs
            if ref(f["type"]).leaf
        )
        nested = tuple(f["name"] for f in inputs if not ref(f["type"]).leaf)
        return Mutation(name, arguments, fields, nested)


def _naming(names) -> str | None:
    names = set(names)
    return next((n for n in NAMING if n in names), None)


def list_query(model: Model) -> str:
    wanted = [a for a in ("where", "orderBy", "first", "after") if a in model.arguments]
    definitions = ", ".join(f"${a}: {model.arguments[a].sdl}" for a in wanted)
    passed = ", ".join(f"{a}: ${a}" for a in wanted)
    columns = " ".join(
        [c.name for c in model.columns] + [f"{r.name} {{ {r.naming} }}" for r in model.relations]
    )
    return (
        f"query({definitions}) {{ {model.plural}({passed}) {{ totalCount "
        f"pageInfo {{ hasNextPage endCursor }} nodes {{ {columns} }} }} }}"
    )


def mutation_document(mutation: Mutation, selection: str) -> str:
    definitions = ", ".join(f"${a}: {kind.sdl}" for a, kind in mutation.arguments.items())
    passed = ", ".join(f"{a}: ${a}" for a in mutation.arguments)
    return f"mutation({definitions}) {{ {mutation.name}({passed}) {{ {selection} }} }}"


def where(conditions: list[tuple[Filter, str, Any]]) -> dict | None:
    """`where` for (filter, operator, value) conditions; each field at most once, so all must hold."""
    out: dict = {}
    for flt, operator, value in conditions:
        level = out
        for step in flt.path:
            level = level.setdefault(step, {})
        level[operator] = value
    return out or None


def convert(kind: Ref, raw: Any) -> Any:
    """A widget's value as a GraphQL variable value; None when nothing was filled in.

    Raises ValueError for a value the type cannot take.
    """
    if _empty(raw):
        return None
    if kind.is_list:
        items = raw.split(",") if isinstance(raw, str) else raw
        return [_one(kind, item) for item in items if not _empty(item)] or None
    return _one(kind, raw)


def _empty(raw: Any) -> bool:
    if isinstance(raw, str):
        return not raw.strip()
    return raw is None or (isinstance(raw, list | tuple) and not raw)


def _one(kind: Ref, raw: Any) -> Any:
    if isinstance(raw, str) and kind.name != "String":
        raw = raw.strip()
    if kind.name in INTEGERS:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(f"{raw} is not a whole number")
        return int(raw)
    if kind.name == "Float":
        return float(raw)
    if kind.name == "Boolean":
        if isinstance(raw, str):
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"{raw!r} is neither true nor false")
            return raw.lower() == "true"
        return bool(raw)
    if kind.name == "Date":
        return raw.isoformat() if isinstance(raw, dt.date) else dt.date.fromisoformat(raw).isoformat()
    if kind.name == "DateTime":
        moment = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(raw)
        # A time typed without its zone is the district's, as the pages show times.
        return (moment if moment.tzinfo else moment.replace(tzinfo=DISTRICT)).isoformat()
    if kind.name == "JSON" and isinstance(raw, str):
        return json.loads(raw)
    return raw


def csv_text(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


MEASURES = ("sum", "avg", "min", "max", "figures")  # figures: the domain's (办结率 ...), by the API
MAX_GROUPS = 10000  # the most groups an aggregate gives (schema/generator/aggregates.py)


@dataclass(frozen=True)
class Grouping:
    """A field an aggregate groups by: a plain key, or a date or time by a bucket (DAY ... YEAR)."""

    name: str
    description: str
    buckets: tuple[str, ...] = ()  # empty: a plain key (true)


@dataclass(frozen=True)
class Aggregate:
    """A model's `<plural>Aggregate` field: what it groups by and which fields each measure takes."""

    plural: str  # the model's list field, e.g. cases
    field: str  # e.g. casesAggregate
    type_name: str  # the model's type, e.g. Case
    description: str
    where: str | None  # the where input's type, e.g. CaseWhere
    groupings: tuple[Grouping, ...]
    measures: dict[str, tuple[Field, ...]]  # "sum" -> the fields it sums; "figures" -> the figures


def aggregates(schema: Schema) -> list[Aggregate]:
    """Every model with an aggregate field, from the schema alone (a new model shows with no code)."""
    found = []
    models = {m.plural: m for m in schema.models()}
    for raw in schema.query["fields"]:
        plural = raw["name"].removesuffix("Aggregate")
        if not raw["name"].endswith("Aggregate") or plural not in models:
            continue
        result = schema.types[ref(raw["type"]).name]
        arguments = {a["name"]: ref(a["type"]) for a in raw["args"]}
        group_by = schema.types.get(arguments["groupBy"].name) if "groupBy" in arguments else None
        groupings = []
        for entry in (group_by or {}).get("inputFields") or ():
            kind = ref(entry["type"])
            buckets = schema.field(entry).choices if kind.kind == "ENUM" else ()
            groupings.append(Grouping(entry["name"], entry.get("description") or "", buckets))
        measures = {}
        for entry in result["fields"]:
            if entry["name"] in MEASURES:
                fields = schema.types[ref(entry["type"]).name]["fields"] or ()
                measures[entry["name"]] = tuple(schema.field(f) for f in fields)
        model = models[plural]
        found.append(
            Aggregate(
                plural=plural,
                field=raw["name"],
                type_name=model.type_name,
                description=model.description,
                where=arguments["where"].name if "where" in arguments else None,
                groupings=tuple(groupings),
                measures=measures,
            )
        )
    return found


def measure_key(measure: str) -> str:
    """How orderBy and having name a measure: "count"; "sum:amountFen" -> "sumAmountFen"; a figure
    by its own name ("figures:onTimeRate" -> "onTimeRate")."""
    function, _, field = measure.partition(":")
    if function == "figures":
        return field
    return function + field[:1].upper() + field[1:] if field else function


def aggregate_document(
    aggregate: Aggregate,
    groupings: Sequence[tuple[Grouping, str | None]],
    measure: str,
    order: str | None = None,
    at_least: float | None = None,
) -> str:
    """The report's query: the aggregate grouped by up to two fields, each with its date bucket
    (or totals when none), counting or measuring (`measure`: "count", "sum:amountFen",
    "figures:onTimeRate"), filtered by `$where`; the groups ordered by the measure (`order`: ASC
    or DESC) and kept when it is at least `at_least`."""
    selected = "count"
    if measure != "count":
        function, _, field = measure.partition(":")
        selected = f"count {function} {{ {field} }}"
    variables = f"$where: {aggregate.where}" if aggregate.where else ""
    where = "where: $where" if aggregate.where else ""
    if not groupings:
        body = (
            f"{aggregate.field}({where}) {{ {selected} }}" if where else f"{aggregate.field} {{ {selected} }}"
        )
    else:
        keys = ", ".join(f"{{{g.name}: {bucket or 'true'}}}" for g, bucket in groupings)
        names = " ".join(g.name for g, _bucket in groupings)
        ordered = f"orderBy: [{{{measure_key(measure)}: {order}}}]" if order else ""
        kept = f"having: {{{measure_key(measure)}: {{gte: {at_least!r}}}}}" if at_least is not None else ""
        limit = f"first: {MAX_GROUPS}"  # the most the API gives; the page says when it is reached
        arguments = ", ".join(a for a in (where, f"groupBy: [{keys}]", kept, ordered, limit) if a)
        body = f"{aggregate.field}({arguments}) {{ groups {{ keys {{ {names} }} {selected} }} }}"
    return f"query Report({variables}) {{ {body} }}" if variables else f"query Report {{ {body} }}"


def report_rows(data: dict, view: dict) -> list[dict]:
    """A report's answer as rows: one per group (its key, the second grouping's key when there is
    one, then the measure), or one row of totals."""
    (answer,) = data.values()
    x, series, y = view.get("x"), view.get("series"), view.get("y", "count")

    def value(entry: dict) -> Any:
        if y == "count":
            return entry["count"]
        function, _, field = y.partition(":")
        return (entry.get(function) or {}).get(field)

    if x and "groups" in answer:
        if series:
            return [{x: g["keys"][x], series: g["keys"][series], y: value(g)} for g in answer["groups"]]
        return [{x: group["keys"][x], y: value(group)} for group in answer["groups"]]
    return [{y: value(answer)}]
