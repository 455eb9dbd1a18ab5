"""Exposure specs: what of a Tortoise model the GraphQL API shows, filters, sorts, sums and writes.

Everything else (types, nullability, enums, relations) is read from the model's metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from strawberry.scalars import JSON
from tortoise import fields as tf
from tortoise.expressions import Q
from tortoise.fields.relational import (
    BackwardFKRelation,
    BackwardOneToOneRelation,
    ForeignKeyFieldInstance,
    OneToOneFieldInstance,
)
from tortoise.models import Model

from schema.generator.masking import PiiRule
from schema.generator.policy import Access, Op

ALL = "__all__"
MUTATIONS = frozenset({"create", "update", "delete"})


@dataclass(frozen=True)
class ScalarField:
    """A column of the model as the API sees it."""

    name: str
    column: str
    kind: str  # string, int, bigint, float, decimal, bool, date, datetime, enum
    python_type: Any
    nullable: bool
    has_default: bool
    enum: type[Enum] | None = None
    max_length: int | None = None  # of a string column
    bounds: tuple[int, int] | None = None  # of an integer column

    @property
    def numeric(self) -> bool:
        return self.kind in {"int", "bigint", "float", "decimal"}


@dataclass(frozen=True)
class ForwardRelation:
    """A to-one relation (foreign key or one-to-one) from this model."""

    name: str
    column: str
    model: type[Model]
    nullable: bool


@dataclass(frozen=True)
class ReverseRelation:
    """A to-many (or reverse one-to-one) relation pointing at this model."""

    name: str
    model: type[Model]
    column: str  # the foreign-key column on the related model
    fk_name: str  # the foreign-key field name on the related model
    one: bool


@dataclass(frozen=True)
class Derived:
    """A read-only field computed from columns of its own row (a rating's level from its score)."""

    name: str  # snake_case, as model attributes are
    returns: Any  # its GraphQL type (a strawberry enum or scalar)
    compute: Callable[[Model, Any], Any]  # (row, the request's strawberry Info) -> value
    reads: tuple[str, ...]  # the columns it is computed from: loaded whenever it is selected
    description: str
    # The same value as SQL, for compiled reads: given `column(name)` (a column of the row, as SQL)
    # and the request's day in the district, an expression that is the API's value (a boolean, or
    # an enum's member name). Without it, a read selecting the field runs on the resolvers.
    sql: Callable[[Callable[[str], str], dt.date], str] | None = None


@dataclass(frozen=True)
class Figure:
    """A figure of the domain over a model's rows, answered by its aggregate (`figures`), overall and
    per group: a count of the rows meeting a condition, or the share of the rows meeting
    `out_of` that also meet `counted` (rounded half up to 4 decimals, as serviceStats rounds; null
    when none meet `out_of`). The conditions are given the request's day in the district
    (overdue is judged on it)."""

    name: str  # snake_case, as model attributes are
    description: str
    counted: Callable[[dt.date], Q]
    out_of: Callable[[dt.date], Q] | None = None  # None: a count; else the share's denominator

    @property
    def share(self) -> bool:
        return self.out_of is not None


@dataclass(frozen=True)
class Exposure:
    """What the API exposes of one model; names are model attribute names (snake_case)."""

    model: type[Model]
    description: str
    plural: str
    descriptions: dict[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    filterable: tuple[str, ...] | str = ALL
    sortable: tuple[str, ...] | str = ALL
    aggregatable: tuple[str, ...] | str = ALL
    create: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    nested_create: tuple[str, ...] = ()
    mutations: frozenset[str] = frozenset()
    # Hand-written mutations (domain verbs) that a role's create or update grant lets it call, for
    # the permission table: e.g. ("createWebhook", "disableWebhook").
    verbs: tuple[str, ...] = ()
    access: Access | None = None  # who may read and write which rows and fields; None: the policy's default
    pii: dict[str, PiiRule] = field(default_factory=dict)  # personal data: masked unless access.clear_roles
    name: str | None = None
    # What API key scopes call it (read:<scope>, write:<scope>); None: its plural.
    key_scope: str | None = None
    # Writes need a key with write:<scope> itself: write:* does not give them (an allow-list's).
    explicit_write_scope: bool = False
    # A domain rule to run after a generated create or update, in its transaction, given the object
    # and its fields before the write (as the write's record keeps them; None: just created), e.g. a
    # calendar correction recomputes the due dates it touches; a guide revision must be the item's
    # next one; an organization's new tier moves its cases' statistics. Raising EngineError undoes
    # the write.
    after_write: Callable[[Model, dict[str, Any] | None], Awaitable[None]] | None = None
    derived: tuple[Derived, ...] = ()
    # The domain's figures its aggregate answers (办结率, 限时办结率, overdue ...), beside count/sum/avg.
    figures: tuple[Figure, ...] = ()
    # A model kept as a tree by a materialized path ("/1/5/23/", a hidden column): its `Where` input
    # gains `within: ID`, the row of that id and every row below it, as one range of the path's index.
    tree_path: str | None = None

    @property
    def type_name(self) -> str:
        return self.name or self.model.__name__

    @property
    def mutations_ops(self) -> frozenset[Op]:
        """The generated mutations, as permission operations."""
        return frozenset(Op(m) for m in self.mutations)

    @property
    def scope_name(self) -> str:
        """The target of its API key scopes: read:<scope_name>, write:<scope_name>."""
        return self.key_scope or self.plural

    @property
    def singular(self) -> str:
        return self.type_name[0].lower() + self.type_name[1:]

    def scalars(self) -> list[ScalarField]:
        meta = self.model._meta
        fk_columns = {meta.fields_map[n].source_field for n in meta.fk_fields | meta.o2o_fields}
        out = []
        for name, column in meta.fields_db_projection.items():
            if name in self.hidden or name in fk_columns or meta.fields_map[name].pk:
                continue
            out.append(_scalar(name, column, meta.fields_map[name]))
        return out

    def forward(self) -> list[ForwardRelation]:
        meta = self.model._meta
        out = []
        for name in self.relations:
            fld = meta.fields_map[name]
            if not isinstance(fld, ForeignKeyFieldInstance | OneToOneFieldInstance):
                raise TypeError(f"{self.model.__name__}.{name} is not a to-one relation")
            out.append(ForwardRelation(name, fld.source_field, fld.related_model, fld.null))
        return out

    def backward(self) -> list[ReverseRelation]:
        meta = self.model._meta
        out = []
        for name in self.reverse:
            fld = meta.fields_map[name]
            if not isinstance(fld, BackwardFKRelation | BackwardOneToOneRelation):
                raise TypeError(f"{self.model.__name__}.{name} is not a reverse relation")
            fk_name = fld.relation_field.removesuffix("_id")
            one = isinstance(fld, BackwardOneToOneRelation)
            out.append(ReverseRelation(name, fld.related_model, fld.relation_field, fk_name, one))
        return out

    def allowed(self, option: tuple[str, ...] | str, name: str) -> bool:
        return option == ALL or name in option

    def describe(self, name: str) -> str:
        return self.descriptions.get(name) or _humanize(name)


def _scalar(name: str, column: str, fld: tf.Field) -> ScalarField:
    has_default = fld.default is not None or fld.null or getattr(fld, "auto_now", False)
    has_default = has_default or getattr(fld, "auto_now_add", False)
    enum = getattr(fld, "enum_type", None)
    kind, python_type = _KINDS.get(type(fld), ("string", str))
    if enum is not None:
        kind, python_type = "enum", enum
    limits = fld.constraints
    max_length = limits.get("max_length") if kind == "string" else None
    bounds = (limits["ge"], limits["le"]) if kind in ("int", "bigint") and "ge" in limits else None
    return ScalarField(name, column, kind, python_type, bool(fld.null), has_default, enum, max_length, bounds)


_KINDS: dict[type, tuple[str, Any]] = {
    tf.IntField: ("int", int),
    tf.SmallIntField: ("int", int),
    tf.BigIntField: ("bigint", int),
    tf.FloatField: ("float", float),
    tf.DecimalField: ("decimal", Decimal),
    tf.BooleanField: ("bool", bool),
    tf.DateField: ("date", dt.date),
    tf.DatetimeField: ("datetime", dt.datetime),
    tf.CharField: ("string", str),
    tf.TextField: ("string", str),
    tf.JSONField: ("json", JSON),
}


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()
