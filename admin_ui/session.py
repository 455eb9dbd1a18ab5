"""The signed-in user of this browser session: sign in and out over the API, and GraphQL as that user.

The UI holds the access token in Streamlit's session state and sends it with every call, so each
page sees exactly what its user may see; the API's refusals come back as readable messages.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import httpx
import streamlit as st

from admin_ui.api_client import ApiError, api_url, client_headers, graphql
from admin_ui.i18n import t

AUTH_KEY = "auth"
ME = "{ myPermissions { role roleDescription organizationId } }"


@dataclass(frozen=True)
class Auth:
    username: str
    token: str
    role: str
    organization_id: str | None


def lang() -> str:
    return st.session_state.get("lang", "zh")


def current() -> Auth | None:
    return st.session_state.get(AUTH_KEY)


def sign_in(username: str, password: str) -> Auth:
    """Ask the API for a token with these credentials; the API's refusal is raised as ApiError."""
    try:
        response = httpx.post(
            f"{api_url()}/auth/token",
            data={"username": username, "password": password},
            headers=client_headers(),
            timeout=15,
        )
    except httpx.HTTPError as error:
        raise ApiError(f"{api_url()}: {error}", "UNREACHABLE") from None
    body = _json(response)
    if response.status_code != 200:
        errors = body.get("errors") or [{}]
        message = errors[0].get("message") or body.get("error_description") or f"HTTP {response.status_code}"
        raise ApiError(message, (errors[0].get("extensions") or {}).get("code") or body.get("error"))
    token = body["access_token"]
    me = graphql(ME, token=token)["myPermissions"]
    auth = Auth(username, token, me["role"], me["organizationId"])
    st.session_state[AUTH_KEY] = auth
    return auth


def sign_out() -> None:
    auth = current()
    if auth is not None:
        # The session ends on this side either way; an unreachable API lets the token expire.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{api_url()}/auth/logout", headers=_bearer(auth), timeout=15)
    st.session_state[AUTH_KEY] = None  # (a deleted key would not reach AppTest)


def query(text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """GraphQL as the signed-in user; an expired session signs the user out."""
    auth = current()
    try:
        return graphql(text, variables, token=auth.token if auth else None)
    except ApiError as error:
        if error.code == "UNAUTHENTICATED" and auth is not None:
            st.session_state[AUTH_KEY] = None  # (a deleted key would not reach AppTest)
        raise


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
    `key` for show_flash on the rerun that follows. True when the API accepted it."""
    try:
        query(text, variables)
    except ApiError as error:
        st.session_state[key] = ("error", error)
        return False
    st.session_state[key] = ("success", done)
    return True


def _bearer(auth: Auth) -> dict[str, str]:
    return {**client_headers(), "Authorization": f"Bearer {auth.token}"}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError:
        return {}
