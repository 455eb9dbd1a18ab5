"""The admin UI's only way to the data: GraphQL over HTTP, errors as readable messages."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import httpx
import streamlit as st

from api import client_address
from api.settings import Settings

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A failed GraphQL call, with the server's message and code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def api_url() -> str:
    return os.environ.get("SANJI_API_URL", DEFAULT_API_URL).rstrip("/")


SIGNING_SETTINGS = ("SANJI_ENV", "SANJI_SECRET_KEY", "SANJI_SECRET_KEY_FILE", "SANJI_TRUSTED_PROXIES")


def _signing() -> tuple[bytes, client_address.Networks]:
    """The installation's UI key (the API derives the same) and the proxies before the UI, if any."""
    return _signing_for(tuple(os.environ.get(name) for name in SIGNING_SETTINGS))


@functools.lru_cache(maxsize=4)
def _signing_for(values: tuple[str | None, ...]) -> tuple[bytes, client_address.Networks]:
    environ = {name: value for name, value in zip(SIGNING_SETTINGS, values, strict=True) if value is not None}
    settings = Settings.from_env(environ)
    return client_address.ui_key(settings.secret_key), client_address.networks(settings.trusted_proxies)


def client_headers() -> dict[str, str]:
    """Names the address of the person at the browser to the API, signed so that only the UI can:
    the API's lockouts, request budgets and audit log then see the person, not the UI's server."""
    key, trusted = _signing()
    peer = st.context.ip_address
    if not isinstance(peer, str):  # None: a browser on this machine
        peer = "127.0.0.1"
    address = client_address.forwarded_client(peer, st.context.headers.get("X-Forwarded-For"), trusted)
    return {client_address.HEADER: client_address.sign(key, address, time.time())}


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
