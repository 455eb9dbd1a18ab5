"""Sessions: a short-lived access token plus a rotating refresh token; ending a session ends both."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.auth.permissions import AREA_COLUMNS, area_from
from api.auth.tokens import TokenClaims, decode_access_token, issue_access_token
from api.db import dialect_sql
from api.errors import DomainError
from api.models.user import AuthSession, Role, UsedRefreshToken, User
from api.services import live
from api.settings import Settings
from api.stored_values import stored_moment
from schema.generator.compiler import Sql, bound

REFRESH_DAYS = 7
REUSE_GRACE = timedelta(seconds=10)  # a token shown again this soon is a race, not a theft


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    role: str


class RefreshReused(DomainError):
    """A refresh token was shown after it had been exchanged: its session has been ended."""

    def __init__(self, session_id: int, user_id: int) -> None:
        super().__init__(
            "REFRESH_TOKEN_REUSED",
            "this refresh token was already used, so its session has ended; sign in again",
        )
        self.session_id = session_id
        self.user_id = user_id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(settings: Settings, user: User, client: str = "") -> Tokens:
    now = datetime.now(UTC)
    # Sign-ins are rare enough to sweep what expired sessions left: their used tokens protect nothing.
    expired = Subquery(AuthSession.filter(expires_at__lte=now).values("id"))
    await UsedRefreshToken.filter(session_id__in=expired).delete()
    refresh = secrets.token_urlsafe(32)
    session = await AuthSession.create(
        user=user,
        refresh_hash=_hash(refresh),
        expires_at=now + timedelta(days=REFRESH_DAYS),
        client=client[:200],
    )
    return _tokens(settings, user, session, refresh)


def _tokens(settings: Settings, user: User, session: AuthSession, refresh: str) -> Tokens:
    access, lifetime = issue_access_token(settings, user.id, user.role.value, session_id=session.id)
    return Tokens(access, refresh, lifetime, user.role.value)


async def refresh(settings: Settings, refresh_token: str, now: datetime | None = None) -> Tokens:
    """New tokens for a live session; the refresh token shown stops working (rotation).

    The exchange is one compare-and-set, so of requests racing with one token exactly one wins.
    A token shown again after it was exchanged ends its whole session: either its owner or a
    thief holds the newer one, and the server cannot tell which (OAuth 2.1 reuse detection). Within
    REUSE_GRACE of the exchange it is only refused: a client that sent the same refresh twice at
    once (two tabs, a retry) would otherwise sign itself out with the winner's new tokens.
    """
    now = now or datetime.now(UTC)
    presented = _hash(refresh_token)
    new_refresh = secrets.token_urlsafe(32)
    async with in_transaction():
        live = AuthSession.filter(
            refresh_hash=presented, revoked_at=None, expires_at__gt=now, user__active=True
        )
        session = await live.select_related("user").first()
        won = session is not None and await AuthSession.filter(
            id=session.id, refresh_hash=presented, revoked_at=None
        ).update(refresh_hash=_hash(new_refresh), last_used_at=now)
        if won:
            await UsedRefreshToken.create(session_id=session.id, token_hash=presented, used_at=now)
    if won:
        return _tokens(settings, session.user, session, new_refresh)
    used = await UsedRefreshToken.get_or_none(token_hash=presented).select_related("session")
    if used is not None and now - used.used_at <= REUSE_GRACE:
        raise DomainError(
            "UNAUTHENTICATED",
            "this refresh token was exchanged a moment ago; use the tokens that exchange returned",
        )
    if used is not None and await end(used.session_id):
        raise RefreshReused(used.session_id, used.session.user_id)
    raise DomainError("UNAUTHENTICATED", "refresh token is not valid; sign in again")


async def end(session_id: int) -> bool:
    """End the session; False when it had ended already. Its used refresh tokens go: an ended
    session has nothing left for them to protect."""
    ended = await AuthSession.filter(id=session_id, revoked_at=None).update(revoked_at=datetime.now(UTC))
    await UsedRefreshToken.filter(session_id=session_id).delete()
    if ended:
        await live.notify(live.CREDENTIALS)  # its subscriptions end (api/services/live.py)
    return bool(ended)


async def end_all(user_id: int) -> int:
    ended = await AuthSession.filter(user_id=user_id, revoked_at=None).update(revoked_at=datetime.now(UTC))
    await UsedRefreshToken.filter(
        session_id__in=Subquery(AuthSession.filter(user_id=user_id).values("id"))
    ).delete()
    if ended:
        await live.notify(live.CREDENTIALS)
    return ended


# The session, its user and the user's area in one statement: every signed-in request runs it.
_SESSION = (
    'SELECT "auth_session"."user_id", "auth_session"."revoked_at", "auth_session"."last_write_at", '
    '"app_user"."active", "app_user"."role", '
    f'"app_user"."organization_id", {AREA_COLUMNS} FROM "auth_session" '
    'JOIN "app_user" ON "app_user"."id" = "auth_session"."user_id" '
    'LEFT JOIN "organization" ON "organization"."id" = "app_user"."organization_id" '
    'WHERE "auth_session"."id" = {}'
)


def guard(session_id: int) -> Sql:
    """The session check as a statement to run beside a kept read (`Prepared.run_guarded`)."""
    return bound(_SESSION, session_id)


async def verify(settings: Settings, token: str) -> Caller:
    """The caller of an access token whose session is live and whose user is still active."""
    claims = decode_access_token(settings, token)
    client = AuthSession._meta.db
    _, rows = await client.execute_query(dialect_sql(_SESSION, client.query_class), [claims.session_id])
    return caller_of(claims, rows[0] if rows else None)


def caller_of(claims: TokenClaims, session: Any) -> Caller:
    """The caller of a token, from its session's row (`_SESSION`): refused when the row is missing or
    another user's, the session ended or the user deactivated."""
    if session is None or session["user_id"] != claims.user_id:
        raise DomainError("UNAUTHENTICATED", "access token is not valid")
    if session["revoked_at"] is not None:
        raise DomainError("UNAUTHENTICATED", "this session has ended; sign in again")
    if not session["active"]:
        raise DomainError("UNAUTHENTICATED", "this user is deactivated")
    # Role, organization and area as they are now: a change by an admin applies to the next request.
    organization_id = session["organization_id"]
    area = area_from(organization_id, session["area_path"], session["area_everything"])
    role = session["role"]
    return Caller(
        role=role,
        organization_id=organization_id,
        user_id=claims.user_id,
        session_id=claims.session_id,
        # An integrator signing in with a password (to look around) reads; it writes with a key.
        key_scopes=frozenset({"read:*"}) if role == Role.INTEGRATOR else None,
        area=area,
        wrote_at=epoch(session["last_write_at"]),
    )


def epoch(value: Any) -> float | None:
    """A stored timestamp as epoch seconds."""
    moment = stored_moment(value)
    return None if moment is None else moment.timestamp()
