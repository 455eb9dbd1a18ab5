"""Over-limit queries are refused before execution, each with its code; production hides internals."""

from __future__ import annotations

import random
import signal
from contextlib import contextmanager

import graphql
import httpx
import pytest
import strawberry.schema.schema as strawberry_schema

from api import db
from api.app import create_app
from api.settings import Env, Settings
from tests.conftest import serving

PRODUCTION = {"env": Env.PRODUCTION, "secret_key": "p" * 40}


def nested_parents(levels: int) -> str:
    inner = "code"
    for _ in range(levels):
        inner = f"parent {{ {inner} }}"
    return f"{{ organizations(first: 1) {{ nodes {{ {inner} }} }} }}"


async def test_a_deep_query_is_refused(api):
    assert "errors" not in await api(nested_parents(9))  # 12 levels
    error = await api.error(nested_parents(10))
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}
    assert "13 levels" in error["message"]


async def test_too_many_aliases_are_refused(api):
    fields = " ".join(f"a{i}: coverage {{ total }}" for i in range(31))
    error = await api.error(f"{{ {fields} }}")
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES"}


# Two fields and 5,500 values: too many tokens for the parser, not too broad.
LONG_FILTER = "{ windows(where: {name: {in: [" + ", ".join(['"a"'] * 5500) + "]}}) { totalCount } }"


async def test_a_huge_document_is_refused_by_its_token_count(api):
    error = await api.error(LONG_FILTER)
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE"}


COSTLY = """query($size: Int) { organizations(first: 500) { nodes {
  children(first: 500) { nodes { handledCases(first: $size) { nodes { number } } } } } } }"""


async def test_the_cost_budget_multiplies_page_sizes_and_reads_variables(admin_api):
    error = await admin_api.error(COSTLY, {"size": 500})
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}
    assert "125,250,500" in error["message"]
    assert "errors" not in await admin_api(COSTLY.replace("first: 500", "first: 4"), {"size": 5})


async def test_the_benchmark_nested_query_fits_the_budget(admin_api):
    from benchmarks.graphql_bench import NESTED

    assert "errors" not in await admin_api(NESTED)


ROOT_FIELDS = ["organizations", "items", "cases", "staffMembers", "windows", "calendarDays"]


def probe_query(fields: int = 1150) -> str:
    """The probe's query: ~1,150 repeated root fields, varied so no cache has seen it."""
    names = random.choices(ROOT_FIELDS, k=fields)
    return "{ " + " ".join(f"{name} {{ totalCount }}" for name in names) + " }"


@pytest.fixture
def validations(monkeypatch) -> list:
    """Documents graphql-core validated during the test (strawberry's validate, counted)."""
    seen = []
    original = strawberry_schema.validate

    def counting(schema, document, *args, **kwargs):
        seen.append(document)
        return original(schema, document, *args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    return seen


@contextmanager
def deadline(seconds: int, what: str):
    """Fail (instead of hanging the suite) when CPU-bound work runs past `seconds`."""

    def expired(*_args):
        raise AssertionError(f"{what} took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


async def test_the_probes_broad_query_is_refused_before_validation(api, validations):
    query = probe_query()
    assert len(graphql.parse(query).definitions[0].selection_set.selections) == 1150
    error = await api.error(query)
    assert error["extensions"] == {"code": "QUERY_TOO_BROAD"}
    assert error["message"] == "the query selects 2,300 fields; at most 500"
    assert validations == []  # refused on its shape: graphql-core never saw it


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "{ organizations { nodes { " + " ".join(["code"] * 201) + " } } }",
            "a selection set holds 201 selections; at most 200",
        ),
        (
            "{ " + " ".join(["coverage { total }"] * 51) + " }",
            "the operation selects 51 root fields; at most 50",
        ),
        (  # 15 x 15 repeated relations (480 fields): 25,000 comparisons to check they merge
            "{ organizations { nodes { "
            + " ".join(["children { nodes { " + " ".join(["children { totalCount }"] * 15) + " } }"] * 15)
            + " } } }",
            "the query repeats fields so often that checking they agree would take over 2,000 "
            "comparisons: select each field once",
        ),
    ],
    ids=["wide selection set", "root fields", "repeated fields"],
)
async def test_broad_queries_are_refused_on_their_shape(api, validations, query, message):
    error = await api.error(query)
    assert error == {"message": message, "extensions": {"code": "QUERY_TOO_BROAD"}}
    assert validations == []


@pytest.mark.parametrize(
    "query",
    [
        "{ ... { " + "__typename " * 26 + "} " + "__typename " * 25 + "}",
        "{ ...F } fragment F on Query { " + "__typename " * 51 + "}",
    ],
    ids=["inline fragment", "named fragment"],
)
async def test_root_fields_brought_by_fragments_count_too(api, query):
    error = await api.error(query)
    assert error["extensions"] == {"code": "QUERY_TOO_BROAD"}
    assert error["message"].startswith("the operation selects 51 root fields, its fragments' included")


async def test_each_fragment_is_measured_once_however_often_it_is_spread(admin_api):
    # Each fragment spreads the one before twice: 2^40 paths through the document, one field.
    fragments = ["fragment F0 on Query { coverage { tier total } }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)
    ]
    with deadline(30, "measuring a chain of 40 fragments each spread twice"):
        data = await admin_api.data("{ ...F40 } " + " ".join(fragments))
    assert {row["tier"] for row in data["coverage"]} == {"HALL", "ROOM"}


async def test_fragments_nested_hundreds_deep_are_refused(api):
    fragments = ["fragment F0 on Query { coverage { total } }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} }}" for i in range(1, 500)
    ]
    error = await api.error("{ ...F499 } " + " ".join(fragments))
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}


INTROSPECTION = graphql.get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


async def test_the_standard_introspection_query_works_in_dev(api):
    # graphql-codegen, Postman, Insomnia and GraphiQL send this; its `ofType` chain is 8 deep.
    data = await api.data(graphql.get_introspection_query())
    schema = graphql.build_client_schema(data)
    assert schema.query_type.name == "Query"
    assert "organizations" in schema.query_type.fields
    assert "__schema" in (await api.data(INTROSPECTION))


async def test_depth_still_counts_fields_and_types_of_introspection(api):
    inner = "name"
    for _ in range(7):
        inner = f"fields {{ type {{ {inner} }} }}"
    error = await api.error(f"{{ __schema {{ types {{ {inner} }} }} }}")
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}
    assert "17 levels" in error["message"]


async def test_introspection_and_suggestions_in_dev(api):
    data = await api.data("{ __schema { queryType { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"
    error = await api.error("{ organisations { totalCount } }")
    assert "Did you mean" in error["message"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_production_turns_off_introspection_and_suggestions(fresh_url):
    async with serving(fresh_url, **PRODUCTION) as api:
        errors = (await api("{ __schema { queryType { name } } }"))["errors"]
        assert {e["extensions"]["code"] for e in errors} == {"INTROSPECTION_DISABLED"}
        errors = (await api(INTROSPECTION))["errors"]
        assert {e["extensions"]["code"] for e in errors} == {"INTROSPECTION_DISABLED"}
        large = await api.error(LONG_FILTER)
        assert large["extensions"] == {"code": "QUERY_TOO_LARGE"}
        typo = await api.error("{ organisations { totalCount } }")
        assert "Did you mean" not in typo["message"]
        coded = await api.error("{ organizations(first: 10000) { totalCount } }")
        assert coded["extensions"] == {"code": "VALIDATION_FAILED", "field": "first"}


async def test_production_masks_unexpected_errors_with_a_request_id(fresh_url, caplog):
    async with db.database(Settings(database_url=fresh_url)) as ctx:
        await ctx.db().execute_script("DROP TABLE calendar_day")
    async with serving(fresh_url, **PRODUCTION) as api:
        error = await api.error("{ calendarDays { totalCount } }")
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    request_id = error["extensions"]["requestId"]
    assert request_id in error["message"]
    assert "calendar_day" not in error["message"]
    assert any(request_id in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "query=%7B+coverage+%7B+total+%7D+%7D"),
        ("text/plain", '{"query": "{ coverage { total } }"}'),
    ],
)
async def test_queries_only_as_a_json_post(api, content_type, body):
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": content_type})
    assert response.status_code in (400, 415)


async def test_cors_allows_only_configured_origins(fresh_url):
    app = create_app(Settings(database_url=fresh_url, cors_origins=("https://portal.example.gov.cn",)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await http.options(
            "/graphql", headers={"Origin": "https://portal.example.gov.cn", **preflight}
        )
        other = await http.options("/graphql", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "https://portal.example.gov.cn"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "body",
    [
        r'{"query": "{ windows(where: {name: {eq: \"a\\u0000\"}}) { totalCount } }"}',
        r'{"query": "query($n: String) { windows(where: {name: {eq: $n}}) { totalCount } }",'
        r' "variables": {"n": "a\u0000"}}',
        r'{"query": "query($n: String) { windows(where: {name: {contains: $n}}) { totalCount } }",'
        r' "variables": {"n": "a\ud800"}}',
    ],
)
async def test_text_no_database_can_store_is_refused(api, body):
    response = await api.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "VALIDATION_FAILED"}


async def test_long_query_texts_are_not_kept_in_the_caches(api):
    from schema.limits import _parse_cached, _validate_cached

    # 100 KB of text in one string literal: a few tokens, a megabyte-sized cache entry if kept.
    long = '{ windows(where: {name: {contains: "' + "x" * 100_000 + '"}}) { totalCount } }'
    parsed, validated = _parse_cached.cache_info().currsize, _validate_cached.cache_info().currsize
    assert (await api.data(long))["windows"]["totalCount"] == 0
    assert (_parse_cached.cache_info().currsize, _validate_cached.cache_info().currsize) == (
        parsed,
        validated,
    )
    short = '{ windows(where: {name: {eq: "cached"}}) { totalCount } }'
    await api.data(short)
    assert _parse_cached.cache_info().currsize > 0
