"""The breadth counted from a query's tokens (before parsing) equals that of its syntax tree."""

from __future__ import annotations

import graphql
import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from schema.build import SDL_PATH
from schema.query_shape import Breadth, Shape, lexical_breadth
from tests.test_graphql_limits import deadline

SDL = SDL_PATH.read_text(encoding="utf-8")
SCALARS = {
    "BigInt": st.integers(-(2**63), 2**63 - 1).map(nodes.Int),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat() + "+08:00")),
    "JSON": st.text().map(nodes.String),
}

TRICKY = [
    graphql.get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    ),
    # Braces inside strings, block strings, comments, default values and directive arguments;
    # aliases, a field named `on`, inline fragments with and without a type, fragment spreads.
    """query Q($a: Int = 3, $w: OrganizationWhere = {name: {eq: "{ x }"}}) @dir(a: "}") {
      a: organizations(first: $a) { nodes { ...F ... on Organization { code } ... @include(if: true) { id }
        on: name } } # { a comment }
      b: items { totalCount } }
    fragment F on Organization { parent(x: \"\"\" block { " \\\"\"\" } \"\"\") { code }
      children(where: {or: [{a: 1}]}) @skip(if: false) { totalCount } }
    { x , y, z { on } ... on T { a } ...G }
    mutation { m(input: {list: [{a: "{"}]}) { ok } }""",
    "{" + " ".join("organizations { totalCount }" for _ in range(300)) + "}",
    # Keywords as names: a fragment called `query`, a type condition `on subscription`, a directive.
    "fragment query on Query { a b c } { ...query } fragment F on subscription @query { d e }"
    " query fragment { f }",
]


@pytest.mark.parametrize(
    "query", TRICKY, ids=["introspection", "strings and fragments", "repeated", "keywords as names"]
)
def test_tokens_give_the_breadth_of_the_tree(query):
    assert lexical_breadth(query) == Shape(graphql.parse(query)).breadth


@settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    query=hypothesis_graphql.queries(SDL, custom_scalars=SCALARS)
    | hypothesis_graphql.mutations(SDL, custom_scalars=SCALARS)
)
def test_tokens_give_the_breadth_of_the_tree_for_generated_operations(query):
    assert lexical_breadth(query) == Shape(graphql.parse(query)).breadth


def test_breadth_of_a_known_document():
    query = "query { a: organizations { nodes { id ...F } } items { totalCount } } fragment F on X { b c }"
    assert lexical_breadth(query) == Breadth(fields=7, widest=2, roots=2)


@pytest.mark.parametrize(
    "text",
    [
        '{ a(x: "' + '\\"' * 200_000,  # a string that never closes, full of escaped quotes
        '{ a(x: """' + '\\"""' * 100_000,  # a block string that never closes
        '"' * 400_000,
    ],
    ids=["unclosed string", "unclosed block string", "quotes"],
)
def test_counting_reads_each_character_once(text):
    # Linear: these megabyte texts take milliseconds; a pattern that backtracked to find each
    # closing quote took 13 s at 80 KB and would take hours here.
    with deadline(20, "counting the breadth of an unclosed string"):
        lexical_breadth(text)
