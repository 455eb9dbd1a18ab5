"""The front door of every request: who the client is, and a body the app can read safely.

`ClientAddress` puts the client's real address in `scope["client"]`, which rate limits, lockouts
and the audit log read (see api.client_address). `BodyGuard` reads each body once, up to a size
limit, and on /graphql and /auth/token refuses a JSON body that is not UTF-8, not JSON, nested too
deep or not one object. Each refusal has a code and the route's own shape: OAuth's `error` and
`error_description` on /auth/*, GraphQL `errors` elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import client_address
from api.errors import ErrorCode
from schema.generator.text import TooDeep, strict_json

SMALL_BODY = 64 * 1024  # every route but /graphql: sign-in forms and nothing else
MAX_JSON_DEPTH = 64  # a filter of 16 and/or/not levels is 32 JSON levels inside the variables
OAUTH_PATHS = ("/auth/",)


def refusal(path: str, status: int, code: str, message: str) -> JSONResponse:
    """A refusal in the shape the route's clients read."""
    if path.startswith(OAUTH_PATHS):
        return JSONResponse({"error": "invalid_request", "error_description": message}, status)
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": ErrorCode(code)}}]}, status)


class ClientAddress:
    """Sets the client address from a trusted proxy's X-Forwarded-For or the admin UI's signed claim."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted: client_address.Networks,
        ui_key: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.trusted = trusted
        self.ui_key = ui_key
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        peer, port = scope.get("client") or ("", 0)
        claim = headers.get(client_address.HEADER)
        if claim is not None:
            try:
                address = client_address.verify(self.ui_key, claim, self.clock())
            except client_address.BadClaim as bad:
                await refusal(scope["path"], 400, "BAD_CLIENT_ADDRESS", str(bad))(scope, receive, send)
                return
        else:
            address = client_address.forwarded_client(peer, headers.get("x-forwarded-for"), self.trusted)
        if address != peer:
            scope = {**scope, "client": (address, port), "sanji.peer": peer}
        await self.app(scope, receive, send)


class BodyGuard:
    """Reads the whole body (within its limit) before the app runs, then hands it on unchanged."""

    def __init__(self, app: ASGIApp, *, max_graphql_bytes: int) -> None:
        self.app = app
        self.max_graphql_bytes = max_graphql_bytes

    def limit(self, path: str) -> int:
        return self.max_graphql_bytes if path == "/graphql" else SMALL_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, limit = scope["path"], self.limit(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(path, limit)(scope, receive, send)
            return
        body = await read_body(receive, limit)
        if body is None:
            await self._too_large(path, limit)(scope, receive, send)
            return
        problem, parsed = self._check(scope, headers, body)
        if problem is not None:
            status, code, message = problem
            await refusal(path, status, code, message)(scope, receive, send)
            return
        if parsed is not None:  # read once: the token endpoint takes it from here
            scope = {**scope, "sanji.json": parsed, "headers": _plain_json(scope["headers"])}
        await self.app(scope, replay_body(body, receive), send)

    @staticmethod
    def _too_large(path: str, limit: int) -> JSONResponse:
        return refusal(path, 413, "REQUEST_TOO_LARGE", f"the request body is over {limit:,} bytes")

    @staticmethod
    def _check(
        scope: Scope, headers: Headers, body: bytes
    ) -> tuple[tuple[int, str, str] | None, dict | None]:
        """What is wrong with the body, or the JSON object it holds (on the routes that read JSON)."""
        path = scope["path"]
        if scope["method"] != "POST" or path not in ("/graphql", "/auth/token"):
            return None, None
        if media_type(headers) != "application/json":
            if path == "/graphql":
                return (415, "UNSUPPORTED_MEDIA_TYPE", "send the operation as application/json"), None
            return None, None  # the form encoding OAuth clients use
        found = _json_object(body)
        if isinstance(found, str):
            return (400, "BAD_REQUEST_BODY", found), None
        problem = _operation_problem(found) if path == "/graphql" else None
        return ((400, "BAD_REQUEST_BODY", problem), None) if problem else (None, found)


def media_type(headers: Headers) -> str:
    """The body's media type, without parameters and in lower case (`Application/JSON` is JSON)."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _plain_json(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with the content type spelled as strawberry expects it."""
    return [(k, b"application/json") if k == b"content-type" else (k, v) for k, v in headers]


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away; the app sees an empty or partial body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """`receive` for an app that reads the body again: it gets it whole, then what follows."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _json_object(body: bytes) -> dict | str:
    """The body as a JSON object, or what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the body is not UTF-8 (byte {error.start})"
    try:
        value = strict_json(text, MAX_JSON_DEPTH)
    except TooDeep as error:
        return f"the body {error}"
    except ValueError as error:
        return f"the body is not JSON: {error}"
    if not isinstance(value, dict):
        return f"the body must be a JSON object, not {_kind(value)}"
    return value


def _operation_problem(body: dict) -> str | None:
    """What keeps a JSON object from being one GraphQL operation, or None."""
    extensions = body.get("extensions")
    registered = isinstance(extensions, dict) and "persistedQuery" in extensions
    query = body.get("query")
    if not isinstance(query, str) and not (registered and query is None):
        return (
            "`query` must be the operation's text (a string), or absent with "
            "extensions.persistedQuery naming a registered one"
        )
    for name, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            expected = "an object" if kind is dict else "a string"
            return f"`{name}` must be {expected} or null, not {_kind(value)}"
    return None


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
