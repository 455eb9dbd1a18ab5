"""HTTP side of identity: who is calling (access token or API key), sign-in, refresh and sign-out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Scope

from api.auth import apikeys, sessions, throttle
from api.auth.caller import ANONYMOUS, Caller
from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.user import Role
from api.request_guard import media_type
from api.services import audit
from api.services.users import authenticate
from api.settings import Settings
from schema.generator.text import UNSTORABLE_MESSAGE, storable


async def identify(settings: Settings, headers: dict[bytes, bytes]) -> Caller:
    """The caller of a request; a credential that is present but bad is refused (UNAUTHENTICATED)."""
    key = headers.get(b"x-api-key")
    authorization = headers.get(b"authorization")
    if key is None and authorization is None:
        return ANONYMOUS
    if key is None:
        scheme, _, value = authorization.decode("latin-1").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return await sessions.verify(settings, value)
        if scheme.lower() != "apikey" or not value:
            raise DomainError("UNAUTHENTICATED", "Authorization must be 'Bearer <token>' or 'ApiKey <key>'")
        key = value.encode("latin-1")
    record = await apikeys.verify(key.decode("latin-1").strip())
    return Caller(
        role=Role.INTEGRATOR,
        organization_id=record.organization_id,
        key_id=record.id,
        key_prefix=record.prefix,
        key_scopes=record.scopes,
        area=record.area,
        wrote_at=record.wrote_at,
    )


class Credentials(AuthenticationBackend):
    """The authentication backend: the request's one `Caller` (`request.user`, `scope["user"]`),
    read from its access token or API key; the public when it shows neither."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Caller]:
        try:
            caller = await identify(self.settings, dict(conn.scope.get("headers", [])))
        except DomainError as error:
            raise BadCredentials(error) from None
        scopes = ["authenticated"] if caller.signed_in else []
        return AuthCredentials(scopes), replace(caller, ip=client_ip(conn.scope))


class BadCredentials(AuthenticationError):
    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def _refused(conn: HTTPConnection, failure: AuthenticationError) -> Response:
    """A bad credential gets 401 before the app runs."""
    error = getattr(failure, "error", None) or DomainError("UNAUTHENTICATED", str(failure))
    return JSONResponse(
        {"errors": [{"message": error.message, "extensions": error.extensions()}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def caller_auth(app: ASGIApp, settings: Settings) -> ASGIApp:
    """`app` behind the authentication backend: every request carries its caller."""
    return AuthenticationMiddleware(app, backend=Credentials(settings), on_error=_refused)


def caller_in(scope: Scope) -> Caller:
    """The caller the authentication backend put in the request's scope."""
    found = scope.get("user")
    return found if isinstance(found, Caller) else ANONYMOUS


def token_endpoint(settings: Settings, clock: Callable[[], float] = time.time):
    """OAuth2 token endpoint: the password grant starts a session, the refresh grant renews it.

    `clock` (epoch seconds) dates refresh exchanges."""

    async def token(request: Request) -> Response:
        from api.auth.ratelimit import RateLimited, enforce  # here: ratelimit imports this module

        try:  # a budget per address on top of the lockouts: sign-in is the costliest request
            await enforce("login", Caller(ip=_ip(request)), settings.rate_limit_login_per_minute, now=clock)
        except RateLimited as refused:
            return JSONResponse(
                {"error": "rate_limited", "error_description": refused.message},
                status_code=429,
                headers=refused.decision.headers(),
            )
        form = await _credentials(request)
        grant = form.get("grant_type", "password")
        try:
            if grant == "password":
                username, password = form.get("username", ""), form.get("password", "")
                if not username or not password:
                    return _oauth_error("invalid_request", "username and password are required")
                address = throttle.address_key(_ip(request))
                try:
                    await throttle.check_not_locked(address)
                    if not (storable(username) and storable(password)):
                        raise DomainError("VALIDATION_FAILED", f"username and password: {UNSTORABLE_MESSAGE}")
                    user = await authenticate(username, password)
                except DomainError as error:
                    if error.code != "ACCOUNT_LOCKED":
                        await throttle.record_failure(address, limit=throttle.MAX_FAILURES_PER_ADDRESS)
                    action = (
                        AuditAction.SIGN_IN_LOCKED
                        if error.code == "ACCOUNT_LOCKED"
                        else AuditAction.SIGN_IN_FAILED
                    )
                    await audit.record(action, Caller(name=username, ip=_ip(request)), detail=error.message)
                    raise
                issued = await sessions.start(settings, user, request.headers.get("user-agent", ""))
                who = Caller(user_id=user.id, name=user.username, role=user.role.value, ip=_ip(request))
                await audit.record(AuditAction.SIGN_IN, who, object_type="User", object_id=user.id)
            elif grant == "refresh_token":
                if not form.get("refresh_token"):
                    return _oauth_error("invalid_request", "refresh_token is required")
                if not storable(form["refresh_token"]):
                    return _oauth_error("invalid_request", f"refresh_token: {UNSTORABLE_MESSAGE}")
                try:
                    now = datetime.fromtimestamp(clock(), UTC)
                    issued = await sessions.refresh(settings, form["refresh_token"], now)
                except sessions.RefreshReused as reused:
                    who = Caller(user_id=reused.user_id, ip=_ip(request))
                    await audit.record(
                        AuditAction.REFRESH_REUSED,
                        who,
                        object_type="AuthSession",
                        object_id=reused.session_id,
                        detail=reused.message,
                    )
                    raise
            else:
                return _oauth_error("unsupported_grant_type", "use the password or refresh_token grant")
        except DomainError as error:
            if error.code == "ACCOUNT_LOCKED":
                return _oauth_error("account_locked", error.message, status=429)
            if error.code == "VALIDATION_FAILED":
                return _oauth_error("invalid_request", error.message)
            return _oauth_error("invalid_grant", error.message, status=401)
        body = {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "role": issued.role,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return token


async def logout(request: Request) -> Response:
    """End the caller's session: its access and refresh tokens stop working at once."""
    caller = caller_in(request.scope)
    if caller.session_id is None:
        return JSONResponse({"error": "invalid_request", "error_description": "sign in first"}, 401)
    await sessions.end(caller.session_id)
    await audit.record(AuditAction.SIGN_OUT, caller, object_type="AuthSession", object_id=caller.session_id)
    return Response(status_code=204)


def client_ip(scope: Scope) -> str:
    """The client's address (behind a trusted proxy or the admin UI: the one they name, see
    api.client_address)."""
    client = scope.get("client")
    return client[0] if client else ""


def _ip(request: Request) -> str:
    return client_ip(request.scope)


async def _credentials(request: Request) -> dict[str, str]:
    """The form's fields, or the JSON object's text members (read and checked by BodyGuard)."""
    if "sanji.json" in request.scope:
        return {k: v for k, v in request.scope["sanji.json"].items() if isinstance(v, str)}
    if media_type(request.headers) == "application/json":
        return {}  # a JSON body the guard did not pass on (it refuses those)
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"Retry-After": "900"} if status == 429 else {}
    return JSONResponse(
        {"error": code, "error_description": description}, status_code=status, headers=headers
    )
