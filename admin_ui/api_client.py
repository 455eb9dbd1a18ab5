"""The admin UI's only way to the data: GraphQL over HTTP, errors as readable messages."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import httpx
import streamlit as st

from api import client_address
from api.settings import ui_signing

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A failed GraphQL call, with the server's message and code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def api_url() -> str:
    return os.environ.get("SANJI_API_URL", DEFAULT_API_URL).rstrip("/")


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
    Without a key (production with no SANJI_UI_CLIENT_KEY) nothing is claimed."""
    key, trusted = _signing(tuple(os.environ.get(name) for name in SIGNING_SETTINGS))
    if key is None:
        return {}
    peer = st.context.ip_address
    if not isinstance(peer, str):  # None: a browser on this machine
        peer = "127.0.0.1"
    forwarded = client_address.forwarded_client(peer, st.context.headers.get("X-Forwarded-For"), trusted)
    named = client_address.address(forwarded)
    return {client_address.HEADER: client_address.sign(key, named, time.time())} if named else {}


def graphql(query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
    headers = {**client_headers(), **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        response = httpx.post(
            f"{api_url()}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=15,
        )
    except httpx.HTTPError as error:
        raise ApiError(f"{api_url()}: {error}", "UNREACHABLE") from None
    try:
        body = response.json()
    except ValueError:
        raise ApiError(f"HTTP {response.status_code} from {api_url()}", "BAD_RESPONSE") from None
    if body.get("errors"):
        first = body["errors"][0]
        raise ApiError(first.get("message", "unknown error"), (first.get("extensions") or {}).get("code"))
    return body["data"]
