"""Builds the GraphQL types, inputs and query fields of every exposed model from its spec."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import strawberry
from strawberry.utils.str_converters import to_camel_case
from tortoise.models import Model

from schema.generator.access import RequestAccess, context_access
from schema.generator.aggregates import Aggregates
from schema.generator.errors import EngineError
from schema.generator.filters import WITHIN_DESCRIPTION, IDFilter, compile_where, operator_input
from schema.generator.ids import from_global_id, to_global_id, type_of
from schema.generator.loaders import ConnectionArgs, Loaders
from schema.generator.masking import PiiRule, mask
from schema.generator.pagination import (
    PageInfo,
    PageRequest,
    SortDirection,
    SortKey,
    one_choice,
    paginate,
    sort_key,
)
from schema.generator.policy import PII_READS, Hooks, Op, Policy, Unrecorded
from schema.generator.resolvers import REQUIRED, flat_fields, resolver
from schema.generator.scalars import BigInt, graphql_enum, scalar_map
from schema.generator.spec import Derived, Exposure, ForwardRelation, ReverseRelation, ScalarField
from schema.generator.values import Connection


@strawberry.interface(description="An object with a global id (Relay Node)")
class Node:
    id: strawberry.ID = strawberry.field(description="Global Relay id (全局标识)")


def field_type(scalar: ScalarField) -> Any:
    base = {"enum": None, "bigint": BigInt}.get(scalar.kind, scalar.python_type)
    if scalar.kind == "enum":
        base = graphql_enum(scalar.enum)
    return base | None if scalar.nullable else base


class ModelNode:
    """One exposed model and the GraphQL classes generated for it."""

    def __init__(self, exposure: Exposure, registry: Registry) -> None:
        self.exposure = exposure
        self.model = exposure.model
        self.registry = registry
        self.scalars = exposure.scalars()
        name = exposure.type_name
        self.object_type: type = type(name, (Node,), {"__annotations__": {}})
        self.where: type = type(f"{name}Where", (), {"__annotations__": {}})
        self.order_by: type = type(f"{name}OrderBy", (), {"__annotations__": {}})
        self.edge: type = type(f"{name}Edge", (), {"__annotations__": {}})
        self.connection: type = type(f"{name}Connection", (), {"__annotations__": {}})

    # -- relations, limited to exposed models
    @property
    def forward(self) -> list[ForwardRelation]:
        return [r for r in self.exposure.forward() if r.model in self.registry.nodes]

    @property
    def backward(self) -> list[ReverseRelation]:
        return [r for r in self.exposure.backward() if r.model in self.registry.nodes]

    @property
    def filter_scalars(self) -> list[ScalarField]:
        return [
            s
            for s in self.scalars
            if self.plain(s) and self.exposure.allowed(self.exposure.filterable, s.name)
        ]

    @property
    def sort_scalars(self) -> list[ScalarField]:
        return [
            s for s in self.scalars if self.plain(s) and self.exposure.allowed(self.exposure.sortable, s.name)
        ]

    def plain(self, scalar: ScalarField) -> bool:
        """Filterable and sortable: not JSON, not personal data (a filter would reveal it)."""
        return scalar.kind != "json" and scalar.name not in self.exposure.pii

    # -- building
    def build_types(self) -> None:
        e = self.exposure
        obj = self.object_type
        _field(
            obj,
            "id",
            strawberry.ID,
            strawberry.field(resolver=self._id_resolver(), description="Global Relay id (全局标识)"),
        )
        for scalar in self.scalars:
            description = e.describe(scalar.name)
            if scalar.name in e.pii:
                fn = _pii_resolver(self, scalar.name, e.pii[scalar.name], field_type(scalar))
                _field(obj, scalar.name, None, strawberry.field(resolver=fn, description=description))
            else:
                _field(obj, scalar.name, field_type(scalar), strawberry.field(description=description))
        for derived in e.derived:
            _field(
                obj,
                derived.name,
                None,
                strawberry.field(resolver=_derived(derived), description=derived.description),
            )
        for relation in self.forward:
            target = self.registry.node(relation.model)
            returns = target.object_type | None if self.may_be_unreadable(relation) else target.object_type
            _field(
                obj,
                relation.name,
                None,
                strawberry.field(
                    resolver=_forward(relation, target, returns), description=e.describe(relation.name)
                ),
            )
        for relation in self.backward:
            target = self.registry.node(relation.model)
            if relation.one:
                fn = _reverse_one(relation, target, target.object_type | None)
            else:
                fn = target.connection_resolver(relation)
            _field(
                obj, relation.name, None, strawberry.field(resolver=fn, description=e.describe(relation.name))
            )
        obj.is_type_of = classmethod(lambda cls, value, info, model=self.model: isinstance(value, model))
        self._build_where()
        self._build_order_by()
        self._build_connection()
        self.aggregates = Aggregates(self)
        self.aggregates.build()

    def _build_where(self) -> None:
        where = self.where
        _field(
            where,
            "id",
            IDFilter | None,
            strawberry.field(default=None, description="Conditions on the id"),
        )
        for scalar in self.filter_scalars:
            _field(
                where,
                scalar.name,
                operator_input(scalar.kind, scalar.enum) | None,
                strawberry.field(default=None, description=self.exposure.describe(scalar.name)),
            )
        if self.exposure.tree_path is not None:
            _field(
                where,
                "within",
                strawberry.ID | None,
                strawberry.field(default=None, description=WITHIN_DESCRIPTION),
            )
        for relation in self.forward:
            target = self.registry.node(relation.model).where
            _field(
                where,
                relation.name,
                target | None,
                strawberry.field(default=None, description=f"Conditions on {relation.name}"),
            )
        for relation in self.backward:
            target = self.registry.node(relation.model).where
            description = f"At least one of {relation.name} meets these conditions"
            _field(
                where,
                relation.name,
                target | None,
                strawberry.field(default=None, description=description),
            )
        _field(
            where,
            "and_",
            list[where] | None,
            strawberry.field(default=None, name="and", description="All of these hold"),
        )
        _field(
            where,
            "or_",
            list[where] | None,
            strawberry.field(default=None, name="or", description="At least one of these holds"),
        )
        _field(
            where,
            "not_",
            where | None,
            strawberry.field(default=None, name="not", description="This does not hold"),
        )

    def _build_order_by(self) -> None:
        order = self.order_by
        for scalar in self.sort_scalars:
            _field(
                order,
                scalar.name,
                SortDirection | None,
                strawberry.field(default=None, description=f"Sort by {scalar.name}"),
            )
        for relation in self.forward:
            target = self.registry.node(relation.model).order_by
            _field(
                order,
                relation.name,
                target | None,
                strawberry.field(default=None, description=f"Sort by a field of {relation.name}"),
            )

    def _build_connection(self) -> None:
        edge, conn, obj = self.edge, self.connection, self.object_type
        _field(
            edge, "cursor", str, strawberry.field(description="Opaque cursor of this item, for after/before")
        )
        _field(edge, "node", obj, strawberry.field(description="The item"))
        _field(
            conn, "edges", list[edge], strawberry.field(description="Items of this page with their cursors")
        )
        _field(conn, "nodes", list[obj], strawberry.field(description="Items of this page"))
        _field(conn, "page_info", PageInfo, strawberry.field(description="Paging information (Relay)"))

        async def total_count(root: Connection, info: strawberry.Info) -> int:
            return await root.counter()

        _field(
            conn,
            "total_count",
            None,
            strawberry.field(
                resolver=resolver(total_count, int),
                description="Number of matching items across all pages (counted only when asked)",
            ),
        )

    def decorate(self) -> None:
        desc = self.exposure.description
        strawberry.type(self.object_type, description=desc)
        strawberry.input(self.where, description=f"Conditions on {self.exposure.plural}; all given must hold")
        strawberry.input(
            self.order_by, description=f"One sort key for {self.exposure.plural}: set exactly one field"
        )
        strawberry.type(self.edge, description=f"An item of a {self.exposure.type_name} list with its cursor")
        strawberry.type(self.connection, description=f"A page of {self.exposure.plural} (Relay connection)")

    # -- resolvers
    def _id_resolver(self):
        type_name = self.exposure.type_name

        def resolve(root: Model, info: strawberry.Info) -> strawberry.ID:
            return strawberry.ID(to_global_id(type_name, root.pk))

        return resolve

    def may_be_unreadable(self, relation: ForwardRelation) -> bool:
        """Whether the related object may be missing or hidden from some caller (so the field is nullable).

        True for a nullable relation, for a target some role reads only within its area, and for a
        target some role that reads this model may not read at all.
        """
        if relation.nullable:
            return True
        target = self.registry.node(relation.model).exposure.access
        if target.scoped_reads():
            return True
        for role, mine in self.exposure.access.grants.items():
            theirs = target.grant_for(role)
            if Op.READ in mine.ops and (theirs is None or Op.READ not in theirs.ops):
                return True
        return False

    def selected_columns(self, info: strawberry.Info) -> tuple[str, ...]:
        """Model fields the selection of this connection's nodes reads (plus the id)."""
        names: set[str] = set()
        for connection in info.selected_fields:
            for part in flat_fields(connection.selections):
                if part.name == "nodes":
                    names |= {f.name for f in flat_fields(part.selections)}
                elif part.name == "edges":
                    for edge in flat_fields(part.selections):
                        if edge.name == "node":
                            names |= {f.name for f in flat_fields(edge.selections)}
        columns = {"id"}
        columns |= {s.name for s in self.scalars if to_camel_case(s.name) in names}
        columns |= {r.column for r in self.forward if to_camel_case(r.name) in names}
        columns |= {c for d in self.exposure.derived if to_camel_case(d.name) in names for c in d.reads}
        return tuple(sorted(columns))

    def sort_keys(
        self, order_by: list[Any] | None, access: RequestAccess, prefix: str = "", nullable: bool = False
    ) -> list[SortKey]:
        keys: list[SortKey] = []
        for element in order_by or []:
            keys.append(self._sort_key(element, access, prefix, nullable))
        return keys

    def _sort_key(self, element: Any, access: RequestAccess, prefix: str, nullable: bool) -> SortKey:
        name, value = one_choice(element, "orderBy")
        relation = next((r for r in self.forward if r.name == name), None)
        if relation is not None:
            target = self.registry.node(relation.model)
            access.require_all(target, f"sorting by {name}")
            (key,) = target.sort_keys([value], access, f"{prefix}{name}__", nullable or relation.nullable)
            return key
        scalar = next(s for s in self.sort_scalars if s.name == name)
        return sort_key(
            f"{prefix}{name}", scalar.kind, nullable or scalar.nullable, value, self.registry.zone
        )

    def list_arguments(self) -> dict[str, tuple[Any, Any, str]]:
        return {
            "where": (self.where | None, None, "Conditions the items meet"),
            "order_by": (
                list[self.order_by] | None,
                None,
                "Sort keys, most significant first; id breaks ties",
            ),
            "first": (
                int | None,
                None,
                "Page size from the start or after `after` (default 100, max 500)",
            ),
            "after": (str | None, None, "Cursor the page starts after"),
            "last": (int | None, None, "Page size from the end or before `before` (max 500)"),
            "before": (str | None, None, "Cursor the page ends before"),
        }

    def list_resolver(self):
        node = self

        async def resolve(
            root, info, where=None, order_by=None, first=None, after=None, last=None, before=None
        ):
            access = await node.registry.access(info)
            condition = access.rows(node) & compile_where(node, where, access)
            keys = node.sort_keys(order_by, access)
            own_keys = {key.path for key in keys if "__" not in key.path}
            query = node.model.filter(condition).only(*{*node.selected_columns(info), *own_keys})
            rows, cursors, info_ = await paginate(query, keys, PageRequest(first, after, last, before))

            async def count() -> int:
                counted = access.rows(node, counted=True) & compile_where(node, where, access)
                return await node.model.filter(counted).count()

            return Connection.of(rows, cursors, info_, count)

        return resolver(resolve, self.connection, self.list_arguments())

    def connection_resolver(self, relation: ReverseRelation):
        node = self

        async def resolve(
            root, info, where=None, order_by=None, first=None, after=None, last=None, before=None
        ):
            page = PageRequest(first, after, last, before)
            args = ConnectionArgs(where, order_by, page, node.selected_columns(info))
            return await (await node.registry.loaders(info)).children(node, relation, root.pk, args)

        return resolver(resolve, self.connection, self.list_arguments())

    def lookup_resolver(self):
        node = self

        async def resolve(root, info, id):
            pk = from_global_id(id, node.exposure.type_name)
            return await (await node.registry.loaders(info)).by_id(node).load(pk)

        return resolver(resolve, self.object_type | None, {"id": (strawberry.ID, REQUIRED, "Global id")})


def _pii_resolver(node: ModelNode, name: str, kind: PiiRule, returns: Any):
    type_name = node.exposure.type_name

    async def resolve(root, info):
        value = getattr(root, name)
        # The object was loaded through the caller's row scope: a role in clear_roles sees only
        # personal data of its own area in clear.
        if value is None or not (await node.registry.access(info)).sees_pii(node):
            return mask(value, kind)
        info.context.setdefault(PII_READS, []).append((type_name, root.pk, name))
        return value

    return resolver(resolve, returns)


def _forward(relation: ForwardRelation, target: ModelNode, returns: Any):
    async def resolve(root, info):
        related_id = getattr(root, relation.column)
        if related_id is None:
            return None
        return await (await target.registry.loaders(info)).by_id(target).load(related_id)

    return resolver(resolve, returns)


def _reverse_one(relation: ReverseRelation, target: ModelNode, returns: Any):
    async def resolve(root, info):
        return await (await target.registry.loaders(info)).one_by_parent(target, relation).load(root.pk)

    return resolver(resolve, returns)


def _derived(derived: Derived):
    def resolve(root, info: strawberry.Info):  # the row; strawberry passes both by these names
        return derived.compute(root, info)

    resolve.__annotations__["return"] = derived.returns
    return resolve


def _field(cls: type, name: str, annotation: Any, value: Any) -> None:
    if annotation is not None:
        cls.__annotations__[name] = annotation
    setattr(cls, name, value)


class Registry:
    """The engine: every exposed model, served under an application's policy and hooks.

    `build()` creates the GraphQL classes in dependency-free phases; `query_fields()` and
    `MutationBuilder(registry).fields()` are the generated root fields, `scalars` the scalar map
    its schema must use and `executor_for(registry)` its compiling executor.
    """

    def __init__(
        self,
        exposures: list[Exposure],
        policy: Policy,
        hooks: Hooks | None = None,
        *,
        zone: ZoneInfo | str = "UTC",
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        self.policy = policy
        self.hooks = hooks or Unrecorded()
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)  # date-times are told here
        self.scalars = scalar_map(self.zone)
        common = dict(descriptions or {})  # of fields of any model, by name ("created_at")
        self.nodes: dict[type[Model], ModelNode] = {}
        for exposure in exposures:
            resolved = replace(
                exposure,
                access=exposure.access or policy.default_access,
                descriptions={**common, **exposure.descriptions},
            )
            self.nodes[exposure.model] = ModelNode(resolved, self)
        self.by_type = {n.exposure.type_name: n for n in self.nodes.values()}

    async def access(self, info: strawberry.Info) -> RequestAccess:
        """The caller of the request and its area (read once per request)."""
        return await context_access(info.context, self.policy)

    async def loaders(self, info: strawberry.Info) -> Loaders:
        """The request's batch loaders of rows, pages and counts."""
        context = info.context
        if "loaders" not in context:
            context["loaders"] = Loaders(await self.access(info))
        return context["loaders"]

    def today(self, clock: Any = None) -> dt.date:
        """The request's day in the registry's zone (derived fields such as in-force compare with it)."""
        return dt.datetime.fromtimestamp((clock or time.time)(), self.zone).date()

    def node(self, model: type[Model]) -> ModelNode:
        return self.nodes[model]

    def build(self) -> Registry:
        for node in self.nodes.values():
            node.build_types()
        for node in self.nodes.values():
            node.decorate()
        return self

    def query_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for node in self.nodes.values():
            e = node.exposure
            fields[f"{e.singular}_"] = strawberry.field(
                resolver=node.lookup_resolver(),
                name=e.singular,
                description=f"One {e.type_name} by global id",
            )
            fields[f"{e.plural}_aggregate"] = strawberry.field(
                resolver=node.aggregates.resolver(),
                name=f"{e.plural}Aggregate",
                description=f"Count, sums, averages and extremes of {e.plural}, overall or grouped",
            )
            fields[e.plural] = strawberry.field(
                resolver=node.list_resolver(), description=f"List of {e.plural}: filter, sort and page"
            )
        fields["node"] = strawberry.field(
            resolver=self._node_resolver(), description="Any object by its global id (Relay)"
        )
        return fields

    def _node_resolver(self):
        registry = self

        async def resolve(root, info, id):
            type_name = type_of(id)
            node = registry.by_type.get(type_name)
            if node is None:
                raise EngineError("VALIDATION_FAILED", f"{id!r} is not a global id of this API", field="id")
            pk = from_global_id(id, type_name)
            return await (await node.registry.loaders(info)).by_id(node).load(pk)

        return resolver(resolve, Node | None, {"id": (strawberry.ID, REQUIRED, "Global id")})
