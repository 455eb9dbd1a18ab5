"""Per-parent paging (`first_per_parent`, N + 1 rows per parent in SQL) held to the simple way it
replaced: read every child's keys in order and keep each parent's first N + 1 in Python."""

from __future__ import annotations

from collections import defaultdict

import pytest

from api.models.case import Case
from api.models.org import Organization
from schema.generator.loaders import first_per_parent
from schema.generator.pagination import (
    SortDirection,
    after_condition,
    key_columns,
    ordered,
    sort_key,
    with_tie_breaker,
)

ORDERINGS = {
    "id": [],
    "submitted at, newest first": [sort_key("submitted_at", "datetime", False, SortDirection.DESC)],
    "completed at, missing last": [sort_key("completed_at", "datetime", True, SortDirection.DESC_NULLS_LAST)],
    "completed at, missing first": [
        sort_key("completed_at", "datetime", True, SortDirection.ASC_NULLS_FIRST)
    ],
    "item name (a related key), then status": [
        sort_key("item__name", "str", False, SortDirection.ASC),
        sort_key("status", "str", False, SortDirection.DESC),
    ],
}


async def every_childs_keys(query, column: str, keys, parent_ids: list[int], limit: int):
    """The replaced way: all matching children's keys in order, the first `limit` per parent."""
    rows = await ordered(query.filter(**{f"{column}__in": parent_ids}), keys).values_list(
        column, *key_columns(keys)
    )
    chosen: dict[int, list[tuple]] = defaultdict(list)
    for parent, *values in rows:
        if len(chosen[parent]) < limit:
            chosen[parent].append(tuple(values))
    return dict(chosen)


@pytest.mark.parametrize("ordering", sorted(ORDERINGS))
@pytest.mark.parametrize("column", ["submitted_at_organization_id", "handling_organization_id"])
async def test_first_rows_per_parent_match_the_simple_way(fixture_db, ordering, column):
    keys = with_tie_breaker(ORDERINGS[ordering])
    parents = sorted(await Organization.all().values_list("id", flat=True))
    queries = {
        "all": Case.all(),
        "filtered": Case.filter(status__in=["DELIVERED", "COMPLETED"]),
    }
    # after a cursor: the keys of some case in the middle of the list
    middle = (await ordered(Case.all(), keys).values_list(*key_columns(keys)))[1000]
    queries["after a cursor"] = Case.filter(after_condition(keys, list(middle)))
    for label, query in queries.items():
        for limit in (1, 6, 101):
            fast = await first_per_parent(query, column, keys, parents, limit)
            simple = await every_childs_keys(query, column, keys, parents, limit)
            assert fast == simple, f"{ordering} / {column} / {label} / first {limit}"
    backward = [k.reversed() for k in keys]
    fast = await first_per_parent(Case.all(), column, backward, parents, 6)
    assert fast == await every_childs_keys(Case.all(), column, backward, parents, 6), ordering


async def test_a_parent_without_children_and_an_empty_batch(fixture_db):
    keys = with_tie_breaker([])
    nobody = [10**9]
    assert await first_per_parent(Case.all(), "submitted_at_organization_id", keys, nobody, 6) == {}
    assert await first_per_parent(Case.all(), "submitted_at_organization_id", keys, [], 6) == {}
