"""The signed-in user of this browser session: sign in and out over the API, stay signed in through
reloads, new tabs and the access token's end, and GraphQL as that user (reads cached per user).

The API's tokens never reach the browser. A sign-in is held in this process, the UI's server (a
`Held`); the browser names it with a random cookie that only the UI's own routes set and clear
(ROUTES): HttpOnly, so no script in the page can read it, SameSite=Strict, and Secure with the
__Host- prefix over HTTPS. A reload, or a page link opened in a new tab, starts a new Streamlit
session, which finds the sign-in again by that cookie. The access token (15 minutes) is renewed
with the refresh token under the Held's lock, so the tabs sharing a sign-in never exchange one
refresh token twice (the API ends a session whose used refresh token comes back).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin_ui.api_client import ApiError, api_url, cached_read, client_headers, graphql, post
from admin_ui.i18n import add, t

add(
    {
        "session_ended": {
            "zh": "登录已结束（已在别处退出或已过期），请重新登录。",
            "en": "Your sign-in has ended (signed out elsewhere or expired); please sign in again.",
        }
    }
)

AUTH_KEY = "auth"  # the signed-in user (Auth) or None, as the pages read it
HELD_KEY = "held_sign_in"  # the Held behind it, when the sign-in was made on this server
BROWSER_KEY = "browser_step"  # what the browser must do on the next run: keep or forget the cookie
NOTICE_KEY = "sign_in_notice"  # why the sign-in form is shown again
ME = "{ myPermissions { role roleDescription organizationId } }"

COOKIE = "sanji-ui-session"
SECURE_COOKIE = "__Host-sanji-ui-session"  # over HTTPS: no other host or path may set it
CLAIM_PATH = "/ui-session/claim"
FORGET_PATH = "/ui-session/forget"
TICKET_SECONDS = 60  # how long the browser has to exchange a sign-in's ticket for its cookie
RENEW_BEFORE_SECONDS = 60  # an access token this close to its end is renewed before use
IDLE_SECONDS = 7 * 24 * 3600  # an unused sign-in is dropped after the refresh token's lifetime


@dataclass(frozen=True)
class Auth:
    username: str
    token: str
    role: str
    organization_id: str | None
    refresh_token: str | None = None  # None: the sign-in cannot be renewed (made elsewhere)
    expires_at: float = math.inf  # epoch seconds the access token stops working


class Held:
    """A sign-in kept on the UI's server, shared by every tab of the browser that holds its cookie."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth
        self.ended = False
        self.used = time.time()
        self._lock = threading.Lock()

    def expiring(self) -> bool:
        return self.auth.expires_at - time.time() < RENEW_BEFORE_SECONDS

    def renew(self, stale: str, headers: dict[str, str]) -> Auth:
        """New tokens in place of the access token `stale`, unless another tab renewed it already.

        One renewal at a time: the API ends a session whose refresh token is shown twice. The API's
        refusal (invalid_grant) ends this sign-in; any other failure (an unreachable API, a spent
        request budget) is raised and leaves it as it was."""
        with self._lock:
            if self.ended:
                raise ApiError(t("session_ended", "en"), "UNAUTHENTICATED")
            if self.auth.token != stale:
                return self.auth
            if self.auth.refresh_token is None:
                self.ended = True
                raise ApiError("this sign-in cannot be renewed", "UNAUTHENTICATED")
            grant = {"grant_type": "refresh_token", "refresh_token": self.auth.refresh_token}
            try:
                issued = _token_request(grant, headers)
            except ApiError as error:
                self.ended = error.code == "invalid_grant"
                raise
            self.auth = replace(self.auth, **_tokens(issued), role=issued.get("role") or self.auth.role)
            return self.auth


class Sessions:
    """The sign-ins this process holds, by a digest of their cookie, and the one-time tickets the
    browser exchanges for a new sign-in's cookie."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self._tickets: dict[str, tuple[str, float]] = {}

    def open(self, auth: Auth) -> tuple[Held, str]:
        """A new sign-in and a ticket for its cookie (the cookie's value itself never enters a page)."""
        value, ticket, held = secrets.token_urlsafe(32), secrets.token_urlsafe(32), Held(auth)
        now = time.time()
        with self._lock:
            self._sweep(now)
            self._held[_digest(value)] = held
            self._tickets[_digest(ticket)] = (value, now + TICKET_SECONDS)
        return held, ticket

    def claim(self, ticket: str) -> str | None:
        """The cookie value a ticket was made for, once, within TICKET_SECONDS; else None."""
        with self._lock:
            value, until = self._tickets.pop(_digest(ticket), (None, 0.0))
            held = self._held.get(_digest(value)) if value else None
        return value if held is not None and not held.ended and time.time() < until else None

    def find(self, value: str) -> Held | None:
        with self._lock:
            held = self._held.get(_digest(value))
            if held is not None and held.ended:
                del self._held[_digest(value)]
                return None
        if held is not None:
            held.used = time.time()
        return held

    def end(self, held: Held) -> None:
        held.ended = True
        with self._lock:
            for key in [key for key, kept in self._held.items() if kept is held]:
                del self._held[key]

    def _sweep(self, now: float) -> None:
        for key in [k for k, h in self._held.items() if h.ended or now - h.used > IDLE_SECONDS]:
            del self._held[key]
        for key in [k for k, (_, until) in self._tickets.items() if until < now]:
            del self._tickets[key]


STORE = Sessions()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# The UI server's own routes (st.App serves them beside Streamlit's): only a response from the
# server can set or clear an HttpOnly cookie, and the page's script asks for it (sync_browser).


async def _claim(request: Request) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not _same_origin(request) or media_type != "application/json":
        return JSONResponse({"error": "this address takes a JSON request from the admin app"}, 403)
    body = await _small_body(request)
    try:
        ticket = json.loads(body)["ticket"]
        value = STORE.claim(ticket) if isinstance(ticket, str) else None
    except (ValueError, TypeError, KeyError):
        value = None
    if value is None:
        return JSONResponse({"error": "the ticket is not valid (used, late or unknown)"}, 403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    secure = request.url.scheme == "https"
    name = SECURE_COOKIE if secure else COOKIE
    response.set_cookie(name, value, path="/", secure=secure, httponly=True, samesite="strict")
    return response


async def _forget(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"error": "this address takes a request from the admin app"}, 403)
    for name in (COOKIE, SECURE_COOKIE):
        held = STORE.find(request.cookies[name]) if name in request.cookies else None
        if held is not None:
            STORE.end(held)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(SECURE_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def _same_origin(request: Request) -> bool:
    """Sent by a page of this server: another site's page may not sign a browser in or out."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


async def _small_body(request: Request, limit: int = 1024) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return b""
    return body


ROUTES = [Route(CLAIM_PATH, _claim, methods=["POST"]), Route(FORGET_PATH, _forget, methods=["POST"])]


def lang() -> str:
    return st.session_state.get("lang", "zh")


def current() -> Auth | None:
    """The signed-in user: this session's, else the one the browser's cookie names (a reload, a new
    tab). An access token near its end is renewed here; a sign-in that has ended signs out."""
    state = st.session_state
    held = state.get(HELD_KEY)
    if held is None and state.get(AUTH_KEY) is None:
        held = _restore()
    if held is None:
        return state.get(AUTH_KEY)
    if not held.ended and held.expiring():
        with contextlib.suppress(ApiError):  # unless refused, the next call shows what went wrong
            held.renew(held.auth.token, client_headers())
    if held.ended:
        STORE.end(held)
        _signed_out(ended=True)
        return None
    held.used = time.time()
    state[AUTH_KEY] = held.auth
    return held.auth


def _restore() -> Held | None:
    cookies = st.context.cookies
    value = cookies.get(SECURE_COOKIE) or cookies.get(COOKIE)
    held = STORE.find(value) if isinstance(value, str) else None  # (no browser under AppTest)
    if held is not None:
        st.session_state[HELD_KEY] = held
    return held


def sign_in(username: str, password: str) -> Auth:
    """Ask the API for tokens with these credentials; the API's refusal is raised as ApiError."""
    headers = client_headers()
    issued = _token_request({"username": username, "password": password}, headers)
    me = graphql(ME, token=issued["access_token"], headers=headers)["myPermissions"]
    auth = Auth(username, role=me["role"], organization_id=me["organizationId"], **_tokens(issued))
    held, ticket = STORE.open(auth)
    st.session_state[HELD_KEY] = held
    st.session_state[AUTH_KEY] = auth
    st.session_state[BROWSER_KEY] = (CLAIM_PATH, {"ticket": ticket})
    st.session_state.pop(NOTICE_KEY, None)
    return auth


def sign_out() -> None:
    """End the API session, this server's sign-in and the browser's cookie (on the next run)."""
    held = st.session_state.get(HELD_KEY)
    auth = held.auth if held is not None else st.session_state.get(AUTH_KEY)
    if auth is not None:
        # The sign-in ends on this side either way; an unreachable API lets its tokens expire.
        with contextlib.suppress(ApiError):
            _logout(auth, held, client_headers())
    if held is not None:
        STORE.end(held)
    _signed_out(forget_cookie=held is not None)


def _logout(auth: Auth, held: Held | None, headers: dict[str, str]) -> None:
    response = post("/auth/logout", headers={**headers, "Authorization": f"Bearer {auth.token}"})
    if response.status_code == 401 and held is not None:  # an expired token cannot end its session
        renewed = held.renew(auth.token, headers)
        post("/auth/logout", headers={**headers, "Authorization": f"Bearer {renewed.token}"})


def _signed_out(*, ended: bool = False, forget_cookie: bool = True) -> None:
    """This session is signed out; `ended`: not by the user, who is told why."""
    state = st.session_state
    state[AUTH_KEY] = None  # (a deleted key would not reach AppTest)
    state[HELD_KEY] = None
    if forget_cookie:
        state[BROWSER_KEY] = (FORGET_PATH, {})
    if ended:
        state[NOTICE_KEY] = "session_ended"


def sync_browser() -> None:
    """Has the browser keep a new sign-in's cookie (by its ticket) or forget it after a sign-out.
    Only the UI's routes can set an HttpOnly cookie, so the page's own script posts to them once
    (the ticket is useless after that). The app calls it before the page, at the sidebar's end."""
    step = st.session_state.pop(BROWSER_KEY, None)
    if step is None:
        return
    path, body = step
    options = {
        "method": "POST",
        "credentials": "same-origin",
        "headers": {"Content-Type": "application/json"},
    }
    script = f"fetch({json.dumps(path)}, {{...{json.dumps(options)}, body: {json.dumps(json.dumps(body))}}});"
    st.sidebar.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def query(text: str, variables: dict[str, Any] | None = None, *, fresh: bool = False) -> dict[str, Any]:
    """GraphQL as the signed-in user. Reads come from the user's cache (READ_TTL_SECONDS) unless
    `fresh`; a mutation goes to the API and clears the user's cached reads. An access token the API
    refuses is renewed once; a sign-in that cannot be renewed signs the user out."""
    auth = current()
    if auth is None:
        return graphql(text, variables)
    headers = client_headers()
    try:
        return _ask(auth, text, variables, headers, fresh)
    except ApiError as error:
        if error.code != "UNAUTHENTICATED":
            raise
        refused = error
    return _ask(_renewed(auth, headers, refused), text, variables, headers, fresh)


def _ask(auth: Auth, text: str, variables: dict | None, headers: dict[str, str], fresh: bool) -> dict:
    if not _is_read(text):
        try:
            return graphql(text, variables, auth.token, headers)
        finally:  # refused or not: the next screen shows what the API holds now
            forget_reads(auth)
    if fresh:
        return graphql(text, variables, auth.token, headers)
    return cached_read(reader_key(auth), text, variables, auth.token, headers)


def _renewed(auth: Auth, headers: dict[str, str], refused: ApiError) -> Auth:
    """The sign-in after renewing the access token the API `refused`; else signed out, and raised."""
    held = st.session_state.get(HELD_KEY)
    if held is None:  # a sign-in this server does not hold cannot be renewed
        _signed_out(forget_cookie=False)
        raise refused
    try:
        auth = held.renew(auth.token, headers)
    except ApiError:
        if not held.ended:
            raise
        STORE.end(held)
        _signed_out(ended=True)
        raise ApiError(t("session_ended", lang()), "UNAUTHENTICATED") from None
    st.session_state[AUTH_KEY] = auth
    return auth


@functools.lru_cache(maxsize=1024)
def _is_read(text: str) -> bool:
    try:
        document = parse(text, no_location=True)
    except GraphQLError:
        return False  # the API refuses it, uncached
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(d.operation == OperationType.QUERY for d in operations)


_writes: dict[tuple[str, str], int] = {}
_writes_lock = threading.Lock()


def reader_key(auth: Auth) -> tuple:
    """Whose cached reads these are: the API, the user, role and organization, the sign-in (a
    digest of its token: a new sign-in or a renewal starts afresh) and the user's writes so far."""
    user = (api_url(), auth.username)
    return (*user, auth.role, auth.organization_id, _digest(auth.token)[:16], _writes.get(user, 0))


def forget_reads(auth: Auth) -> None:
    """The user's cached reads are not used again (in every sign-in of theirs); others' stay."""
    user = (api_url(), auth.username)
    with _writes_lock:
        _writes[user] = _writes.get(user, 0) + 1


def require(*roles: str) -> Auth:
    """The signed-in user when their role may use this page; otherwise a notice, and the page stops."""
    auth = current()
    if auth is None:
        st.warning(t("sign_in_first", lang()))
        st.stop()
    if roles and auth.role not in roles:
        st.warning(t("not_for_role", lang()).format(role=auth.role))
        st.stop()
    return auth


def show_error(error: ApiError) -> None:
    """An API refusal as its message and code: never a traceback."""
    st.error(f"{t('api_error', lang())}: {error} ({error.code or 'ERROR'})")


def show_flash(key: str) -> None:
    """The outcome a write's callback left under `key` as (kind, message), shown once on the rerun
    that followed it; an error is an ApiError, shown with its code."""
    kind, message = st.session_state.pop(key, (None, None))
    if kind == "error":
        show_error(message)
    elif kind:
        getattr(st, kind)(message)


def write(key: str, text: str, variables: dict, done: str) -> bool:
    """A write from a widget's callback; its outcome (`done`, or the API's refusal) is left under
    `key` for show_flash on the rerun that follows. True when the API accepted it. Like every
    mutation sent through query(), it clears the writer's cached reads, so the change shows at once."""
    try:
        query(text, variables)
    except ApiError as error:
        st.session_state[key] = ("error", error)
        return False
    st.session_state[key] = ("success", done)
    return True


def _token_request(form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """POST /auth/token; the API's refusal is raised as ApiError with its OAuth code."""
    response = post("/auth/token", data=form, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        errors = body.get("errors") or [{}]
        message = errors[0].get("message") or body.get("error_description") or f"HTTP {response.status_code}"
        raise ApiError(message, (errors[0].get("extensions") or {}).get("code") or body.get("error"))
    return body


def _tokens(issued: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": issued["access_token"],
        "refresh_token": issued["refresh_token"],
        "expires_at": time.time() + issued["expires_in"],
    }
