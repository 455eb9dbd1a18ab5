"""Sessions: a short-lived access token plus a rotating refresh token; ending a session ends both."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from api.auth.tokens import TokenClaims, decode_access_token, issue_access_token

__all__ = ["TokenClaims"]
from api.errors import DomainError
from api.models.user import AuthSession, User
from api.settings import Settings

REFRESH_DAYS = 7


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    role: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(settings: Settings, user: User, client: str = "") -> Tokens:
    refresh = secrets.token_urlsafe(32)
    session = await AuthSession.create(
        user=user,
        refresh_hash=_hash(refresh),
        expires_at=datetime.now(UTC) + timedelta(days=REFRESH_DAYS),
        client=client[:200],
    )
    return _tokens(settings, user, session, refresh)


def _tokens(settings: Settings, user: User, session: AuthSession, refresh: str) -> Tokens:
    access, lifetime = issue_access_token(settings, user.id, user.role.value, session_id=session.id)
    return Tokens(access, refresh, lifetime, user.role.value)


async def refresh(settings: Settings, refresh_token: str) -> Tokens:
    """New tokens for a live session; the used refresh token stops working (rotation)."""
    now = datetime.now(UTC)
    session = await AuthSession.filter(refresh_hash=_hash(refresh_token)).select_related("user").first()
    if (
        session is None
        or session.revoked_at is not None
        or session.expires_at <= now
        or not session.user.active
    ):
        raise DomainError("UNAUTHENTICATED", "refresh token is not valid; sign in again")
    new_refresh = secrets.token_urlsafe(32)
    session.refresh_hash, session.last_used_at = _hash(new_refresh), now
    await session.save(update_fields=["refresh_hash", "last_used_at"])
    return _tokens(settings, session.user, session, new_refresh)


async def end(session_id: int) -> None:
    await AuthSession.filter(id=session_id, revoked_at=None).update(revoked_at=datetime.now(UTC))


async def end_all(user_id: int) -> int:
    return await AuthSession.filter(user_id=user_id, revoked_at=None).update(revoked_at=datetime.now(UTC))


async def verify(settings: Settings, token: str) -> TokenClaims:
    """The claims of an access token whose session is live and whose user is still active."""
    claims = decode_access_token(settings, token)
    session = await AuthSession.filter(id=claims.session_id).select_related("user").first()
    if session is None or session.user_id != claims.user_id:
        raise DomainError("UNAUTHENTICATED", "access token is not valid")
    if session.revoked_at is not None:
        raise DomainError("UNAUTHENTICATED", "this session has ended; sign in again")
    if not session.user.active:
        raise DomainError("UNAUTHENTICATED", "this user is deactivated")
    # Role and organization as they are now: a change by an admin applies to the next request.
    return replace(claims, role=session.user.role.value, organization_id=session.user.organization_id)
