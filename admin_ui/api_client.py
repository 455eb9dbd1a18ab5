"""The admin UI's only way to the data: GraphQL over HTTP through one pooled client, errors as
readable messages, and reads cached per signed-in user for a few seconds."""

from __future__ import annotations

import functools
import http.cookiejar
import os
import threading
import time
from typing import Any

import httpx
import streamlit as st

from api import client_address
from api.settings import ui_signing

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 15
READ_TTL_SECONDS = 30  # how stale another person's change may look; the reader's own writes clear it


class ApiError(Exception):
    """A failed GraphQL call, with the server's message and code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def api_url() -> str:
    return os.environ.get("SANJI_API_URL", DEFAULT_API_URL).rstrip("/")


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def http_client() -> httpx.Client:
    """The process's one HTTP client. Its pool keeps connections to the API open between calls, and
    every session's script thread uses it at once (httpx.Client may be shared between threads).
    Each call passes its own headers; the client keeps no cookies, so that nothing one user's
    answer set can travel with another user's call."""
    global _client
    with _client_lock:
        if _client is None:
            no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            _client = httpx.Client(
                timeout=TIMEOUT_SECONDS,
                cookies=no_cookies,
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            )
        return _client


def post(path: str, **kwargs: Any) -> httpx.Response:
    """POST to the API at `path`; an unreachable API is an ApiError coded UNREACHABLE."""
    try:
        return http_client().post(f"{api_url()}{path}", **kwargs)
    except httpx.HTTPError as error:
        raise ApiError(f"{api_url()}: {error}", "UNREACHABLE") from None


SIGNING_SETTINGS = (
    "SANJI_ENV",
    "SANJI_UI_CLIENT_KEY",
    "SANJI_SECRET_KEY",
    "SANJI_SECRET_KEY_FILE",
    "XDG_CONFIG_HOME",
    "SANJI_UI_TRUSTED_PROXIES",
)


@functools.lru_cache(maxsize=4)
def _signing(values: tuple[str | None, ...]) -> tuple[str | None, client_address.Networks]:
    return ui_signing({name: value for name, value in zip(SIGNING_SETTINGS, values, strict=True) if value})


def client_headers() -> dict[str, str]:
    """Names the address of the person at the browser to the API, signed with the UI client key:
    the API's lockouts, request budgets and audit log then see the person, not the UI's server.
    Without a key (production with no SANJI_UI_CLIENT_KEY) nothing is claimed.

    It reads st.context, which belongs to the session running the script: call it there, never
    inside a cached function (whose result other sessions receive)."""
    key, trusted = _signing(tuple(os.environ.get(name) for name in SIGNING_SETTINGS))
    if key is None:
        return {}
    peer = st.context.ip_address
    if not isinstance(peer, str):  # None: a browser on this machine
        peer = "127.0.0.1"
    forwarded = client_address.forwarded_client(peer, st.context.headers.get("X-Forwarded-For"), trusted)
    named = client_address.address(forwarded)
    return {client_address.HEADER: client_address.sign(key, named, time.time())} if named else {}


def graphql(
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One GraphQL call as the holder of `token` (anonymous without), from the person whose signed
    address is in `headers` (client_headers() when not given)."""
    sent = {**(client_headers() if headers is None else headers)}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    response = post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
    try:
        body = response.json()
    except ValueError:
        raise ApiError(f"HTTP {response.status_code} from {api_url()}", "BAD_RESPONSE") from None
    if body.get("errors"):
        first = body["errors"][0]
        raise ApiError(first.get("message", "unknown error"), (first.get("extensions") or {}).get("code"))
    return body["data"]


def cached_read(
    reader: tuple, query: str, variables: dict[str, Any] | None, token: str, headers: dict[str, str]
) -> dict[str, Any]:
    """A read shared by the calls with the same `reader`, query and variables for READ_TTL_SECONDS.

    `reader` names whose answer this is (see session.reader_key): the API, the user, role and
    organization, the sign-in and the user's write count. The token and the signed address are
    left out of the key: they only travel with the call that fills the entry, which is always the
    reader's own, so no call carries another person's headers."""
    return _read_cache()(reader, query, variables, token, headers)


@functools.cache
def _read_cache():
    # Made on first use, in a session's run: made when the server imports this module (before
    # Streamlit's runtime exists), the cache would be checked against a stand-in storage.
    return st.cache_data(ttl=READ_TTL_SECONDS, max_entries=4096, show_spinner=False)(_read)


def _read(
    reader: tuple, query: str, variables: dict[str, Any] | None, _token: str, _headers: dict[str, str]
) -> dict[str, Any]:
    return graphql(query, variables, _token, _headers)
