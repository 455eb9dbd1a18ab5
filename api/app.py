"""The ASGI application: health check, OAuth2 token endpoint and GraphQL, built from Settings."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from tortoise.context import TortoiseContext

from api.auth import sessions
from api.auth.caller import ANONYMOUS, Caller
from api.auth.http import caller_auth, caller_in, client_ip, identify, logout, token_endpoint
from api.auth.ratelimit import CHARGED, Clock, RateLimit
from api.auth.tokens import TokenClaims, decode_access_token
from api.client_address import networks
from api.db import migrations_on_disk, replica_client, tortoise_config, unapplied, use_context
from api.errors import DomainError
from api.read_routing import Replica, mark_write, read_client
from api.request_guard import BodyGuard, ClientAddress, media_type, read_body, replay_body
from api.services import persisted
from api.services.live import Hub
from api.services.users import demo_users
from api.settings import Settings
from api.websocket import TransportWS
from schema.audit import audit_pii_reads
from schema.build import GRAPHIQL_DIR, app_schema
from schema.domain.persisted import PersistedQueries, checker, current_hash
from schema.domain.subscriptions import HUB
from schema.generator.execution import (
    BEFORE_WRITE,
    COMPILED_READS,
    READ_ANSWERED,
    READ_CLIENT,
    Bounded,
    Prepared,
    encode_response,
)
from schema.limits import Limits

log = logging.getLogger("sanji.api")
SESSIONS_KEPT = 10_000  # sessions whose caller is remembered for one-statement repeated reads
CONNECTION_INIT_SECONDS = 10  # a WebSocket that sends no connection_init by then is closed (4408)
SUBSCRIPTIONS_PER_CONNECTION = 20


def schema_for(settings: Settings) -> Any:
    """The schema the API serves under these settings (its limits, zone and production's rules)."""
    limits = Limits(
        max_depth=settings.max_query_depth,
        max_cost=settings.max_query_cost,
        introspection=not settings.is_production,
        suggestions=not settings.is_production,
    )
    return app_schema(limits, settings.is_production, settings.timezone)


class SanjiGraphQL(GraphQL):
    """GraphQL over POST (and GET only for the IDE page), with settings and caller in the context."""

    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        super().__init__(
            schema_for(settings),
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_SECONDS),
            max_subscriptions_per_connection=SUBSCRIPTIONS_PER_CONNECTION,
            allowed_origins=settings.cors_origins,  # pages of other origins, as for HTTP
        )
        self.settings = settings
        self.clock = clock
        self.hub = Hub(settings, identify)  # this process's subscriptions (api/services/live.py)
        self.persisted = PersistedQueries(self.schema, only_keys=settings.persisted_only == "keys")
        self.prepared = Prepared()
        # The caller each session was last verified as, by session id: what SessionReads expects.
        self.sessions = Bounded(SESSIONS_KEPT)

    @property
    def graphql_ide_html(self) -> str:
        # The vendored page: no CDN on a government intranet.
        return (GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8")

    graphql_transport_ws_handler_class = TransportWS

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        if request.scope["type"] == "websocket":  # the caller comes with connection_init
            return {
                "request": request,
                "response": response,
                "settings": self.settings,
                "clock": self.clock,
                "caller": ANONYMOUS,
                HUB: self.hub,
            }
        caller = caller_in(request.scope)  # built once, by the authentication backend
        context = {
            "request": request,
            "response": response,
            "settings": self.settings,
            "clock": self.clock,
            "caller": caller,
            COMPILED_READS: self.settings.compiled_reads,
        }
        if self.settings.database_read_url is not None:
            now = self.clock()
            replica = request.app.state.replica
            context[READ_CLIENT] = read_client(self.settings, replica, caller, now)
            context[READ_ANSWERED] = partial(self._replica_answered, replica)
            if caller.signed_in:
                context[BEFORE_WRITE] = partial(mark_write, caller, now)
        request.scope["sanji.context"] = context
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A query this caller sent before with these variables, whose every root field compiled,
        runs its statements directly; anything else goes through the schema (and may be kept)."""
        if scope["type"] != "http" or scope["method"] != "POST" or not self.settings.compiled_reads:
            await super().__call__(scope, receive, send)
            return
        caller = caller_in(scope)
        if caller.session_id is not None:
            self.sessions.put(caller.session_id, replace(caller, ip=""))
        body = await read_body(receive, self.settings.max_body_bytes) or b""  # BodyGuard bounded it
        key, entries = None, None
        if media_type(Headers(scope=scope)) == "application/json":
            key, entries = self.kept(scope, body, caller)
        if entries is None:
            scope["sanji.prepared_key"] = key
            await super().__call__(scope, replay_body(body, receive), send)
            return
        state = scope["app"].state
        replica = read_client(self.settings, state.replica, caller, self.clock())
        data, reads = await self.run_kept(state, replica, entries)
        await self.answer_kept(scope, receive, send, data, reads, caller)

    async def execute_single(
        self, request, request_adapter, sub_response, context, root_value, request_data
    ) -> ExecutionResult:
        """A request naming a registered operation by its hash runs that operation; a key that
        runs registered operations only is refused anything else (schema/domain/persisted.py)."""
        request_data, refusal = await self.persisted.resolve_or_refuse(
            request_data, context["caller"], context
        )
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal])
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    def _replica_answered(self, replica: Replica, error: BaseException | None) -> None:
        replica.answered(error, self.clock())

    async def run_kept(self, state: Any, replica: Any | None, entries: list) -> tuple[dict, list]:
        """A kept request's statements, on the replica when given (the primary if it fails)."""
        if replica is not None:
            try:
                answer = await Prepared.run(replica, entries)
            except Exception as error:  # any driver error: the primary answers
                log.exception("a kept read failed on the read replica; reading the primary")
                self._replica_answered(state.replica, error)
            else:
                self._replica_answered(state.replica, None)
                return answer
        return await Prepared.run(state.tortoise.db(), entries)

    def kept(self, scope: Scope, body: bytes, caller: Caller) -> tuple[tuple | None, list | None]:
        """The key of a JSON body sent by `caller` (None: never kept) and the statements kept for it
        (None: none yet)."""
        if self.persisted.only_registered(caller):  # ad-hoc reads are refused on the usual path
            return None, None
        try:
            parsed = scope["sanji.json"] if "sanji.json" in scope else json.loads(body)  # BodyGuard's
            key = Prepared.key(parsed, caller, self.schema.registry.today(self.clock))
        except ValueError:
            return None, None
        return key, self.prepared.get(key) if key is not None else None

    async def answer_kept(
        self, scope: Scope, receive: Receive, send: Send, data: dict, reads: list, caller: Caller
    ) -> None:
        """Send the data a kept request's statements read, auditing its clear reads."""
        await audit_pii_reads(reads, caller)
        response = Response(encode_response({"data": data}), media_type="application/json")
        await response(scope, receive, send)

    async def process_result(self, request: Any, result: Any) -> Any:
        key = request.scope.get("sanji.prepared_key")
        context = request.scope.get("sanji.context")
        if key is not None and context is not None and not result.errors:
            self.prepared.remember(key, context, result.data)
        return await super().process_result(request, result)

    def encode_json(self, data: Any) -> str:
        return encode_response(data)


class DatabaseContext:
    """Makes the app's Tortoise context current for each request (no global ORM state)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = getattr(scope["app"].state, "tortoise", None) if scope["type"] != "lifespan" else None
        if ctx is None:
            await self.app(scope, receive, send)
            return
        with use_context(ctx):
            await self.app(scope, receive, send)


class SessionReads:
    """A signed-in caller's repeated read in one statement: its session check beside the kept read.

    Runs before the authentication backend on /graphql. When the access token names a session this
    process verified before, and the request is one the view keeps for that caller (the same query,
    variables and caller's access), the session's row and the read come back from one statement
    (`Prepared.run_guarded`); the answer is sent only when the row shows the same live caller (the
    same role, organization and area; the session not ended, the user active). Anything else takes
    the usual path, which checks the session again and answers, or refuses, as ever.
    """

    def __init__(self, app: ASGIApp, view: SanjiGraphQL, limiter: RateLimit) -> None:
        self.app = app
        self.view = view
        self.limiter = limiter
        self.settings = view.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        claims = self._claims(scope)
        expected = self.view.sessions.get(claims.session_id) if claims is not None else None
        if expected is None or expected.user_id != claims.user_id:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.settings.max_body_bytes) or b""  # BodyGuard bounded it
        then = replay_body(body, receive)
        _key, entries = self.view.kept(scope, body, expected)
        if entries is None:
            await self.app(scope, then, send)
            return
        caller = replace(expected, ip=client_ip(scope))

        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            state = scope["app"].state
            client, guard = state.tortoise.db(), sessions.guard(claims.session_id)
            replica = read_client(self.settings, state.replica, expected, self.view.clock())
            if replica is None:
                row, data, reads = await Prepared.run_guarded(client, entries, guard)
            else:  # the session on the primary, the data from the replica, at once
                row, (data, reads) = await asyncio.gather(
                    Prepared.guard_row(client, guard), self.view.run_kept(state, replica, entries)
                )
            try:
                live = sessions.caller_of(claims, row)
            except DomainError:
                live = None
            if live != expected:  # ended, deactivated, moved, wrote: the usual path decides
                scope[CHARGED] = True
                await self.app(scope, receive, send)
                return
            await self.view.answer_kept(scope, receive, send, data, reads, caller)

        await self.limiter.charge(scope, then, send, caller, answer)

    def _claims(self, scope: Scope) -> TokenClaims | None:
        """The access token's claims when the request may be a kept read (None: take the usual path)."""
        if scope["type"] != "http" or scope["method"] != "POST" or not self.settings.compiled_reads:
            return None
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or "x-api-key" in headers or media_type(headers) != "application/json":
            return None
        try:
            return decode_access_token(self.settings, token.strip())
        except DomainError:
            return None


def app_from_env() -> Starlette:
    """The app of one of `sanji serve --workers N`'s processes (uvicorn's factory): its settings
    from the environment, as the command that started it read them."""
    return create_app(Settings.from_env())


def create_app(settings: Settings, *, clock: Clock = time.time) -> Starlette:
    """The app; `clock` (epoch seconds) places requests in rate-limit windows."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ctx = TortoiseContext()
        with use_context(ctx):
            await ctx.init(config=tortoise_config(settings.database_url, timezone=settings.timezone))
            app.state.replica = (
                Replica(
                    replica_client(settings.database_read_url, settings.timezone),
                    settings.replica_retry_seconds,
                )
                if settings.database_read_url
                else None
            )
            app.state.tortoise = ctx
            app.state.migrations = migrations_on_disk()  # the code does not change while it runs
            try:
                pending = await unapplied(ctx, app.state.migrations)
                if pending:
                    log.warning("database has unapplied migrations: %s; run `sanji db upgrade`", pending)
                if settings.is_production and await demo_users():
                    raise RuntimeError("demo users exist; production refuses to run with them")
                if not pending:  # registered operations checked against this schema (once per schema)
                    schema = view.schema
                    broken = await persisted.revalidate(checker(schema), current_hash(schema))
                    for record in broken:
                        log.warning(
                            "persisted query %s does not fit the schema: %s", record.sha256, record.problem
                        )
            except BaseException:
                await ctx.close_connections()
                raise
        try:
            yield
        finally:
            with use_context(ctx):
                await view.hub.close()
                await ctx.close_connections()
            if app.state.replica is not None:
                await app.state.replica.client.close()

    async def healthz(request: Request) -> Response:
        try:
            ctx: TortoiseContext = request.app.state.tortoise
            pending = await unapplied(ctx, request.app.state.migrations)
        except Exception as exc:  # any driver error means the database is not usable
            log.exception("health check failed")
            body = {"status": "error", "database": "unreachable"}
            if not settings.is_production:
                body["detail"] = str(exc)
            return JSONResponse(body, 503)
        status = "ok" if not pending else "degraded"
        body = {"status": status, "database": "ok", "pendingMigrations": pending, "env": settings.env.value}
        return JSONResponse(body, 200 if not pending else 503)

    async def index(request: Request) -> Response:
        return RedirectResponse("/graphql" if not settings.is_production else "/healthz")

    # The authentication backend runs first: the limiter charges the caller it identified.
    view = SanjiGraphQL(settings, clock)
    limiter = RateLimit(view, settings, clock=clock)
    graphql = SessionReads(caller_auth(limiter, settings), view, limiter)
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/auth/token", token_endpoint(settings, clock), methods=["POST"]),
            Route("/auth/logout", caller_auth(request_response(logout), settings), methods=["POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),  # subscriptions (api/websocket.py)
            *(
                []
                if settings.is_production
                else [Mount("/graphiql-assets", StaticFiles(directory=GRAPHIQL_DIR), name="graphiql")]
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.prepared = view.prepared  # the requests kept to run as their statements alone
    app.add_middleware(DatabaseContext)
    app.add_middleware(BodyGuard, max_graphql_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
        )
    app.add_middleware(  # outermost: everything inside sees the client's real address
        ClientAddress,
        trusted=networks(settings.trusted_proxies),
        ui_key=settings.ui_client_key,
        clock=clock,
    )
    return app
