"""Who may do what to which rows: roles, operations, organization-subtree row scope, column rules.

Declared once, as data: every exposed model has an `Access` (in schema/specs.py) naming, per role,
the operations it may use, the fields it may set, whether its reads reach beyond the caller's
organization subtree, and which roles read personal data in clear. The generated GraphQL layer
turns it into SQL conditions on every list, lookup, relation, count and aggregate, and into checks
on every mutation's target and references.

A caller's *area* is its organization and every organization below it (an admin at the district
sees the whole district; a hall clerk its hall and the hall's rooms). A row belongs to the area
when one of its scope paths leads to an organization in it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from pypika_tortoise.terms import Criterion
from tortoise.expressions import Q, RawSQL
from tortoise.models import Model
from tortoise.query_utils import QueryModifier

from api.auth.caller import ANONYMOUS, Caller, KnownArea
from api.errors import DomainError
from api.models.org import Organization, area_range, within
from api.models.user import Role
from schema.generator.policy import (
    PUBLIC,
    WRITES,
    Access,
    Op,
    grant,
)

ROLES: tuple[str, ...] = (PUBLIC, *(r.value for r in Role))
SIGNED_IN: tuple[str, ...] = tuple(r.value for r in Role)
ROLE_DESCRIPTIONS = {
    PUBLIC: "Anyone, not signed in: the catalogue, guides, the organization directory",
    Role.ADMIN: "District administrator: everything in the district",
    Role.SUPERVISOR: "Supervisor: reads the whole district, manages room construction and funding",
    Role.CLERK: "Window clerk: its organization and the organizations below it",
    Role.AGENT: "Agent (代办员) at a room or hall: its organization and those below it",
    Role.INTEGRATOR: "Another platform with an API key: the key's district and the key's scopes",
}


ADMIN_ONLY = Access({Role.ADMIN: grant(Op.READ, *WRITES)})


def validate_key_scopes(scopes: Iterable[str], plurals: Iterable[str]) -> frozenset[str]:
    """Check API key scopes (`read:*`, `write:*`, `read:cases`, `write:items` ...) against the models."""
    known = set(plurals)
    out = set()
    for raw in scopes:
        scope = raw.strip()
        kind, _, target = scope.partition(":")
        if kind not in ("read", "write") or not target or (target != "*" and target not in known):
            raise DomainError(
                "VALIDATION_FAILED",
                f"unknown API key scope {scope!r}: use read:* , write:* , read:<plural> or write:<plural> "
                f"(plurals: {', '.join(sorted(known))})",
                field="scopes",
            )
        out.add(scope)
    return frozenset(out)


ONLY_ROOT = (
    'CASE WHEN "organization"."parent_id" IS NULL AND NOT EXISTS (SELECT 1 FROM organization other '
    'WHERE other.parent_id IS NULL AND other.id <> "organization"."id") THEN 1 ELSE 0 END'
)


async def area_of(organization_id: int | None) -> str | None:
    """The caller's area as the path of its organization (see `in_area`).

    None when the organization is the only root (the area is every organization there is); ""
    (nothing) without an organization or when it no longer exists. Reads one row, never the tree.
    """
    if organization_id is None:
        return ""
    found = (
        await Organization.filter(id=organization_id)
        .annotate(everything=RawSQL(ONLY_ROOT))
        .values_list("path", "everything")
    )
    if not found:
        return ""
    path, everything = found[0]
    return None if everything else path


# The columns of the area of an organization joined as "organization" (LEFT JOIN: NULLs without one).
AREA_COLUMNS = f'"organization"."path" AS "area_path", {ONLY_ROOT} AS "area_everything"'


def area_from(organization_id: int | None, path: str | None, everything: Any) -> KnownArea:
    """The area `area_of` would read, from AREA_COLUMNS read with the caller."""
    if organization_id is None or path is None:
        return KnownArea("")
    return KnownArea(None if everything else path)


async def area_size(area: str | None) -> int | None:
    """How many organizations the area holds; None for every organization."""
    if area is None:
        return None
    if not area:
        return 0
    return await Organization.filter(within(area)).count()


def in_area(
    model: type[Model],
    paths: tuple[str, ...],
    area: str | None,
    *,
    per_row: bool = False,
    counted: bool = False,
) -> Q:
    """SQL condition: the row reaches an organization of the area along one of the paths.

    The area is a range of organization paths, so the condition is a subquery over the path index
    whatever the area's size. Paths through different columns (a case filed at one organization and
    handled at another) become a UNION of ids, each branch using its column's index: an OR of two
    IN-subqueries would make PostgreSQL scan the whole table.

    `counted`: the rows are only counted or aggregated, never paged. On PostgreSQL the paths then
    become an OR of `column = ANY(ARRAY(...))`, which it answers with a BitmapOr of the columns'
    indexes (a district's cases in a province: 30 ms → 4 ms); a page in key order keeps the UNION,
    since with the OR form the planner walks the primary key and filters (seconds for an area
    whose rows come last).
    """
    if area is None or not paths:
        return Q()
    if not area:
        return Q(id__in=[])  # matches nothing
    low, high = area_range(area)
    if per_row and paths != ("id",):
        # Rows picked by another condition first (a parent's children): each row's organizations
        # are looked up by primary key. The set form below, inside a subquery run once per
        # parent, would rebuild the area's whole set of ids for every parent.
        table = model._meta.db_table
        test = _row_test(model, f'"{table}"', paths, low, high, itertools.count(1))
        return Q(id__in=RawSQL(f'(SELECT "{table}"."id" WHERE {test})'))
    organizations = _organizations(low, high)
    conditions = _conditions(model, paths, organizations)
    if len(conditions) == 1:
        return _reaching(area, *conditions[0])
    if counted and model._meta.db.capabilities.dialect == "postgres":
        table = model._meta.db_table
        tests = [f'"{table}"."{column or "id"}" = ANY(ARRAY({subquery}))' for column, subquery in conditions]
        return SqlCondition(" OR ".join(tests))
    return Q(id__in=RawSQL(f"({_ids(model, conditions, organizations)})"))


def area_branches(model: type[Model], paths: tuple[str, ...], area: str | None) -> list[Q]:
    """`in_area` as conditions any one of which admits a row, one per column the paths leave the
    model by (a case: where it was filed, where it is handled), each answered by that column's index."""
    if area is None or not paths or not area:
        return [in_area(model, paths, area)]
    conditions = _conditions(model, paths, _organizations(*area_range(area)))
    return [_reaching(area, column, subquery) for column, subquery in conditions]


def _organizations(low: str, high: str) -> str:
    """SELECT of the ids of the organizations whose paths are in [low, high): an area's."""
    return f"SELECT id FROM organization WHERE path >= '{low}' AND path < '{high}'"


def _reaching(area: str, column: str | None, subquery: str) -> Q:
    """The rows whose `column` is in `subquery` (one of `_conditions`); None: the row is an
    organization, and its own path decides."""
    if column is None:
        return within(area)
    return Q(**{f"{column}__in": RawSQL(f"({subquery})")})


class SqlCondition(Q):
    """A condition written in SQL, as a Tortoise `Q` (which has no raw form): it combines with
    `&`, `|` and `~` like any other."""

    def __init__(self, sql: str, *, negated: bool = False) -> None:
        super().__init__()
        self.sql = sql
        self._is_negated = negated

    def resolve(self, resolve_context: Any) -> QueryModifier:
        criterion = _SqlCriterion(self.sql)
        return QueryModifier(where_criterion=criterion.negate() if self._is_negated else criterion)

    def __invert__(self) -> SqlCondition:
        return SqlCondition(self.sql, negated=not self._is_negated)

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SqlCondition) and (other.sql, other._is_negated) == (
            self.sql,
            self._is_negated,
        )

    __hash__ = None


class _SqlCriterion(Criterion):
    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = sql

    def get_sql(self, *args: Any, **kwargs: Any) -> str:
        return f"({self.sql})"


def _by_first_step(paths: tuple[str, ...]) -> dict[str, list[str]]:
    """The paths grouped by their first step: {"case": ["handling_organization", ...], "id": [""]}."""
    by_head: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition("__")
        by_head.setdefault(head, []).append(rest)
    return by_head


def _row_test(model: type[Model], row: str, paths: tuple[str, ...], low: str, high: str, names) -> str:
    """SQL true when the row (`row`, a table or alias of `model`) reaches an organization whose
    path is in [low, high) along one of the paths, by primary-key lookups from the row."""
    by_head = _by_first_step(paths)
    tests = []
    for head, rests in by_head.items():
        if head == "id":
            tests.append(f"({row}.path >= '{low}' AND {row}.path < '{high}')")
            continue
        relation = model._meta.fields_map[head]
        alias = f'"_area{next(names)}"'
        related = relation.related_model
        # A step that ends the path is the organization itself: its own path decides ("id").
        inner = _row_test(related, alias, tuple(r or "id" for r in rests), low, high, names)
        tests.append(
            f'EXISTS (SELECT 1 FROM "{related._meta.db_table}" {alias} '
            f'WHERE {alias}.id = {row}."{relation.source_field}" AND {inner})'
        )
    return "(" + " OR ".join(tests) + ")"


def _conditions(
    model: type[Model], paths: tuple[str, ...], organizations: str
) -> list[tuple[str | None, str]]:
    """(column, subquery of the ids it must be in) per first step of the paths; None: the row is
    an organization and its own path decides."""
    by_head = _by_first_step(paths)
    out: list[tuple[str | None, str]] = []
    for head, rests in by_head.items():
        if head == "id":
            out.append((None, organizations))
            continue
        relation = model._meta.fields_map[head]
        if rests == [""]:
            out.append((relation.source_field, organizations))
            continue
        related = relation.related_model
        inner = _conditions(related, tuple(r for r in rests if r), organizations)
        out.append((relation.source_field, _ids(related, inner, organizations)))
    return out


def _ids(model: type[Model], conditions: list[tuple[str | None, str]], organizations: str) -> str:
    """SELECT of the ids of `model` rows meeting any of the conditions (a UNION of index lookups)."""
    table = model._meta.db_table
    branches = []
    for column, subquery in conditions:
        if column is None:
            branches.append(organizations)
        else:
            branches.append(f'SELECT id FROM "{table}" WHERE "{column}" IN ({subquery})')
    return " UNION ".join(branches)


class OrganizationAreas:
    """Sanji's policy for the engine: a caller's area is its organization and those below it; a
    row is in it when one of its model's scope paths leads to an organization there."""

    default_access = ADMIN_ONLY  # a model whose spec names no access: admin-only (docs/low-code.md)
    area_words = "your organization and those below it"
    sign_in_hint = (
        "sign in to change data (POST /auth/token, then Authorization: Bearer <token>), or use an API key"
    )

    def caller(self, context: dict[str, Any]) -> Caller:
        return context.get("caller") or ANONYMOUS

    async def area(self, caller: Caller, *, fresh: bool = False) -> str | None:
        if caller.anonymous:
            return ""
        if caller.area is not None and not fresh:  # read with the caller's session or key
            return caller.area.path
        return await area_of(caller.organization_id)

    def within(
        self,
        model: type[Model],
        scope: tuple[str, ...],
        area: str | None,
        *,
        per_row: bool,
        counted: bool = False,
    ) -> Q:
        return in_area(model, scope, area, per_row=per_row, counted=counted)

    def branches(self, model: type[Model], scope: tuple[str, ...], area: Any) -> list[Q]:
        return area_branches(model, scope, area)

    def moves_areas(self, model: type[Model]) -> bool:
        return model is Organization


POLICY = OrganizationAreas()
