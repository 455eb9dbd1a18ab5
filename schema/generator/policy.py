"""What the engine asks of the application that serves it: a policy (who asks and which rows are
theirs) and hooks (what happens around writes), beside the permission entries of the models.

The engine generates every read and write from the exposures; it applies, on every list, lookup,
relation, count and aggregate and on every write's target and references:

- the model's `Access`: per role, the operations and settable fields, whether reads reach past the
  caller's *area*, which roles read personal data in clear, and the paths (`scope`) from a row to
  what areas are made of;
- the `Policy`: the caller of a request, the caller's area, and the SQL condition "this row is in
  that area" along a model's scope paths;
- the `Hooks`: the record of a write (an audit log) and the snapshot of an object it keeps.

Personal data read in clear is listed in the GraphQL context under `PII_READS` as
(type name, primary key, field) for the application to record once the request is answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.models import Model

from schema.generator.jsonable import json_value

PUBLIC = "PUBLIC"  # the role of a caller that is not signed in
PII_READS = "pii_reads"  # context key: the clear reads of personal data of the request


class Op(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def key_scope(self) -> str:
        """The API key scope this operation needs: read, or write for any change."""
        return "read" if self is Op.READ else "write"


WRITES = (Op.CREATE, Op.UPDATE, Op.DELETE)


@dataclass(frozen=True)
class Grant:
    """What one role may do with one model."""

    ops: frozenset[Op]
    fields: frozenset[str] | None = None  # fields the role may set; None: all the spec makes writable
    everywhere: bool = False  # reads are not limited to the caller's area

    def may_set(self, name: str) -> bool:
        return self.fields is None or name in self.fields


def grant(*ops: Op, fields: Iterable[str] | None = None, everywhere: bool = False) -> Grant:
    return Grant(frozenset(ops), frozenset(fields) if fields is not None else None, everywhere)


@dataclass(frozen=True)
class Access:
    """The permission entry of one model."""

    grants: Mapping[str, Grant] = field(default_factory=dict)  # role -> grant; unlisted: nothing
    scope: tuple[str, ...] = ()  # Tortoise paths from a row to what areas hold (the policy reads
    # them); "id" for the model areas are made of; empty: every caller's rows are all rows
    clear_roles: frozenset[str] = frozenset()  # roles that read personal-data columns in clear
    # Rows other writes may point at wherever they lie, when the caller reads them (a shared
    # catalogue: the area limits changing an item, not assigning it): else a reference must lie
    # in the caller's area
    referenced_anywhere: bool = False
    # Rows that belong to callers rather than to areas (a saved report): `readers(caller, area)` is
    # the condition on the rows the caller may read, in place of the area rule (`everywhere` grants:
    # the callable decides); `writers(caller)` the rows it may change, besides the area rule; `stamp
    # (caller)` the values a create takes from the caller, never from the input (its owner)
    readers: Callable[[Any, Any], Q] | None = None
    writers: Callable[[Any], Q] | None = None
    stamp: Callable[[Any], dict[str, Any]] | None = None

    def grant_for(self, role: str) -> Grant | None:
        return self.grants.get(role)

    @property
    def scoped(self) -> bool:
        return bool(self.scope)

    def scoped_reads(self) -> bool:
        """Whether some role reads only part of the rows (so a reference to one may come back empty)."""
        return self.scoped and any(Op.READ in g.ops and not g.everywhere for g in self.grants.values())


def key_allows(scopes: frozenset[str], op: Op, plural: str, explicit_write: bool = False) -> bool:
    """Whether API key scopes (`read:*`, `write:cases` ...) allow `op` on the model `plural`;
    `explicit_write`: writes need the model's own scope (`write:*` does not give it)."""
    kind = op.key_scope
    if explicit_write and op is not Op.READ:
        return f"{kind}:{plural}" in scopes
    return f"{kind}:*" in scopes or f"{kind}:{plural}" in scopes


class Caller(Protocol):
    """Who asks: what the engine reads of the application's caller."""

    @property
    def role(self) -> str: ...

    @property
    def anonymous(self) -> bool: ...

    @property
    def key_prefix(self) -> str: ...  # "" unless the caller signed with an API key

    @property
    def key_scopes(self) -> frozenset[str] | None: ...  # None: not limited by key scopes


def grant_of(
    caller: Caller, access: Access, op: Op, plural: str, explicit_write: bool = False
) -> Grant | None:
    """The role's grant when it covers `op` (and the caller's key scopes allow it), else None.

    A key never reads less than the public: what anyone may read needs no scope.
    """
    found = access.grant_for(caller.role)
    if found is None or op not in found.ops:
        return None
    if caller.key_scopes is not None and not key_allows(caller.key_scopes, op, plural, explicit_write):
        public = access.grant_for(PUBLIC)
        return public if op is Op.READ and public is not None and Op.READ in public.ops else None
    return found


class Policy(Protocol):
    """Who asks and which rows are theirs."""

    default_access: Access  # of a model whose exposure names none
    area_words: str  # how refusals name the caller's area: "your organization and those below it"
    sign_in_hint: str  # how an anonymous writer is told to sign in

    def caller(self, context: dict[str, Any]) -> Caller:
        """The caller of the request whose GraphQL context this is."""
        ...

    async def area(self, caller: Caller, *, fresh: bool = False) -> Any:
        """The caller's area, read once per request: None for every row, else what `within` takes
        (a falsy area holds nothing). `fresh`: read again after a write that may have moved it."""
        ...

    def within(
        self, model: type[Model], scope: tuple[str, ...], area: Any, *, per_row: bool, counted: bool = False
    ) -> Q:
        """The rows of `model` that reach the area along one of the scope paths.

        `per_row`: for rows another condition picks first (a parent's children, one id), a test of
        each row by key rather than a match against the area's whole set of rows. `counted`: the
        rows are only counted or aggregated (no order, no page), which may suit another form."""
        ...

    def branches(self, model: type[Model], scope: tuple[str, ...], area: Any) -> list[Q]:
        """The rows of `model` in the area (as `within` has them, not per row) as conditions any one
        of which admits a row, each on the model's own rows and answered by one index (a row filed at
        one place and handled at another: two). A page reads the first rows of each branch in its
        order and merges them, instead of the whole area's rows. One condition when one suffices."""
        ...

    def moves_areas(self, model: type[Model]) -> bool:
        """Whether a write to `model` may change what callers' areas hold (the areas' own model)."""
        ...


class Hooks(Protocol):
    """What happens around the generated writes, in their transaction."""

    def snapshot(self, obj: Model, hidden: tuple[str, ...]) -> dict[str, Any]:
        """The object as a write's record keeps it, without the `hidden` fields."""
        ...

    async def written(
        self,
        context: dict[str, Any],
        op: Op,
        type_name: str,
        pk: int,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """A generated write happened (create, update, delete): e.g. record it in an audit log."""
        ...


class Unrecorded:
    """Hooks of an application that keeps no record of writes."""

    def snapshot(self, obj: Model, hidden: tuple[str, ...]) -> dict[str, Any]:
        meta = obj._meta
        return {
            name: json_value(getattr(obj, name, None))
            for name in meta.fields_db_projection
            if name not in hidden and name not in meta.fetch_fields
        }

    async def written(self, context, op, type_name, pk, *, before=None, after=None) -> None:
        return None
