"""Short-lived signed access tokens (JWT, HS256) for signed-in users."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.errors import DomainError
from api.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "sub", "jti", "sid"]


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: str
    token_id: str
    expires_at: datetime
    session_id: int


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> dict[str, Any]:
    """The claims of a token whose signature and fields check out, each token checked once: every
    request of a session shows the same one (its expiry is checked again at each use)."""
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise DomainError("UNAUTHENTICATED", "access token has expired; sign in again") from None
    except jwt.InvalidTokenError:
        raise DomainError("UNAUTHENTICATED", "access token is not valid") from None


def issue_access_token(settings: Settings, user_id: int, role: str, *, session_id: int) -> tuple[str, int]:
    """A signed token and its lifetime in seconds."""
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "role": role,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + lifetime,
        "typ": "access",
        "sid": session_id,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), int(lifetime.total_seconds())


def decode_access_token(settings: Settings, token: str) -> TokenClaims:
    claims = _verified(token, settings.secret_key)
    if claims["exp"] <= time.time():  # checked here too: a verified token stays in the cache
        raise DomainError("UNAUTHENTICATED", "access token has expired; sign in again")
    if claims.get("typ") != "access":
        raise DomainError("UNAUTHENTICATED", "token is not an access token")
    return TokenClaims(
        user_id=int(claims["sub"]),
        role=str(claims.get("role", "")),
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        session_id=int(claims["sid"]),
    )
