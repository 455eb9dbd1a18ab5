"""Generated lists over /graphql on the fixture: filters, relations, ordering and keyset pages."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.generator.ids import to_global_id

ROOMS = "{ organizations(where: {tier: {eq: ROOM}}) { totalCount } }"


async def test_38_rooms_of_which_31_built(api):
    assert (await api.data(ROOMS))["organizations"]["totalCount"] == 38
    built = """{ organizations(where: {tier: {eq: ROOM}, constructionStatus: {in: [BUILT, STANDARDIZED]}})
                 { totalCount } }"""
    assert (await api.data(built))["organizations"]["totalCount"] == 31


async def test_items_assigned_to_any_hall_are_the_71_delegated_items(api):
    hall = "organization: {tier: {eq: HALL}}"
    delegated = (
        f"{{ items(where: {{assignments: {{{hall}, power: {{ne: AGENCY_ONLY}}}}}}) {{ totalCount }} }}"
    )
    assert (await api.data(delegated))["items"]["totalCount"] == 71
    # Besides, halls collect the center's 84 licences for it (代办).
    collected = (
        f"{{ items(where: {{assignments: {{{hall}, power: {{eq: AGENCY_ONLY}}}}}}) {{ totalCount }} }}"
    )
    assert (await api.data(collected))["items"]["totalCount"] == 84


async def test_and_or_not_nest_to_any_depth(api):
    query = """{ organizations(where: {and: [{tier: {eq: ROOM}}, {or: [{kind: {eq: VILLAGE}},
                 {not: {kind: {ne: COMMUNITY}}}]}]}) { totalCount } }"""
    assert (await api.data(query))["organizations"]["totalCount"] == 14  # 10 villages + 4 communities


ORGANIZATIONS = "query($where: OrganizationWhere) { organizations(where: $where) { totalCount } }"


async def test_a_filter_of_a_hundred_alternatives_is_one_flat_condition(api):
    rooms = [{"code": {"eq": f"QJL-H{h}-R{r:02d}"}} for h in range(1, 5) for r in range(1, 26)]
    assert len(rooms) == 100
    data = await api.data(ORGANIZATIONS, {"where": {"or": rooms}})
    assert data["organizations"]["totalCount"] == 38


@pytest.mark.parametrize(
    ("where", "field", "message"),
    [
        ({"or": [{"code": {"eq": "x"}}] * 101}, "where.or", "`or` holds 101 conditions; at most 100"),
        ({"and": [{"code": {"eq": "x"}}] * 500}, "where.and", "`and` holds 500 conditions; at most 100"),
        (
            {"code": {"in": [f"c{i}" for i in range(40_000)]}},
            "where.code",
            "code: at most 1,000 values in a list, got 40,000",
        ),
        ({"id": {"notIn": ["x"] * 1001}}, "where.id", "id: at most 1,000 values in a list, got 1,001"),
        (
            {"and": [{"code": {"in": [f"c{i}" for i in range(1000)]}}] * 40},  # past asyncpg's 32,767
            "where",
            "the filter holds 40,000 values; at most 5,000",
        ),
    ],
    ids=["or", "and", "in", "id notIn", "whole filter"],
)
async def test_filters_beyond_what_a_statement_takes_are_refused(api, where, field, message):
    error = await api.error(ORGANIZATIONS, {"where": where})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": field}
    assert error["message"] == message


async def test_filters_nest_at_most_sixteen_levels(api):
    where: dict = {"tier": {"eq": "ROOM"}}
    for _ in range(15):
        where = {"and": [where]}
    assert (await api.data(ORGANIZATIONS, {"where": where}))["organizations"]["totalCount"] == 38
    error = await api.error(ORGANIZATIONS, {"where": {"and": [where]}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "where"}
    assert "more than 16 levels" in error["message"]


async def test_null_filters_and_text_operators(api):
    no_coordinates = "{ organizations(where: {tier: {eq: ROOM}, longitude: {isNull: true}}) { totalCount } }"
    assert (await api.data(no_coordinates))["organizations"]["totalCount"] == 3
    villages = '{ organizations(where: {name: {contains: "村"}, tier: {eq: ROOM}}) { totalCount } }'
    assert (await api.data(villages))["organizations"]["totalCount"] == 10


async def test_forward_relations_and_nested_connections(api):
    query = """{ organizations(where: {code: {eq: "QJL-H1"}}) { nodes {
                 parent { code tier }
                 children(first: 3, orderBy: [{code: ASC}]) {
                   totalCount nodes { code } pageInfo { hasNextPage }
                 }
               } } }"""
    hall = (await api.data(query))["organizations"]["nodes"][0]
    assert hall["parent"] == {"code": "QJL-ZWFW", "tier": "CENTER"}
    assert hall["children"]["totalCount"] == 10
    assert [n["code"] for n in hall["children"]["nodes"]] == ["QJL-H1-R01", "QJL-H1-R02", "QJL-H1-R03"]
    assert hall["children"]["pageInfo"]["hasNextPage"] is True


async def test_node_and_lookup_by_global_id(api):
    first = await api.data('{ organizations(where: {code: {eq: "QJL"}}) { nodes { id name } } }')
    region = first["organizations"]["nodes"][0]
    looked_up = await api.data(
        """query($id: ID!) { organization(id: $id) { code }
                            node(id: $id) { id ... on Organization { tier } } }""",
        {"id": region["id"]},
    )
    assert looked_up["organization"] == {"code": "QJL"}
    assert looked_up["node"] == {"id": region["id"], "tier": "REGION"}


@pytest.mark.parametrize("pk", [0, 2**31, 10**30])
async def test_an_id_whose_key_cannot_exist_is_refused(api, pk):
    for query in (
        "query($id: ID!) { organization(id: $id) { code } }",
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { organizations(where: {id: {eq: $id}}) { totalCount } }",
    ):
        error = await api.error(query, {"id": to_global_id("Organization", pk)})
        assert error["extensions"]["code"] == "VALIDATION_FAILED", query


async def test_a_page_size_above_the_cap_is_refused(api):
    error = await api.error("{ organizations(first: 10000) { totalCount } }")
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "first"}
    assert "500" in error["message"]


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ('{code: {eq: "%s"}}' % ("x" * 33), "where.code"),
        ('{code: {in: ["QJL", "%s"]}}' % ("x" * 33), "where.code"),
        ('{parent: {name: {gte: "%s"}}}' % ("长" * 101), "where.name"),
        ("{population: {lt: 2147483647}, children: {population: {gt: -2147483648}}}", None),
    ],
)
async def test_a_filter_value_no_column_can_hold_is_refused(api, where, field):
    body = await api(f"{{ organizations(where: {where}) {{ totalCount }} }}")
    if field is None:
        assert "errors" not in body, body
    else:
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": field}


async def test_a_small_integer_filter_out_of_range_is_refused(admin_api):
    error = await admin_api.error("{ evaluations(where: {score: {in: [5, 40000]}}) { totalCount } }")
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "where.score"}
    assert "32767" in error["message"]


async def test_a_foreign_cursor_is_refused(api):
    error = await api.error('{ organizations(after: "bm9wZQ==") { totalCount } }')
    assert error["extensions"]["code"] == "VALIDATION_FAILED"


async def test_ordering_by_a_relation_field_and_nulls_last(api):
    query = """{ organizations(first: 38, where: {tier: {eq: ROOM}},
                 orderBy: [{parent: {code: DESC}}, {longitude: ASC_NULLS_LAST}]) {
                 nodes { code longitude parent { code } } } }"""
    rooms = (await api.data(query))["organizations"]["nodes"]
    halls = [r["parent"]["code"] for r in rooms]
    assert halls == sorted(halls, reverse=True)
    for hall in set(halls):
        longitudes = [r["longitude"] for r in rooms if r["parent"]["code"] == hall]
        present = [x for x in longitudes if x is not None]
        assert longitudes == sorted(present) + [None] * (len(longitudes) - len(present))


ORDER_FIELDS = ["name", "code", "longitude", "population", "constructionStatus", "kind", "builtOn"]
DIRECTIONS = ["ASC", "DESC", "ASC_NULLS_FIRST", "DESC_NULLS_LAST"]
FILTERS = [
    "{tier: {eq: ROOM}}",
    "{tier: {eq: ROOM}, kind: {eq: TEAM}}",
    "{tier: {in: [ROOM, HALL]}, population: {gt: 1000}}",
    "{tier: {eq: ROOM}, or: [{longitude: {isNull: true}}, {constructionStatus: {eq: STANDARDIZED}}]}",
]
PAGE = """query($where: OrganizationWhere, $order: [OrganizationOrderBy!], $first: Int, $after: String,
                $last: Int, $before: String) {
  organizations(where: $where, orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def walk(api, query: str, order: list[dict], size: int, backward: bool) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor = None
    total = None
    for _ in range(60):
        variables = {"order": order}
        variables.update({"last": size, "before": cursor} if backward else {"first": size, "after": cursor})
        page = (await api.data(query, variables))["organizations"]
        total = page["totalCount"]
        ids = [e["node"]["id"] for e in page["edges"]]
        seen = ids + seen if backward else seen + ids
        more = page["pageInfo"]["hasPreviousPage"] if backward else page["pageInfo"]["hasNextPage"]
        if not more:
            break
        cursor = page["pageInfo"]["startCursor"] if backward else page["pageInfo"]["endCursor"]
    return seen, total


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    where=st.sampled_from(FILTERS),
    keys=st.lists(
        st.tuples(st.sampled_from(ORDER_FIELDS), st.sampled_from(DIRECTIONS)),
        max_size=3,
        unique_by=lambda k: k[0],
    ),
    size=st.integers(min_value=1, max_value=7),
)
async def test_paging_forward_and_backward_yields_every_row_once_in_order(api, where, keys, size):
    order = [{field: direction} for field, direction in keys]
    query = PAGE.replace("$where: OrganizationWhere, ", "").replace("where: $where", f"where: {where}")
    everything = await api.data(query, {"order": order, "first": 500})
    expected = [e["node"]["id"] for e in everything["organizations"]["edges"]]
    forward, total = await walk(api, query, order, size, backward=False)
    backward, _ = await walk(api, query, order, size, backward=True)
    assert len(expected) == total
    assert forward == expected
    assert backward == expected
