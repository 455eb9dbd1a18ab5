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
    asyncpg.PostgresConnectionError,  # its connection failed, was refused or closed under it
    asyncpg.CannotConnectNowError,  # starting up or shutting down
)


class Replica:
    """The read replica's client and a breaker. Closed: reads go to the replica. After a failure
    that says it cannot answer (UNREACHABLE), open: reads go to the primary for `pause` seconds.
    Then one read is let through to try it, and the others keep to the primary for another pause:
    its answer closes the breaker, its failure (or no answer at all) leaves it open."""

    def __init__(self, client: Any, pause: float) -> None:
        self.client = client
        self.pause = pause
        self.down_until: float | None = None  # None: closed

    def usable(self, now: float) -> bool:
        """Whether this read may go to the replica (taking the one trial read of a pause)."""
        if self.down_until is None:
            return True
        if now < self.down_until:
            return False
        self.down_until = now + self.pause  # this read tries it; the others wait for its answer
        return True

    def answered(self, error: BaseException | None, now: float) -> None:
        """A read on the replica answered (`error` None) or failed with `error`. Only a failure that
        is, or was caused by, one of UNREACHABLE opens the breaker: a statement the replica refused
        for another reason is read on the primary and leaves the replica in use."""
        if error is None:
            if self.down_until is not None:
                log.warning("the read replica answers again; reading it")
            self.down_until = None
            return
        cause: BaseException | None = error
        while cause is not None and not isinstance(cause, UNREACHABLE):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            return
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
    if replica is None or recently_wrote(settings, caller.wrote_at, now) or not replica.usable(now):
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
