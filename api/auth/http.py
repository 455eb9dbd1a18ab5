"""HTTP side of identity: who is calling (access token or API key), sign-in, refresh and sign-out."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import apikeys, sessions
from api.errors import DomainError
from api.services.users import authenticate
from api.settings import Settings


@dataclass(frozen=True)
class KeyCaller:
    """An integrator calling with an API key."""

    api_key_id: int
    organization_id: int
    can_write: bool
    role: str = "INTEGRATOR"


async def identify(settings: Settings, headers: dict[bytes, bytes]):
    """The caller's claims, None for anonymous; a credential that is present but bad is refused."""
    key = headers.get(b"x-api-key")
    authorization = headers.get(b"authorization")
    if key is None and authorization is None:
        return None
    if key is None:
        scheme, _, value = authorization.decode("latin-1").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return await sessions.verify(settings, value)
        if scheme.lower() != "apikey" or not value:
            raise DomainError("UNAUTHENTICATED", "Authorization must be 'Bearer <token>' or 'ApiKey <key>'")
        key = value.encode("latin-1")
    record = await apikeys.verify(key.decode("latin-1").strip())
    return KeyCaller(record.id, record.organization_id, record.can_write)


class CallerAuth:
    """Puts the caller in `scope["sanji.claims"]`; a bad credential gets 401 before the app runs."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                scope["sanji.claims"] = await identify(self.settings, dict(scope.get("headers", [])))
            except DomainError as error:
                response = JSONResponse(
                    {"errors": [{"message": error.message, "extensions": error.extensions()}]},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def token_endpoint(settings: Settings):
    """OAuth2 token endpoint: the password grant starts a session, the refresh grant renews it."""

    async def token(request: Request) -> Response:
        form = await _credentials(request)
        grant = form.get("grant_type", "password")
        try:
            if grant == "password":
                username, password = form.get("username", ""), form.get("password", "")
                if not username or not password:
                    return _oauth_error("invalid_request", "username and password are required")
                user = await authenticate(username, password)
                issued = await sessions.start(settings, user, request.headers.get("user-agent", ""))
            elif grant == "refresh_token":
                if not form.get("refresh_token"):
                    return _oauth_error("invalid_request", "refresh_token is required")
                issued = await sessions.refresh(settings, form["refresh_token"])
            else:
                return _oauth_error("unsupported_grant_type", "use the password or refresh_token grant")
        except DomainError as error:
            if error.code == "ACCOUNT_LOCKED":
                return _oauth_error("account_locked", error.message, status=429)
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
    claims = request.scope.get("sanji.claims")
    if not isinstance(claims, sessions.TokenClaims):
        return JSONResponse({"error": "invalid_request", "error_description": "sign in first"}, 401)
    await sessions.end(claims.session_id)
    return Response(status_code=204)


async def _credentials(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            return {}
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"Retry-After": "900"} if status == 429 else {}
    return JSONResponse(
        {"error": code, "error_description": description}, status_code=status, headers=headers
    )
