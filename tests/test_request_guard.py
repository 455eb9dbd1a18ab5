"""Bodies the API cannot use are refused before any handler runs: too large (413), not UTF-8, not
JSON, nested too deep or not one operation (400), each with a code and in the route's own shape."""

from __future__ import annotations

import pytest

from tests.conftest import serving

JSON = {"Content-Type": "application/json"}
GRAPHQL_BAD = "BAD_REQUEST_BODY"


def graphql_error(response) -> tuple[int, str, str]:
    (error,) = response.json()["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


NO_QUERY = (
    "`query` must be the operation's text (a string), or absent with extensions.persistedQuery "
    "naming a registered one"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"x"', "the body must be a JSON object, not a string"),
        (b"123", "the body must be a JSON object, not a number"),
        (b"null", "the body must be a JSON object, not null"),
        (b'[{"query": "{ coverage { total } }"}]', "the body must be a JSON object, not an array"),
        (b"\xff\xfe{}", "the body is not UTF-8 (byte 0)"),
        (
            b'{"query": "{ __typename }"',
            "the body is not JSON: Expecting ',' delimiter: line 1 column 27 (char 26)",
        ),
        (
            b'{"query": "{ __typename }", "variables": {"x": NaN}}',
            "the body is not JSON: NaN is not a JSON number",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "the body nests arrays and objects more than 64 deep"),
        (b"{}", NO_QUERY),
        (b'{"query": 5}', NO_QUERY),
        (b'{"query": 5, "extensions": {"persistedQuery": {}}}', NO_QUERY),
        (
            b'{"query": "{ __typename }", "variables": "x"}',
            "`variables` must be an object or null, not a string",
        ),
        (
            b'{"query": "{ __typename }", "operationName": 1}',
            "`operationName` must be a string or null, not a number",
        ),
    ],
    ids=[
        "string",
        "number",
        "null",
        "batch",
        "not UTF-8",
        "truncated",
        "NaN",
        "deep",
        "no query",
        "query not text",
        "registered, query not text",
        "variables not an object",
        "operation name not text",
    ],
)
async def test_a_body_that_is_not_one_json_operation_is_refused_with_a_code(api, body, message):
    response = await api.http.post("/graphql", content=body, headers=JSON)
    assert graphql_error(response) == (400, GRAPHQL_BAD, message)


@pytest.mark.parametrize(
    "body",
    [b"[" * 30_000 + b"]" * 30_000, b'"x"', b"\xc3\x28", b'{"username": NaN}'],
    ids=["deep", "string", "not UTF-8", "NaN"],
)
async def test_a_bad_json_sign_in_keeps_the_oauth_error_shape(api, body):
    response = await api.http.post("/auth/token", content=body, headers=JSON)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == "invalid_request"


async def test_the_graphql_body_limit_answers_413_whether_or_not_the_size_is_declared(fresh_url):
    big = b'{"query": "{ __typename }", "variables": {"x": "' + b"a" * 2000 + b'"}}'

    async def chunks():
        yield big[:1000]
        yield big[1000:]

    async with serving(fresh_url, max_body_bytes=1500) as api:
        declared = await api.http.post("/graphql", content=big, headers=JSON)
        streamed = await api.http.post("/graphql", content=chunks(), headers=JSON)
        within = await api.http.post("/graphql", json={"query": "{ __typename }"})
    expected = (413, "REQUEST_TOO_LARGE", "the request body is over 1,500 bytes")
    assert graphql_error(declared) == expected
    assert "content-length" not in streamed.request.headers
    assert graphql_error(streamed) == expected
    assert within.json() == {"data": {"__typename": "Query"}}


async def test_every_other_route_takes_64_kib_at_most(api):
    form = {"username": "admin", "password": "x" * 70_000}
    signed = await api.http.post("/auth/token", data=form)
    assert signed.status_code == 413
    assert signed.json() == {
        "error": "invalid_request",
        "error_description": "the request body is over 65,536 bytes",
    }
    health = await api.http.request("GET", "/healthz", content=b"x" * 70_000)
    assert graphql_error(health) == (413, "REQUEST_TOO_LARGE", "the request body is over 65,536 bytes")


async def test_a_form_post_to_graphql_is_refused_as_the_wrong_media_type(api):
    response = await api.http.post("/graphql", data={"query": "{ __typename }"})
    assert graphql_error(response) == (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "send the operation as application/json",
    )


async def test_the_media_type_is_read_without_regard_to_case(api):
    answer = await api.http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"Content-Type": "Application/JSON"}
    )
    assert answer.json() == {"data": {"__typename": "Query"}}
    signed = await api.http.post(
        "/auth/token",
        content=b'{"username": "admin", "password": "sanji-demo"}',
        headers={"Content-Type": "APPLICATION/JSON; charset=utf-8"},
    )
    assert signed.status_code == 200, signed.text


async def test_a_sign_in_body_of_another_json_type_is_not_read_as_json(api):
    deep = b"[" * 20_000 + b"]" * 20_000
    answer = await api.http.post(
        "/auth/token", content=deep, headers={"Content-Type": "application/json-seq"}
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "username and password are required",
    }
