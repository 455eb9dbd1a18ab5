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
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.auth.caller import Caller
from api.models.user import ApiKey, AuthSession
from api.settings import Settings


def recently_wrote(settings: Settings, wrote_at: float | None, now: float) -> bool:
    return wrote_at is not None and now - wrote_at < settings.read_your_writes_seconds


def read_client(settings: Settings, replica: Any | None, caller: Caller, now: float) -> Any | None:
    """The replica's client (api/db.py `replica_client`) for this caller's compiled reads; None:
    read on the primary."""
    if replica is None or recently_wrote(settings, caller.wrote_at, now):
        return None
    return replica


async def mark_write(caller: Caller, now: float) -> None:
    """Stamp the caller's session or key before a write runs (autocommitted on the primary, so any
    read after the write's commit already sees it). The public has neither: its few writes
    (ratings) are not read back through compiled reads."""
    when = datetime.fromtimestamp(now, UTC)
    if caller.session_id is not None:
        await AuthSession.filter(id=caller.session_id).update(last_write_at=when)
    elif caller.key_id is not None:
        await ApiKey.filter(id=caller.key_id).update(last_write_at=when)
