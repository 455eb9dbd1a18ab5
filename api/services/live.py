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
from api.models.user import ApiKey
from api.services import outbox
from api.settings import Settings

log = logging.getLogger("sanji.live")

OUTBOX = outbox.LIVE_CHANNEL
CREDENTIALS = "sanji_credentials"
PG_POLL_SECONDS = 5.0
SQLITE_POLL_SECONDS = 0.2
QUEUED = 1000  # events waiting for one subscription before it is ended as lagging
START_SECONDS = 5.0  # a hub that cannot read the outbox by then refuses (the database is down)
LISTEN_CONNECT_SECONDS = 5.0
LISTEN_RETRY_SECONDS = 10.0
CLOSE_SECONDS = 2.0  # a connection being closed that does not take its close frame is left to its client
READ_SECONDS = 10.0  # a read of the outbox or a credential check that takes longer fails
HELD_POLL_SECONDS = 30.0  # after a notification whose event is held back, read every 0.2 s this long
CONNECTIONS_PER_CALLER = 20  # a user's or key's subscription connections on one API process
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
    """What one subscription wants of the outbox, and the events handed to it and not yet taken.
    Events at or before `after` (where the outbox stood when it subscribed) are not for it."""

    wants: Callable[[dict[str, Any]], bool]
    after: outbox.Cursor
    committed_before: frozenset[int] = frozenset()  # held back when it subscribed, but not new
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUED))
    lagged: bool = False

    def offer(self, event: dict[str, Any]) -> None:
        if self.lagged or outbox.Cursor.of(event) <= self.after or event["id"] in self.committed_before:
            return
        if not self.wants(event):
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


def unavailable() -> DomainError:
    return DomainError("INTERNAL_ERROR", "live events are unavailable: the database does not answer")


class Hub:
    """One API process's subscriptions and watched connections, and the task that serves them.

    Nothing the hub does waits on a client: events go into each subscription's bounded queue, and
    a connection is closed by a task of its own."""

    def __init__(
        self, settings: Settings, identify: Callable[[Settings, dict[bytes, bytes]], Awaitable[Caller]]
    ) -> None:
        self.settings = settings
        self.identify = identify
        self.subscriptions: set[Subscription] = set()
        self.watched: dict[int, Watched] = {}
        self.ids = itertools.count(1)
        self.cursor: outbox.Cursor | None = None
        self.reading = asyncio.Lock()  # the cursor moves under it
        self.wake = asyncio.Event()
        self.check_now = False
        self.generation = 0  # revocation signals seen; a connection watched since one is checked
        self.task: asyncio.Task | None = None
        self.listener: Any = None
        self.listen_after = 0.0  # when to try listening again after a failure (monotonic)
        self.revoked_marks: tuple | None = None  # SQLite: the latest revocations seen
        self.closing: set[asyncio.Task] = set()
        self.checking: asyncio.Task | None = None
        self.notified = False  # an event committed since the last read
        self.held_until = 0.0  # read often until then: a committed event is held back
        self.started = asyncio.Event()

    def signal(self, channel: str) -> None:
        if channel == CREDENTIALS:
            self.check_now = True
            self.generation += 1
        else:
            self.notified = True
        self.wake.set()

    async def start(self) -> None:
        """Start serving (once); returns when the hub reads from where the outbox stands now."""
        if self.task is None:
            _HUBS.add(self)
            self.task = asyncio.create_task(self._run(), name="sanji-live-hub")
        try:
            await asyncio.wait_for(self.started.wait(), START_SECONDS)
        except TimeoutError:
            raise unavailable() from None

    async def close(self) -> None:
        _HUBS.discard(self)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        for task in [*self.closing, *([self.checking] if self.checking else [])]:
            task.cancel()
        await self._unlisten()

    @contextlib.asynccontextmanager
    async def subscribe(self, wants: Callable[[dict[str, Any]], bool]) -> AsyncIterator[Subscription]:
        """A subscription to the events `wants` accepts that commit from now until the block ends."""
        await self.start()
        try:
            now, held = await asyncio.wait_for(outbox.latest(), START_SECONDS)
            await asyncio.wait_for(self.reading.acquire(), START_SECONDS)
        except Exception:
            raise unavailable() from None
        subscription = Subscription(wants, now, held)
        try:
            if not self.subscriptions or self.cursor is None:  # idle until now: skip what went by
                self.cursor = now if self.cursor is None else max(self.cursor, now)
            self.subscriptions.add(subscription)
        finally:
            self.reading.release()
        self.wake.set()
        try:
            yield subscription
        finally:
            self.subscriptions.discard(subscription)

    async def watch(self, caller: Caller, credentials: dict[bytes, bytes], close, since: int) -> int:
        """Check this connection's credential with the others from now on; its key for `unwatch`.
        `since`: the hub's `generation` when the credential was checked (a revocation signalled
        after it has the connection checked at once)."""
        await self.start()
        same = sum(1 for w in self.watched.values() if _holder(w.caller) == _holder(caller))
        if same >= CONNECTIONS_PER_CALLER:
            raise DomainError(
                "RATE_LIMITED",
                f"this user or key has {CONNECTIONS_PER_CALLER} subscription connections open here already",
            )
        key = next(self.ids)
        self.watched[key] = Watched(caller, credentials, close)
        if self.generation != since:
            self.check_now = True
            self.wake.set()
        return key

    def unwatch(self, key: int | None) -> None:
        self.watched.pop(key, None)

    async def _run(self) -> None:
        next_check = time.monotonic() + self.settings.subscription_recheck_seconds
        while True:
            try:
                if self.cursor is None:
                    self.cursor, _ = await asyncio.wait_for(outbox.latest(), START_SECONDS)
                    self.started.set()
                pg = postgres()
                if pg and self.listener is None and time.monotonic() >= self.listen_after:
                    await self._listen()
                # Read often on SQLite (its signal comes before the commit), without a listening
                # connection, and while a notified event is held back by an older transaction.
                fast = not pg or self.listener is None or time.monotonic() < self.held_until
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), SQLITE_POLL_SECONDS if fast else PG_POLL_SECONDS)
                self.wake.clear()
                if self.subscriptions:
                    async with self.reading:
                        found = await asyncio.wait_for(self._read(), READ_SECONDS)
                    if self.notified and not found:  # committed, not readable yet: look again soon
                        self.held_until = time.monotonic() + HELD_POLL_SECONDS
                    elif found:
                        self.held_until = 0.0
                    self.notified = False
                if not pg and self.watched and await self._revoked_elsewhere():
                    self.check_now = True
                due = self.check_now or time.monotonic() >= next_check
                if due and (self.checking is None or self.checking.done()):
                    self.check_now = False  # (set again by a check that fails)
                    next_check = time.monotonic() + self.settings.subscription_recheck_seconds
                    self.checking = asyncio.create_task(self._check())  # never in the way of events
            except asyncio.CancelledError:
                raise
            except Exception:  # a database that went away: keep trying, as the worker does
                log.exception("the live-event hub failed a round; trying again in a second")
                await asyncio.sleep(1)

    async def _read(self) -> int:
        """Hand on the events after the cursor; how many there were."""
        found = 0
        while True:
            events, self.cursor = await outbox.read(self.cursor, outbox.MAX_READ, paths=True)
            found += len(events)
            for event in events:
                for subscription in list(self.subscriptions):
                    subscription.offer(event)
            if len(events) < outbox.MAX_READ:
                return found

    async def _revoked_elsewhere(self) -> bool:
        """SQLite: whether a key was revoked or a session ended since the last look, by another
        process (the `sanji` command) whose in-process signal does not reach this one."""
        marks = await latest_revocations()
        changed = self.revoked_marks is not None and marks != self.revoked_marks
        self.revoked_marks = marks
        return changed

    async def _check(self) -> None:
        """Close each connection whose credential is no longer valid, or no longer the same access."""
        for key, watched in list(self.watched.items()):
            try:
                now = await asyncio.wait_for(self.identify(self.settings, watched.credentials), READ_SECONDS)
            except DomainError as refused:
                reason = f"{refused.code}: {refused.message}"
            except Exception:  # the database: this connection is checked again next round
                log.warning("could not check a subscription connection's credential", exc_info=True)
                self.check_now = True
                continue
            else:
                if identity(now) == identity(watched.caller):
                    continue
                reason = "UNAUTHENTICATED: the credential's access changed; connect again"
            self.watched.pop(key, None)
            # By a task of its own, bounded: a client that stopped reading must not hold the hub.
            task = asyncio.create_task(_close(watched, reason[:120]))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

    async def _listen(self) -> None:
        import asyncpg  # PostgreSQL only

        from api.db import connection_parameters

        url = self.settings.database_listen_url or self.settings.database_url
        try:
            connection = await asyncpg.connect(**connection_parameters(url), timeout=LISTEN_CONNECT_SECONDS)
            await connection.add_listener(OUTBOX, self._notified)
            await connection.add_listener(CREDENTIALS, self._notified)
        except Exception as error:  # reading every 0.2 s meanwhile; tried again later
            log.warning(
                "the live-event hub cannot LISTEN (%r); reading the outbox every 0.2 s until it can", error
            )
            self.listen_after = time.monotonic() + LISTEN_RETRY_SECONDS
            return
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


async def latest_revocations() -> tuple:
    """When the last key was revoked and the last session ended."""
    connection = ApiKey._meta.db
    _, keys = await connection.execute_query('SELECT MAX("revoked_at") AS "at" FROM "api_key"')
    _, ended = await connection.execute_query('SELECT MAX("revoked_at") AS "at" FROM "auth_session"')
    return (keys[0]["at"], ended[0]["at"])


async def _close(watched: Watched, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(watched.close(4401, reason), CLOSE_SECONDS)


def _holder(caller: Caller) -> tuple:
    return (caller.user_id, caller.key_id)
