"""The admin UI's only way to the data: GraphQL over HTTP, errors as readable messages."""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A failed GraphQL call, with the server's message and code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def api_url() -> str:
    return os.environ.get("SANJI_API_URL", DEFAULT_API_URL).rstrip("/")


def graphql(query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
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
