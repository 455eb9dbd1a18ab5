"""Raw bytes and JSON of every shape against every route the app lists: never a server error.

The routes come from the app itself (a new route is fuzzed with no change here). Each example is one
request: any method the route takes (and some it does not), a body of random bytes or of JSON
(objects, arrays, scalars, nesting far past any limit, the GraphQL request's own keys with values of
the wrong kind), a content type from those clients send, and headers with identities, a forwarded
address and an admin-UI claim made of noise. No answer may be a 5xx (but /healthz's designed 503), a
GraphQL error without a code, or an INTERNAL_ERROR; a body over the limit gets 413.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from api.client_address import HEADER
from tests.conftest import GraphQLClient, serving
from tests.test_fuzz import FUZZ

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/json-seq",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=sanji",
    "text/plain",
    "application/graphql",
]
OPERATION_KEYS = ["query", "variables", "operationName", "extensions", "username", "password", "grant_type"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
operations = st.fixed_dictionaries({}, optional={key: json_values for key in OPERATION_KEYS}).map(json.dumps)
deep = st.integers(50, 100_000).map(lambda n: "[" * n + "]" * n)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    operations.map(str.encode),
    deep.map(str.encode),
    st.sampled_from([b"NaN", b'{"query": Infinity}', b'"\\ud800"', b'{"query": "{ __typename }"}']),
)
# Header values as bytes, as they arrive: any octet an HTTP parser lets through (no CR, LF or NUL).
noise = st.binary(max_size=60).map(lambda raw: raw.translate(None, b"\r\n\x00"))
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from([b"Bearer ", b"ApiKey ", b"Basic "]).flatmap(
            lambda scheme: noise.map(scheme.__add__)
        ),
        "X-API-Key": noise,
        "X-Forwarded-For": noise,
        HEADER: noise,
    },
)


def app_paths(app) -> list[tuple[str, list[str]]]:
    """Each route the app lists, with the methods it declares (a mount: a file under it)."""
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            found.append((route.path, sorted(route.methods or METHODS)))
        elif isinstance(route, Mount):
            found.append((route.path + "/graphiql.min.js", ["GET", "HEAD"]))
    return found


@pytest_asyncio.fixture
async def client(seeded_url: str) -> AsyncIterator[tuple[GraphQLClient, list]]:
    async with serving(seeded_url) as api:
        app = api.http._transport.app
        yield api, app_paths(app)


def test_every_route_is_fuzzed():
    from api.app import create_app
    from api.settings import Settings

    paths = [path for path, _ in app_paths(create_app(Settings()))]
    assert paths == [
        "/",
        "/healthz",
        "/auth/token",
        "/auth/logout",
        "/graphql",
        "/graphiql-assets/graphiql.min.js",
    ]


# Shapes every route must take: scalars and arrays where an object goes, broken encodings and
# syntax, nesting past Python's recursion limit, the request's keys holding the wrong kinds.
SHAPES = [
    b"",
    b'"x"',
    b"123",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\xff\xfe\x00",
    b'{"query": "\xc3\x28"}',
    b"{",
    b"NaN",
    b"[" * 20_000 + b"]" * 20_000,
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'[{"query": "{ __typename }"}]',
    b'{"query": 5}',
    b'{"query": "{ __typename }", "variables": "x"}',
    b'{"query": "{ __typename }", "variables": [1]}',
    b'{"query": "{ __typename }", "extensions": 1}',
    b'{"query": "{ __typename }", "operationName": {}}',
    b'{"query": "query A { __typename } query B { __typename }", "operationName": "C"}',
    b'{"username": ["admin"], "password": {"x": 1}}',
    b'{"grant_type": "refresh_token", "refresh_token": 5}',
    b"username=adm%00in&password=x",
    b"x" * 70_000,
]


async def test_every_route_takes_every_shape_of_body(client):
    api, paths = client
    for path, _ in paths:
        for method in METHODS:
            for content_type in (
                "application/json",
                "application/json-seq",
                "application/x-www-form-urlencoded",
                None,
            ):
                for body in SHAPES:
                    sent = {"Content-Type": content_type} if content_type else {}
                    response = await api.http.request(method, path, content=body, headers=sent)
                    check(response, path, f"{method} {path} {content_type} {body[:60]!r}")


@settings(FUZZ, max_examples=400)
@given(data=st.data())
async def test_no_route_fails_on_any_body(client, data):
    api, paths = client
    path, declared = data.draw(st.sampled_from(paths), label="route")
    method = data.draw(st.sampled_from(declared) | st.sampled_from(METHODS), label="method")
    body = data.draw(bodies, label="body") if method not in ("GET", "HEAD") else b""
    sent = data.draw(headers, label="headers")
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content type")
    if content_type:
        sent["Content-Type"] = content_type
    response = await api.http.request(method, path, content=body, headers=sent)
    check(response, path, f"{method} {path} {sent} {body[:200]!r}")


def check(response, path: str, what: str) -> None:
    allowed_5xx = path == "/healthz" and response.status_code == 503
    assert response.status_code < 500 or allowed_5xx, (
        f"{response.status_code} for {what}\n{response.text[:500]}"
    )
    assert "INTERNAL_ERROR" not in response.text, what
    for error in _graphql_errors(response):
        assert (error.get("extensions") or {}).get("code"), f"error without a code for {what}: {error}"


def _graphql_errors(response) -> list[dict[str, Any]]:
    if not response.content or not response.headers.get("content-type", "").startswith("application/json"):
        return []  # (a HEAD answer has the headers of a body but none)
    body = response.json()
    return body.get("errors") or [] if isinstance(body, dict) else []
