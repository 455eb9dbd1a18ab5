"""Schemathesis fuzzing of the GraphQL API: no server error, and no personal data in clear for the roles
that may not see it (anonymous, SUPERVISOR).

Schemathesis turns the committed SDL into Hypothesis strategies of queries and mutations, one root field per
case; Hypothesis runs a bounded number of examples, derandomized, with no example database. Each case is sent
as each role through the httpx client of `serving`, so the app runs inside its lifespan (the Tortoise context)
and on pytest-asyncio's session loop, which runs each example of an async Hypothesis test. Schemathesis' own
`case.call()` would not do: its ASGI transport runs the app on a thread and event loop of its own. Nor is its
`not_a_server_error` check used on the body: it counts every GraphQL error with a `path` as a server failure,
the app's coded refusals (FORBIDDEN, NOT_FOUND, VALIDATION_FAILED...) included. Here a server error is a 5xx
status, or an error without `extensions.code` (which production masks as INTERNAL_ERROR).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import graphql
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.graphql import nodes

from schema.build import SDL_PATH
from schema.generator.ids import to_global_id
from tests.conftest import GraphQLClient, serving

SCHEMA = schemathesis.graphql.from_path(SDL_PATH, config=SchemathesisConfig())
# Types with personal data first: Hypothesis starts from the first choices.
NODE_TYPES = sorted(
    (
        name
        for name, type_ in SCHEMA.client_schema.type_map.items()
        if isinstance(type_, graphql.GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)
    ),
    key=lambda name: (name not in ("Case", "Staff"), name),
)
# Global ids of fixture-sized primary keys reach real objects; any key or any text tests the refusals.
GLOBAL_IDS = st.builds(to_global_id, st.sampled_from(NODE_TYPES), st.integers(1, 60) | st.integers())
schemathesis.graphql.scalar("ID", (GLOBAL_IDS | st.text()).map(nodes.String))
BASE_URL = "http://sanji.test/graphql"

# Each example is sent once per role; the whole file stays well under a minute per database.
ALL_EXAMPLES = 200
PII_EXAMPLES = 100
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # One private database and one signed-in client serve every example, on purpose.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

PII_FIELDS = frozenset({"applicantIdNumber", "applicantPhone", "idNumber", "phone"})
# Masked: at most the 6 leading and 4 trailing characters in clear, at least one star between.
MASKED = re.compile(r"^[^*]{0,6}\*+[^*]{0,4}$")
ID_NUMBER = re.compile(r"\b\d{17}[\dX]\b")  # a resident ID number (GB 11643) anywhere in a response

# Generated filters, sort keys and pages mostly select nothing or are refused; the same queries without them
# return rows, some of them personal data. These arguments are optional on every field that takes them.
LIST_ARGUMENTS = frozenset({"where", "orderBy", "first", "last", "after", "before", "groupBy", "having"})
# Operations that reach cases and staff, directly or through a relation.
PII_OPERATIONS = [
    ("Query", "cases"),
    ("Query", "case"),
    ("Query", "staffMembers"),
    ("Query", "staff"),
    ("Query", "caseEvents"),
    ("Query", "evaluations"),
    ("Query", "dutyShifts"),
    ("Query", "node"),
    ("Mutation", "updateStaff"),
]
# What asks for the personal data of each type that has some, and of a page of such objects.
PII_SELECTIONS = {
    "Case": "applicantIdNumber applicantPhone",
    "CaseConnection": "nodes { applicantIdNumber applicantPhone }",
    "Staff": "idNumber phone",
    "StaffConnection": "nodes { idNumber phone }",
}


def without_list_arguments(case):
    """The case with no filter, sort key or page size anywhere in its query."""

    class Prune(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_args):
            return self.REMOVE if node.name.value in LIST_ARGUMENTS else None

    case.body = graphql.print_ast(graphql.visit(graphql.parse(case.body), Prune()))
    return case


def asking_for_personal_data(case):
    """The case with every Case and Staff (or page of them) it selects also asking for personal data."""
    type_info = graphql.TypeInfo(SCHEMA.client_schema)

    class Add(graphql.Visitor):
        def leave_selection_set(self, node: graphql.SelectionSetNode, *_args):
            parent = type_info.get_parent_type()
            text = PII_SELECTIONS.get(parent.name) if parent else None
            if text is None:
                return None
            extra = graphql.parse(f"{{ {text} }}").definitions[0].selection_set.selections
            return graphql.SelectionSetNode(selections=(*node.selections, *extra))

    document = graphql.visit(graphql.parse(case.body), graphql.TypeInfoVisitor(type_info, Add()))
    case.body = graphql.print_ast(document)
    return case


@pytest_asyncio.fixture
async def callers(seeded_url: str) -> AsyncIterator[tuple[GraphQLClient, dict[str, dict[str, str]]]]:
    """A client on a private copy of the fixture; headers of each role that may not see personal data."""
    async with serving(seeded_url) as client:
        supervisor = await client.sign_in("supervisor")
        yield client, {"anonymous": {}, "supervisor": {"Authorization": f"Bearer {supervisor.token}"}}


@settings(FUZZ, max_examples=ALL_EXAMPLES)
@given(case=st.one_of(SCHEMA.as_strategy(), SCHEMA.as_strategy().map(without_list_arguments)))
async def test_fuzzed_operations_neither_fail_nor_show_personal_data(callers, case):
    await check(*callers, case)


@settings(FUZZ, max_examples=PII_EXAMPLES)
@given(
    case=st.one_of(*(SCHEMA[root][name].as_strategy() for root, name in PII_OPERATIONS))
    .map(without_list_arguments)
    .map(asking_for_personal_data)
)
async def test_fuzzed_reads_of_personal_data_show_it_masked(callers, case):
    await check(*callers, case)


async def check(client: GraphQLClient, roles: dict[str, dict[str, str]], case) -> None:
    """Sends the case as each role: no server error, personal data masked."""
    for role, headers in roles.items():
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
        query = kwargs["json"]["query"]
        response = await client.http.request(
            kwargs["method"], kwargs["url"], json=kwargs["json"], headers=kwargs["headers"]
        )
        assert response.status_code < 500, f"{response.status_code} as {role} for\n{query}\n{response.text}"
        body = response.json()
        failed = [e for e in body.get("errors") or [] if server_error(e)]
        assert not failed, f"server error as {role} for\n{query}\n{json.dumps(failed, ensure_ascii=False)}"
        for field, value in pii_values(graphql.parse(query), body.get("data")):
            assert value is None or MASKED.match(value), f"{field} in clear as {role}: {value!r} for\n{query}"
        for text in strings(body):
            for found in ID_NUMBER.findall(text):
                # The fuzzer's own input echoed back (say in a validation message) discloses nothing.
                assert found in query, f"ID number in clear as {role}: {text!r} for\n{query}"


def server_error(error: dict) -> bool:
    """Refusals carry a code; an unexpected failure has none in dev and INTERNAL_ERROR in production."""
    return (error.get("extensions") or {}).get("code") in (None, "INTERNAL_ERROR")


def pii_values(document: graphql.DocumentNode, data: Any) -> Iterator[tuple[str, Any]]:
    """(field, value) of each personal-data field in `data`, found through the query: aliases count too."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            yield from _walk(definition.selection_set, data, fragments)


def _walk(
    selection_set: graphql.SelectionSetNode | None, data: Any, fragments: dict
) -> Iterator[tuple[str, Any]]:
    if selection_set is None or data is None:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(selection_set, item, fragments)
        return
    for selection in selection_set.selections:
        if isinstance(selection, graphql.FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            if not isinstance(data, dict) or key not in data:
                continue
            if selection.name.value in PII_FIELDS:
                yield selection.name.value, data[key]
            yield from _walk(selection.selection_set, data[key], fragments)
        elif isinstance(selection, graphql.InlineFragmentNode):
            yield from _walk(selection.selection_set, data, fragments)
        elif isinstance(selection, graphql.FragmentSpreadNode) and selection.name.value in fragments:
            yield from _walk(fragments[selection.name.value].selection_set, data, fragments)


def strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
