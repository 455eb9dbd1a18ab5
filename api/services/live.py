"""Live events for GraphQL subscriptions (docs/events.md): one hub per API process reads the outbox
in commit order and hands each event to the subscriptions it concerns, and closes the WebSocket
connections whose credentials stopped being valid.

Across processes, PostgreSQL carries the signals: `outbox.emit` notifies OUTBOX in the event's
transaction (PostgreSQL delivers a notification when its transaction commits, to every process
that listens), and ending a session or revoking a key notifies CREDENTIALS. Each hub LISTENs on
its own connection, and reads the outbox at least every PG_POLL_SECONDS as well, in case a
notification was lost with that connection. SQLite deployments run one API process, so the same
signals are passed in-process; a signal there comes before its transaction commits, so the hub
also reads every SQLITE_POLL_SECONDS while it has subscribers.

Whatever wakes it, the hub reads by the outbox's cursor (`outbox.read`), so an event is never
handed on twice nor passed over, and a subscription sees events in the feed's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.outbox import OutboxEvent
from api.services import outbox
from api.settings import Settings

log = logging.getLogger("sanji.live")

OUTBOX = outbox.LIVE_CHANNEL
CREDENTIALS = "sanji_credentials"
PG_POLL_SECONDS = 5.0
SQLITE_POLL_SECONDS = 0.2
QUEUED = 1000  # events waiting for one subscription before it is ended as lagging
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()  # this process's hubs, for in-process signals


def postgres() -> bool:
    return OutboxEvent._meta.db.capabilities.dialect == "postgres"


async def notify(channel: str) -> None:
    """Signal every hub: on PostgreSQL when the current transaction commits (or now, outside
    one), to every API process; on SQLite to this process's hubs, now."""
    if postgres():
        await OutboxEvent._meta.db.execute_query("SELECT pg_notify($1, '')", [channel])
    else:
        signal_local(channel)


def signal_local(channel: str) -> None:
    for hub in list(_HUBS):
        hub.signal(channel)


class Lagged(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "SUBSCRIPTION_LAGGED",
            f"more than {QUEUED} events waited for this subscription; subscribe again "
            "(outboxEvents: with `after` set to the last cursor received, to miss nothing)",
        )


@dataclass(eq=False)
class Subscription:
    """What one subscription wants of the outbox, and the events handed to it and not yet taken."""

    wants: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUED))
    lagged: bool = False

    def offer(self, event: dict[str, Any]) -> None:
        if self.lagged or not self.wants(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:  # the reader, with a full queue to take, ends at its next batch
            self.lagged = True

    async def batch(self) -> list[dict[str, Any]]:
        """The events handed on since the last batch, waiting for at least one."""
        first = await self.queue.get()
        events = [first]
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        if self.lagged:
            raise Lagged()
        return events


@dataclass(eq=False)
class Watched:
    """A WebSocket connection's caller and the credential it showed, checked again now and then."""

    caller: Caller
    credentials: dict[bytes, bytes]
    close: Callable[[int, str], Awaitable[None]]


def identity(caller: Caller) -> tuple:
    """What must stay the same for a connection to go on: who, as what, over which area."""
    return (
        caller.user_id,
        caller.session_id,
        caller.key_id,
        caller.role,
        caller.organization_id,
        caller.key_scopes,
        caller.area,
    )


class Hub:
    """One API process's subscriptions and watched connections, and the task that serves them."""

    def __init__(
        self, settings: Settings, identify: Callable[[Settings, dict[bytes, bytes]], Awaitable[Caller]]
    ) -> None:
        self.settings = settings
        self.identify = identify
        self.subscriptions: set[Subscription] = set()
        self.watched: dict[int, Watched] = {}
        self.ids = itertools.count(1)
        self.cursor: outbox.Cursor | None = None
        self.wake = asyncio.Event()
        self.check_now = False
        self.task: asyncio.Task | None = None
        self.listener: Any = None
        self.started = asyncio.Event()

    def signal(self, channel: str) -> None:
        if channel == CREDENTIALS:
            self.check_now = True
        self.wake.set()

    async def start(self) -> None:
        """Start serving (once); returns when the hub reads from where the outbox stands now."""
        if self.task is None:
            _HUBS.add(self)
            self.task = asyncio.create_task(self._run(), name="sanji-live-hub")
        await self.started.wait()

    async def close(self) -> None:
        _HUBS.discard(self)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        await self._unlisten()

    @contextlib.asynccontextmanager
    async def subscribe(self, wants: Callable[[dict[str, Any]], bool]) -> AsyncIterator[Subscription]:
        """A subscription to the events `wants` accepts, from now until the block ends."""
        await self.start()
        subscription = Subscription(wants)
        self.subscriptions.add(subscription)
        self.wake.set()
        try:
            yield subscription
        finally:
            self.subscriptions.discard(subscription)

    async def watch(self, caller: Caller, credentials: dict[bytes, bytes], close) -> int:
        """Check this connection's credential with the others from now on; its key for `unwatch`."""
        await self.start()
        key = next(self.ids)
        self.watched[key] = Watched(caller, credentials, close)
        return key

    def unwatch(self, key: int | None) -> None:
        self.watched.pop(key, None)

    async def _run(self) -> None:
        next_check = time.monotonic() + self.settings.subscription_recheck_seconds
        while True:
            try:
                if self.cursor is None:
                    self.cursor = await outbox.latest()
                    self.started.set()
                pg = postgres()
                if pg and self.listener is None:
                    await self._listen()
                if not pg:
                    poll = SQLITE_POLL_SECONDS
                else:  # without its listening connection, the hub reads more often until it is back
                    poll = PG_POLL_SECONDS if self.listener is not None else SQLITE_POLL_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll)
                self.wake.clear()
                if self.subscriptions:
                    await self._read()
                if self.check_now or time.monotonic() >= next_check:
                    self.check_now = False
                    next_check = time.monotonic() + self.settings.subscription_recheck_seconds
                    await self._check()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database that went away: keep trying, as the worker does
                log.exception("the live-event hub failed a round; trying again in a second")
                await self._unlisten()
                await asyncio.sleep(1)

    async def _read(self) -> None:
        while True:
            events, self.cursor = await outbox.read(self.cursor, outbox.MAX_READ, paths=True)
            for event in events:
                for subscription in list(self.subscriptions):
                    subscription.offer(event)
            if len(events) < outbox.MAX_READ:
                return

    async def _check(self) -> None:
        """Close each connection whose credential is no longer valid, or no longer the same access."""
        for key, watched in list(self.watched.items()):
            try:
                now = await self.identify(self.settings, watched.credentials)
            except DomainError as refused:
                reason = f"{refused.code}: {refused.message}"
            else:
                if identity(now) == identity(watched.caller):
                    continue
                reason = "UNAUTHENTICATED: the credential's access changed; connect again"
            self.watched.pop(key, None)
            with contextlib.suppress(Exception):  # a connection that went meanwhile
                await watched.close(4401, reason[:120])

    async def _listen(self) -> None:
        import asyncpg  # PostgreSQL only

        from api.db import connection_parameters

        url = self.settings.database_listen_url or self.settings.database_url
        connection = await asyncpg.connect(**connection_parameters(url))
        await connection.add_listener(OUTBOX, self._notified)
        await connection.add_listener(CREDENTIALS, self._notified)
        connection.add_termination_listener(self._lost)
        self.listener = connection
        self.check_now = True  # a revocation may have been missed while not listening
        self.wake.set()

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.signal(channel)

    def _lost(self, connection: Any) -> None:
        if self.listener is connection:
            self.listener = None
            self.wake.set()

    async def _unlisten(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
