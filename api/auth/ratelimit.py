"""Per-caller request budgets in fixed windows, counted in the database so every worker shares them.

A caller is its API key (by prefix), else its signed-in user (by id), else its client address.
Each request costs one atomic upsert on `rate_counter`; 0 as a limit turns it off.

`RateLimit` is the ASGI middleware that charges every request to /graphql against the
`api` budget (SANJI_RATE_LIMIT_PER_MINUTE, or SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE per address)
and answers 429 once it is spent. It must run inside the authentication backend (`caller_auth`),
which identifies the caller.

A field or route with its own, stricter budget (such as a public case lookup) calls `enforce` with
a name of its own, so its requests are counted apart from the `api` budget:

    await ratelimit.enforce("lookup", info.context["caller"], limit=10)

It returns the `Decision`, or raises `RateLimited` (a DomainError with code RATE_LIMITED, which
the GraphQL layer reports as a coded error).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.caller import Caller
from api.auth.http import caller_in
from api.db import dialect_sql
from api.errors import DomainError
from api.models.user import RateCounter
from api.settings import Settings

Clock = Callable[[], float]
CHARGED = "sanji.charged"  # in the scope of a request whose budget was spent already (SessionReads)
WINDOW_SECONDS = 60

# ON CONFLICT ... RETURNING (SQLite 3.35+, PostgreSQL 9.5+) counts in one atomic statement, so
# concurrent requests of one caller, in any worker, can never both take the last unit.
_COUNT = (
    'INSERT INTO rate_counter ("key", "window_start", "expires_at", "count") VALUES ({}, {}, {}, 1) '
    'ON CONFLICT ("key", "window_start") DO UPDATE SET "count" = rate_counter."count" + 1 '
    'RETURNING "count"'
)
_PURGE = 'DELETE FROM rate_counter WHERE "expires_at" <= {}'


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    window_seconds: int
    remaining: int
    reset_after: int  # seconds until the window ends and the budget is whole again

    @property
    def retry_after(self) -> int:
        return 0 if self.allowed else self.reset_after

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimited(DomainError):
    def __init__(self, decision: Decision) -> None:
        super().__init__(
            "RATE_LIMITED",
            f"too many requests: {decision.limit} are allowed every {decision.window_seconds} s; "
            f"try again in {decision.retry_after} s",
        )
        self.decision = decision


async def hit(key: str, limit: int, window_seconds: int, *, now: Clock = time.time) -> Decision:
    """Count one request for `key` in the current window and say whether it is within `limit`."""
    if limit <= 0:
        return Decision(allowed=True, limit=0, window_seconds=window_seconds, remaining=0, reset_after=0)
    moment = now()
    window_start = int(moment) // window_seconds * window_seconds
    expires_at = window_start + window_seconds
    connection = RateCounter._meta.db
    rows = await connection.execute_query_dict(
        dialect_sql(_COUNT, connection.query_class), [key, window_start, expires_at]
    )
    count = rows[0]["count"]
    if count == 1:  # the first request of a window: drop every finished window, of every caller
        await connection.execute_query(dialect_sql(_PURGE, connection.query_class), [int(moment)])
    return Decision(
        allowed=count <= limit,
        limit=limit,
        window_seconds=window_seconds,
        remaining=max(0, limit - count),
        reset_after=max(1, math.ceil(expires_at - moment)),
    )


def caller_key(caller: Caller) -> str:
    """Whose budget a request spends: the API key, else the signed-in user, else the address."""
    if caller.key_id is not None:
        return f"key:{caller.key_prefix}"
    if caller.session_id is not None:
        return f"user:{caller.user_id}"
    return f"ip:{caller.ip}"


async def enforce(
    name: str,
    caller: Caller,
    limit: int,
    window_seconds: int = WINDOW_SECONDS,
    *,
    now: Clock = time.time,
) -> Decision:
    """Spend one unit of the caller's `name` budget; raises RateLimited when it is spent."""
    decision = await hit(f"{name}:{caller_key(caller)}", limit, window_seconds, now=now)
    if not decision.allowed:
        raise RateLimited(decision)
    return decision


class RateLimit:
    """Charges each HTTP request to its caller's per-minute budget; 429 once it is spent."""

    def __init__(self, app: ASGIApp, settings: Settings, *, name: str = "api", clock: Clock = time.time):
        self.app = app
        self.settings = settings
        self.name = name
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(CHARGED):
            await self.app(scope, receive, send)
            return
        await self.charge(scope, receive, send, caller_in(scope), self.app)

    async def charge(self, scope: Scope, receive: Receive, send: Send, caller: Caller, then: ASGIApp) -> None:
        """Spend one unit of `caller`'s budget and run `then` (its response carrying the budget's
        headers), or answer 429 once the budget is spent."""
        limit = (
            self.settings.rate_limit_per_minute
            if caller.signed_in
            else self.settings.rate_limit_anonymous_per_minute
        )
        if limit <= 0:
            await then(scope, receive, send)
            return
        try:
            decision = await enforce(self.name, caller, limit, now=self.clock)
        except RateLimited as refused:
            body = {"errors": [{"message": refused.message, "extensions": refused.extensions()}]}
            await JSONResponse(body, 429, headers=refused.decision.headers())(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in decision.headers().items():
                    headers.append(name, value)
            await send(message)

        await then(scope, receive, send_with_headers)
