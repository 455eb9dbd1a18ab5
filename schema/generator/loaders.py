"""Per-request DataLoaders: one SQL statement per relation and level, whatever the row count."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from enum import Enum
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from schema.generator.errors import EngineError
from schema.generator.filters import compile_where
from schema.generator.pagination import (
    PageRequest,
    SortKey,
    between_cursors,
    encode_cursor,
    key_columns,
    order_sql,
    ordered,
    page_info,
    with_tie_breaker,
)
from schema.generator.values import Connection

if TYPE_CHECKING:
    from schema.generator.access import RequestAccess
    from schema.generator.registry import ModelNode as Node
    from schema.generator.spec import ReverseRelation


@dataclasses.dataclass(frozen=True)
class ConnectionArgs:
    where: Any
    order_by: Any
    page: PageRequest
    columns: tuple[str, ...] | None = None  # the only columns the query reads, when known

    def key(self) -> str:
        return canonical((self.where, self.order_by, dataclasses.asdict(self.page), self.columns))

    def where_key(self) -> str:
        return canonical(self.where)


def canonical(value: Any) -> str:
    """A stable text form of GraphQL input values, to use as a cache and batching key."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, Enum):
            return v.value
        return v

    return json.dumps(plain(value), sort_keys=True, default=str)


class SharedLoader(DataLoader):
    """A DataLoader whose result one field's cancellation cannot take from the others.

    Every field that loads a key awaits the same future. When a field's error cancels its siblings
    (graphql-core cancels them once their parent is null anyway), a plain await would cancel
    that shared future too, and every other field waiting on the key would end in CancelledError,
    crashing the request instead of answering it.
    """

    def load(self, key: Any) -> Any:
        return asyncio.shield(super().load(key))


class Loaders:
    """The DataLoaders of one request, created on first use; each reads only rows the caller may see."""

    def __init__(self, access: RequestAccess) -> None:
        self.access = access
        self._loaders: dict[Any, DataLoader] = {}
        self._args: dict[str, ConnectionArgs] = {}

    def _get(self, key: Any, load_fn) -> DataLoader:
        if key not in self._loaders:
            self._loaders[key] = SharedLoader(load_fn=load_fn)
        return self._loaders[key]

    def by_id(self, node: Node) -> DataLoader:
        """Objects by primary key; one the caller may not read loads as None, like a missing one."""
        readable = self.access.rows(node)

        async def load(ids: list[int]) -> list[Any]:
            rows = {row.pk: row for row in await node.model.filter(readable, id__in=list(set(ids)))}
            return [rows.get(i) for i in ids]

        return self._get(("id", node.model), load)

    def one_by_parent(self, node: Node, relation: ReverseRelation) -> DataLoader:
        readable = self.access.rows(node)

        async def load(parent_ids: list[int]) -> list[Any]:
            rows = await relation.model.filter(readable, **{f"{relation.column}__in": list(set(parent_ids))})
            by_parent = {getattr(row, relation.column): row for row in rows}
            return [by_parent.get(i) for i in parent_ids]

        return self._get(("one", relation.model, relation.column), load)

    def children(self, node: Node, relation: ReverseRelation, parent_id: int, args: ConnectionArgs):
        key = args.key()
        self._args[key] = args
        return self._get(
            ("children", relation.model, relation.column), self._children_loader(node, relation)
        ).load((parent_id, key))

    def count(self, node: Node, relation: ReverseRelation, parent_id: int, args: ConnectionArgs):
        key = args.where_key()
        self._args[key] = args
        return self._get(("count", relation.model, relation.column), self._count_loader(node, relation)).load(
            (parent_id, key)
        )

    def _children_loader(self, node: Node, relation: ReverseRelation):
        async def load(keys: list[tuple[int, str]]) -> list[Connection]:
            groups: dict[str, list[int]] = defaultdict(list)
            for parent_id, args_key in keys:
                groups[args_key].append(parent_id)
            pages: dict[tuple[int, str], Connection | EngineError] = {}
            for args_key, parent_ids in groups.items():
                args = self._args[args_key]
                try:
                    found = await self._pages(node, relation, parent_ids, args)
                except EngineError as refusal:  # these arguments only: other fields' pages go on
                    found = dict.fromkeys(parent_ids, refusal)
                for parent_id, connection in found.items():
                    pages[(parent_id, args_key)] = connection
            return [pages[key] for key in keys]

        return load

    async def _pages(
        self, node: Node, relation: ReverseRelation, parent_ids: list[int], args: ConnectionArgs
    ):
        """The pages of many parents in two statements, whatever their sizes.

        The first reads, per parent, the parent key and the sort keys of at most `size + 1` children
        (see `first_per_parent`); the second loads the chosen rows.
        """
        page = args.page
        page.validate()
        keys = with_tie_breaker(node.sort_keys(args.order_by, self.access))
        reverse_keys = [k.reversed() for k in keys]
        condition = self.access.rows(node) & compile_where(node, args.where, self.access)
        query = between_cursors(node.model.filter(condition), keys, page)
        chosen = await first_per_parent(
            query, relation.column, reverse_keys if page.backward else keys, parent_ids, page.size + 1
        )
        wanted = [values[-1] for rows in chosen.values() for values in rows[: page.size]]
        rows = node.model.filter(id__in=wanted)
        if args.columns is not None:
            rows = rows.only(*args.columns)
        rows_by_id = {row.pk: row for row in await rows} if wanted else {}
        result = {}
        for parent_id in parent_ids:
            mine = chosen.get(parent_id, [])
            more = len(mine) > page.size
            mine = mine[: page.size]
            if page.backward:
                mine.reverse()
            cursors = [encode_cursor(list(values), keys) for values in mine]
            rows = [rows_by_id[values[-1]] for values in mine]
            counter = self._counter(node, relation, parent_id, args)
            result[parent_id] = Connection.of(rows, cursors, page_info(cursors, page, more), counter)
        return result

    def _counter(self, node: Node, relation: ReverseRelation, parent_id: int, args: ConnectionArgs):
        async def count() -> int:
            return await self.count(node, relation, parent_id, args)

        return count

    def _count_loader(self, node: Node, relation: ReverseRelation):
        async def load(keys: list[tuple[int, str]]) -> list[int]:
            groups: dict[str, list[int]] = defaultdict(list)
            for parent_id, where_key in keys:
                groups[where_key].append(parent_id)
            counts: dict[tuple[int, str], int | EngineError] = {}
            for where_key, parent_ids in groups.items():
                where = self._args[where_key].where
                try:
                    condition = compile_where(node, where, self.access)
                except EngineError as refusal:  # this filter only: other fields' counts go on
                    counts.update({(parent_id, where_key): refusal for parent_id in parent_ids})
                    continue
                rows = (
                    await node.model.filter(
                        self.access.rows(node), condition, Q(**{f"{relation.column}__in": parent_ids})
                    )
                    .annotate(n=Count("id"))
                    .group_by(relation.column)
                    .values(relation.column, "n")
                )
                for row in rows:
                    counts[(row[relation.column], where_key)] = row["n"]
            return [counts.get(key, 0) for key in keys]

        return load


async def first_per_parent(
    query: QuerySet, column: str, keys: list[SortKey], parent_ids: list[int], limit: int
) -> dict[int, list[tuple]]:
    """Per parent, the sort-key values (ending with the id) of its first `limit` rows in key order.

    Reads at most `limit` rows per parent, not every child of the batch: on PostgreSQL a LATERAL
    subquery per parent (`ORDER BY ... LIMIT` over the (parent, id) index); on SQLite, which has no
    LATERAL, ROW_NUMBER() per parent over the batch's rows.
    """
    if not parent_ids:
        return {}
    columns = key_columns(keys)
    query._choose_db_if_not_chosen()
    postgres = query._db.capabilities.dialect == "postgres"
    if postgres:
        inner = ordered(query.filter(**{column: RawSQL('"_parent"."id"')}), keys).limit(limit)
        select = inner.values_list(column, *columns)
        sql, params = parameterized_sql(select)
        sql = (
            f'SELECT "_page".* FROM unnest(${len(params) + 1}::int[]) AS "_parent"("id") CROSS JOIN LATERAL '
            f'(SELECT "_in".*, ROW_NUMBER() OVER () AS "_rn" FROM ({sql}) AS "_in") AS "_page"'
        )
        params = [*params, sorted(set(parent_ids))]
    else:
        select = ordered(query.filter(**{f"{column}__in": sorted(set(parent_ids))}), keys).values_list(
            column, *columns
        )
        sql, params = parameterized_sql(select)
        order = ", ".join(order_sql(key, f'"_in"."{i + 1}"') for i, key in enumerate(keys))
        sql = (
            f'SELECT * FROM (SELECT "_in".*, ROW_NUMBER() OVER (PARTITION BY "_in"."0" ORDER BY {order}) '
            f'AS "_rn" FROM ({sql}) AS "_in") WHERE "_rn" <= {limit:d}'
        )
    _, rows = await select._db.execute_query(sql, params)
    decoders = [
        (name, select.resolve_to_python_value(select.model, field)) for name, field in select.fields.items()
    ]
    chosen: dict[int, list[tuple[int, tuple]]] = defaultdict(list)
    for row in rows:
        parent, *values = (decode(row[name]) for name, decode in decoders)
        chosen[parent].append((row["_rn"], tuple(values)))
    return {parent: [values for _, values in sorted(found)] for parent, found in chosen.items()}


def parameterized_sql(select) -> tuple[str, list[Any]]:
    """The statement Tortoise would run for a queryset, and its parameters."""
    select._make_query()
    sql, params = select.query.get_parameterized_sql()
    return sql, list(params)
