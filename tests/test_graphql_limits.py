"""Over-limit queries are refused before execution, each with its code; production hides internals."""

from __future__ import annotations

import httpx
import pytest

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


async def test_a_huge_document_is_refused_by_its_token_count(api):
    fields = " ".join("coverage { tier total built }" for _ in range(1000))
    error = await api.error(f"{{ {fields} }}")
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
        large = await api.error("{ " + " ".join("coverage { tier total built }" for _ in range(1000)) + " }")
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
