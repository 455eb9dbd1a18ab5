"""Sign-in lockout: 5 failures lock a login name for 15 minutes, across every worker (in the database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from api.errors import DomainError
from api.models.user import LoginThrottle

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 30  # one office's NAT may carry many honest users
LOCK_MINUTES = 15


def address_key(ip: str) -> str:
    return f"ip:{ip}"


def _key(username: str) -> str:
    return username.strip().lower()[:50]


async def check_not_locked(username: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    row = await LoginThrottle.get_or_none(username=_key(username))
    if row is not None and row.locked_until is not None and row.locked_until > now:
        minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
        raise DomainError(
            "ACCOUNT_LOCKED",
            f"too many failed sign-ins: try again in {minutes} minute(s)",
        )


async def record_failure(username: str, now: datetime | None = None, limit: int = MAX_FAILURES) -> None:
    """Count one failure; each step is one statement, so failures at the same moment all count."""
    now = now or datetime.now(UTC)
    key = _key(username)
    await LoginThrottle.get_or_create(username=key)
    # An expired lock starts a fresh count.
    await LoginThrottle.filter(username=key, locked_until__lte=now).update(failures=0, locked_until=None)
    await LoginThrottle.filter(username=key).update(failures=F("failures") + 1)
    failures = await LoginThrottle.filter(username=key).first().values_list("failures", flat=True)
    if failures is not None and failures >= limit:
        await LoginThrottle.filter(username=key).update(locked_until=now + timedelta(minutes=LOCK_MINUTES))


async def record_success(username: str) -> None:
    await LoginThrottle.filter(username=_key(username)).delete()
