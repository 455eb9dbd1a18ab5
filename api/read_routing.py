"""Which database a request's compiled reads go to, when a read replica is configured.

`SANJI_DATABASE_READ_URL` names a PostgreSQL replica of the primary. Only the compiled reads (one
statement per root field of a query, docs/low-code.md) go there; everything else stays on the
primary: writes, the reads a mutation makes, the resolvers' reads, the session and API-key
checks (a replica never decides whether a session is live), audit and rate-limit rows.

A replica lags the primary a little, so a person would not see their own write in the read they
make right after it. Each write request therefore stamps its session (or API key) with the time,
on the primary, before the write runs; for `SANJI_READ_YOUR_WRITES_SECONDS` after that stamp the
caller's reads go to the primary too. Everyone else keeps reading the replica. The stamp is read
with the session check every request already makes, so routing costs no extra statement.

A replica that fails (unreachable, refusing connections, timing out) is left alone for
`SANJI_REPLICA_RETRY_SECONDS`: the primary answers every read meanwhile without trying it, then
one read tries it again. A replica that is down costs one failed attempt per pause, not one per
read (with a connection timeout of a few seconds, not the driver's minute).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from tortoise.exceptions import DBConnectionError

from api.auth.caller import Caller
from api.models.user import ApiKey, AuthSession
from api.settings import Settings

log = logging.getLogger("sanji.replica")
# Errors that say the replica cannot answer at all (as opposed to a statement it refused).
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


class Replica:
    """The read replica's client and a breaker: after a failure that says it cannot answer, reads
    go to the primary for `pause` seconds without trying it."""

    def __init__(self, client: Any, pause: float) -> None:
        self.client = client
        self.pause = pause
        self.down_until = float("-inf")

    def usable(self, now: float) -> bool:
        return now >= self.down_until

    def failed(self, error: BaseException, now: float) -> None:
        """A read on the replica failed with `error`: when it is one of UNREACHABLE (or caused by
        one), pause the replica; the caller reads the primary in any case."""
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, UNREACHABLE):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            return
        if self.usable(now):
            log.warning(
                "the read replica cannot answer (%s: %s); reading the primary for %s s",
                type(cause).__name__,
                cause,
                self.pause,
            )
        self.down_until = now + self.pause


def recently_wrote(settings: Settings, wrote_at: float | None, now: float) -> bool:
    return wrote_at is not None and now - wrote_at < settings.read_your_writes_seconds


def read_client(settings: Settings, replica: Replica | None, caller: Caller, now: float) -> Any | None:
    """The replica's client (api/db.py `replica_client`) for this caller's compiled reads; None:
    read on the primary (no replica, one that failed a moment ago, or the caller just wrote)."""
    if replica is None or not replica.usable(now) or recently_wrote(settings, caller.wrote_at, now):
        return None
    return replica.client


async def mark_write(caller: Caller, now: float) -> None:
    """Stamp the caller's session or key before a write runs (autocommitted on the primary, so any
    read after the write's commit already sees it). The public has neither: its few writes
    (ratings) are not read back through compiled reads."""
    when = datetime.fromtimestamp(now, UTC)
    if caller.session_id is not None:
        await AuthSession.filter(id=caller.session_id).update(last_write_at=when)
    elif caller.key_id is not None:
        await ApiKey.filter(id=caller.key_id).update(last_write_at=when)
