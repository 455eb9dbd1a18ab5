"""Webhooks: outbox events sent to the endpoints other systems registered, signed as Standard
Webhooks asks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>`).

A worker (`sanji worker`) does two things in a loop:

- **Fan-out**: it reads the outbox after the "webhooks" cursor (in commit order, `outbox.read`)
  and writes one delivery per event and endpoint that wants it: the event's type matches one of
  the endpoint's patterns, and its organization is in the endpoint's area (events without one, the
  shared catalogue's, go to every area). The cursor row is locked while it moves, so workers fan
  out one at a time and deliveries are numbered in the events' order.
- **Delivery**: it claims due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL: two workers never
  claim one delivery), holds each for a lease, sends it, and records the answer. Deliveries of one
  ordering key (a case; else the organization or item) and endpoint go one at a time, in order:
  only the oldest pending one of a key is due, so a case whose deliveries fail holds up its own
  events and no other case's. A worker killed mid-delivery leaves its lease to run out; another
  worker then sends the same event again, with the same `webhook-id` (at least once: receivers
  drop an id they have seen).

A failed attempt (no answer, a timeout, a status outside 2xx; redirects are not followed) is tried
again after a delay that doubles from SANJI's first retry delay up to an hour, with jitter, until
the retry window (24 h) since the first attempt has passed: the delivery is then FAILED, and the
next ones of its key go on. An endpoint whose attempts have all failed for the disable window
(72 h, at least five attempts) is disabled; it gets no new deliveries until it is enabled again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import random
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from standardwebhooks.webhooks import Webhook
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.db import dialect_sql
from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.case import Case
from api.models.org import Organization
from api.models.outbox import OutboxEvent
from api.models.webhook import DeliveryState, OutboxCursor, WebhookDelivery, WebhookEndpoint
from api.services import audit, destinations, outbox
from api.settings import Settings
from api.stored_values import stored_moment

log = logging.getLogger("sanji.webhooks")

CURSOR = "webhooks"
WORKER = Caller(name="sanji-worker", role="OPERATOR")  # the delivery worker, in the audit log
FANOUT_BATCH = 500
MAX_IN_FLIGHT = 32  # attempts a worker sends at once
MAX_DELAY_SECONDS = 3600.0
MIN_FAILURES_TO_DISABLE = 5
MAX_NAME = 100
MAX_KEEP_OLD_HOURS = 7 * 24
USER_AGENT = "Sanji-Webhooks/1"
FAMILIES = tuple(sorted({type_.split(".")[0] for type_ in outbox.EVENT_TYPES}))


# -- event types -------------------------------------------------------------------------------


def event_patterns(given: Iterable[str]) -> str:
    """The patterns an endpoint asked for, checked and joined by spaces: a type (`case.accepted`),
    a family (`case.*`) or `*`."""
    out: list[str] = []
    for raw in given:
        for pattern in raw.replace(",", " ").split():
            known = (
                pattern == "*"
                or pattern in outbox.EVENT_TYPES
                or (pattern.endswith(".*") and pattern[:-2] in FAMILIES)
            )
            if not known:
                raise DomainError(
                    "VALIDATION_FAILED",
                    f"unknown event type {pattern!r}: use *, a family "
                    f"({', '.join(f + '.*' for f in FAMILIES)}) or a type docs/events.md lists",
                    field="eventTypes",
                )
            if pattern not in out:
                out.append(pattern)
    if not out:
        raise DomainError("VALIDATION_FAILED", "name at least one event type (* for all)", field="eventTypes")
    return " ".join(out)


def matches(patterns: str, type_: str) -> bool:
    return any(
        pattern in ("*", type_) or (pattern.endswith(".*") and type_.startswith(pattern[:-1]))
        for pattern in patterns.split()
    )


# -- secrets and signatures --------------------------------------------------------------------


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(signing_secrets: Iterable[str], message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: one `v1,<signature>` per secret, separated by spaces."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(secret).sign(message_id, at, body) for secret in signing_secrets)


def signing_secrets(endpoint: dict[str, Any], now: datetime) -> list[str]:
    """The endpoint's secret, and the one before it while a rotation keeps it."""
    out = [endpoint["secret"]]
    until = stored_moment(endpoint["previous_secret_until"])
    if endpoint["previous_secret"] and until is not None and until > now:
        out.append(endpoint["previous_secret"])
    return out


def message_id(event_id: int) -> str:
    """An event's `webhook-id`: the same on every attempt, redelivery and endpoint."""
    return f"evt_{event_id}"


def body(event: dict[str, Any], clear: dict[str, str] | None = None) -> str:
    """The JSON an endpoint receives (docs/events.md): the envelope around the event's payload,
    and for a webhook that receives personal data in clear, a case event's `applicant` in clear."""
    data = event["payload"] if clear is None else {**event["payload"], "applicant": clear}
    return orjson.dumps(
        {
            "id": message_id(event["id"]),
            "type": event["type"],
            "timestamp": stored_moment(event["occurred_at"]).astimezone(UTC).isoformat(),
            "organization": outbox.global_id("Organization", event["organization_id"]),
            "data": data,
        }
    ).decode()


CLEAR_FIELDS = "applicantName, applicantIdNumber, applicantPhone"


async def clear_applicants(case_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The applicants of these cases in clear, as a clear webhook receives them."""
    rows = await Case.filter(id__in=set(case_ids)).values(
        "id", "applicant_name", "applicant_id_number", "applicant_phone"
    )
    return {
        row["id"]: {
            "name": row["applicant_name"],
            "idNumber": row["applicant_id_number"],
            "phone": row["applicant_phone"],
        }
        for row in rows
    }


# -- endpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # shown once


async def register(
    *,
    name: str,
    url: str,
    event_types: Iterable[str],
    organization_id: int,
    created_by: str,
    settings: Settings,
    now: datetime,
    clear_personal_data: bool = False,
) -> Registered:
    """A new endpoint for the events of an organization's area (the caller checked the area)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise DomainError(
            "VALIDATION_FAILED", f"a webhook's name has 1 to {MAX_NAME} characters", field="name"
        )
    patterns = event_patterns(event_types)
    destination = await destinations.check(url, settings)
    if not await Organization.filter(id=organization_id).exists():
        raise DomainError("NOT_FOUND", "the organization does not exist", field="organization")
    last = await OutboxEvent.all().order_by("-id").limit(1).values_list("id", flat=True)
    secret = new_secret()
    endpoint = await WebhookEndpoint.create(
        name=name,
        url=destination.url,
        event_types=patterns,
        organization_id=organization_id,
        secret=secret,
        created_at=now,
        created_by=created_by[:80],
        starts_after_event=last[0] if last else 0,
        clear_personal_data=clear_personal_data,
    )
    return Registered(endpoint, secret)


async def rotate(endpoint: WebhookEndpoint, keep_old_hours: float, now: datetime) -> str:
    """A new secret; the old one keeps signing beside it for `keep_old_hours` (0: not at all)."""
    if not 0 <= keep_old_hours <= MAX_KEEP_OLD_HOURS:
        raise DomainError(
            "VALIDATION_FAILED",
            f"the old secret is kept 0 to {MAX_KEEP_OLD_HOURS} hours",
            field="keepOldHours",
        )
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret if keep_old_hours else None
    endpoint.previous_secret_until = now + timedelta(hours=keep_old_hours) if keep_old_hours else None
    endpoint.secret = secret
    await endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return secret


async def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> WebhookEndpoint:
    """No new deliveries and no attempts; those pending wait for `enable`."""
    if not endpoint.active:
        raise DomainError("INVALID_TRANSITION", f"webhook {endpoint.name!r} is already disabled")
    endpoint.active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:200]
    await endpoint.save(update_fields=["active", "disabled_at", "disabled_reason"])
    return endpoint


async def enable(endpoint: WebhookEndpoint, settings: Settings) -> WebhookEndpoint:
    """Attempts resume (the URL checked again: the allowed networks may have changed)."""
    if endpoint.active:
        raise DomainError("INVALID_TRANSITION", f"webhook {endpoint.name!r} is already enabled")
    await destinations.check(endpoint.url, settings)
    endpoint.active = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failure_streak = 0
    endpoint.failing_since = None
    await endpoint.save(
        update_fields=["active", "disabled_at", "disabled_reason", "failure_streak", "failing_since"]
    )
    return endpoint


async def redeliver(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Send a delivered or failed event again, now, with its `webhook-id` (a new retry window)."""
    if delivery.state == DeliveryState.PENDING:
        raise DomainError("INVALID_TRANSITION", "the delivery is already waiting to be sent", field="ids")
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = now
    delivery.leased_until = None
    delivery.first_attempt_at = None
    delivery.attempts = 0  # counted anew, as the delays are
    await delivery.save(
        update_fields=["state", "next_attempt_at", "leased_until", "first_attempt_at", "attempts"]
    )
    return delivery


# -- fan-out -----------------------------------------------------------------------------------


def ordering_key(event: dict[str, Any]) -> str:
    """Deliveries of one key are sent one at a time, in order: a case's events; else those of an
    organization (assignments, construction status) or of an item (guide revisions)."""
    if event["case_id"] is not None:
        return f"case:{event['case_id']}"
    if event["organization_id"] is not None:
        return f"org:{event['organization_id']}"
    return f"item:{event['payload'].get('item', '')}"[:40]


async def fan_out(now: datetime | None = None, limit: int = FANOUT_BATCH) -> int:
    """Turn the next events of the outbox into deliveries; how many events were read. Looks first
    without a lock (a worker polls often, mostly finding nothing)."""
    now = now or datetime.now(UTC)
    seen = await OutboxCursor.get_or_none(name=CURSOR)
    if seen is None:
        connection = OutboxCursor._meta.db
        await connection.execute_query(
            dialect_sql(
                'INSERT INTO "outbox_cursor" ("name", "transaction", "event_id") VALUES ({}, 0, 0) '
                "ON CONFLICT DO NOTHING",
                connection.query_class,
            ),
            [CURSOR],
        )
    elif not (await outbox.read(outbox.Cursor(seen.transaction, seen.event_id), 1))[0]:
        return 0
    async with in_transaction() as connection:
        cursor = await OutboxCursor.select_for_update().using_db(connection).get(name=CURSOR)
        events, after = await outbox.read(outbox.Cursor(cursor.transaction, cursor.event_id), limit)
        if not events:
            return 0
        endpoints = await WebhookEndpoint.filter(active=True).values(
            "id", "event_types", "starts_after_event", "organization__path"
        )
        wanted = {event["organization_id"] for event in events} - {None}
        paths = dict(await Organization.filter(id__in=wanted).values_list("id", "path")) if wanted else {}
        rows = []
        for event in events:
            path = paths.get(event["organization_id"])
            key = ordering_key(event)
            for endpoint in endpoints:
                if event["id"] <= endpoint["starts_after_event"]:
                    continue
                if not matches(endpoint["event_types"], event["type"]):
                    continue
                if event["organization_id"] is not None and (
                    path is None or not path.startswith(endpoint["organization__path"])
                ):
                    continue
                rows.append(
                    WebhookDelivery(
                        endpoint_id=endpoint["id"],
                        event_id=event["id"],
                        event_type=event["type"],
                        ordering_key=key,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        if rows:
            await WebhookDelivery.bulk_create(rows, using_db=connection)
        cursor.transaction, cursor.event_id = after.transaction, after.id
        await cursor.save(using_db=connection, update_fields=["transaction", "event_id"])
    return len(events)


# -- delivery ----------------------------------------------------------------------------------

# The oldest pending delivery of each key and endpoint, when it is due and not held: read in id
# order from the partial index of pending deliveries, each row's key probed once in the other (a
# correlated subquery, which no plan turns into a join over every pending delivery: with stale
# statistics an anti-join had taken a second per claim over 5,000 pending deliveries). Neither
# index holds delivered ones, so the history costs nothing.
_DUE = (
    'SELECT c."id" FROM "webhook_delivery" c '
    'WHERE c."state" = \'PENDING\' AND c."endpoint_id" IN ({endpoints}) AND c."next_attempt_at" <= {} '
    'AND (c."leased_until" IS NULL OR c."leased_until" <= {}) '
    'AND c."id" = (SELECT min(p."id") FROM "webhook_delivery" p WHERE p."endpoint_id" = c."endpoint_id" '
    'AND p."ordering_key" = c."ordering_key" AND p."state" = \'PENDING\') '
    'ORDER BY c."id" LIMIT {}'
)
_CLAIM = (
    'UPDATE "webhook_delivery" SET "leased_until" = {}, '
    '"attempts" = "attempts" + 1, "first_attempt_at" = COALESCE("first_attempt_at", {}), '
    '"last_attempt_at" = {} WHERE "id" IN (SELECT "id" FROM "due") '
    'RETURNING "id", "endpoint_id", "event_id", "attempts", "first_attempt_at"'
)
_DELIVERED = (  # PostgreSQL: the successes of a round in one statement
    'UPDATE "webhook_delivery" d SET "state" = \'DELIVERED\', "delivered_at" = $1, "last_status" = v.status, '
    '"latency_ms" = v.latency, "last_error" = \'\', "leased_until" = NULL '
    "FROM (SELECT unnest($2::bigint[]) AS id, unnest($3::int[]) AS attempts, unnest($4::int[]) AS status, "
    "unnest($5::int[]) AS latency) v "
    'WHERE d."id" = v.id AND d."attempts" = v.attempts AND d."state" = \'PENDING\' '
    'RETURNING d."endpoint_id"'
)


@dataclass(frozen=True)
class Claimed:
    id: int
    endpoint: dict[str, Any]
    event: dict[str, Any]
    attempts: int  # this attempt's number
    first_attempt_at: datetime
    leased_until: datetime  # another worker may take it then
    clear: dict[str, str] | None = None  # the applicant in clear, for a clear webhook's case event


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str
    latency_ms: int


async def claim(limit: int, settings: Settings, now: datetime, busy: Iterable[int] = ()) -> list[Claimed]:
    """Up to `limit` due deliveries, each held by this worker for the lease; none of the `busy`
    endpoints (those this worker already sends as many as it lets one endpoint have)."""
    connection = WebhookDelivery._meta.db
    postgres = connection.capabilities.dialect == "postgres"
    active = set(await WebhookEndpoint.filter(active=True).values_list("id", flat=True)) - set(busy)
    if not active:
        return []
    lock = " FOR UPDATE OF c SKIP LOCKED" if postgres else ""
    due = _DUE.replace("{endpoints}", ", ".join(str(int(e)) for e in sorted(active)))
    sql = dialect_sql(f'WITH "due" AS ({due}{lock}) {_CLAIM}', connection.query_class)
    lease = now + timedelta(seconds=settings.webhook_lease_seconds)
    if postgres:
        # Planned for each claim with its values: the driver prepares the statement once, and a
        # plan made while the table was empty (or never analyzed) had a subquery scan every pending
        # delivery for each one, five seconds per claim at 9,000 pending.
        async with in_transaction() as transaction:
            await transaction.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
            _, rows = await transaction.execute_query(sql, [now, now, limit, lease, now, now])
    else:
        _, rows = await connection.execute_query(sql, [now, now, limit, lease, now, now])
    if not rows:
        return []
    rows = [dict(row) for row in rows]
    events = {
        event["id"]: event
        for event in await OutboxEvent.filter(id__in=[row["event_id"] for row in rows]).values(
            "id", "type", "organization_id", "case_id", "occurred_at", "payload"
        )
    }
    endpoints = {
        endpoint["id"]: endpoint
        for endpoint in await WebhookEndpoint.filter(id__in={row["endpoint_id"] for row in rows}).values(
            "id", "name", "url", "secret", "previous_secret", "previous_secret_until", "clear_personal_data"
        )
    }
    wanted = [
        events[row["event_id"]]["case_id"]
        for row in rows
        if row["event_id"] in events
        and events[row["event_id"]]["case_id"] is not None
        and endpoints[row["endpoint_id"]]["clear_personal_data"]
    ]
    applicants = await clear_applicants(wanted) if wanted else {}
    out = []
    for row in sorted(rows, key=lambda row: row["id"]):
        event = events.get(row["event_id"])
        if event is None:  # deleted since (with its organization): its delivery went with it
            continue
        if isinstance(event["payload"], str):
            event["payload"] = json.loads(event["payload"])
        out.append(
            Claimed(
                row["id"],
                endpoints[row["endpoint_id"]],
                event,
                row["attempts"],
                stored_moment(row["first_attempt_at"]) or now,
                lease,
                applicants.get(event["case_id"])
                if endpoints[row["endpoint_id"]]["clear_personal_data"]
                else None,
            )
        )
    return out


class Sender:
    """The worker's HTTP client (aiohttp: one worker sent 3,000 deliveries in 2.5 s with it, in 9.2 s
    with httpx, on 2 cores beside PostgreSQL and the receiver), kept-alive
    connections pooled per host, redirects not followed, no proxy from the environment, and the
    addresses checked as it connects (destinations.CheckedResolver)."""

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings, self.size = settings, size
        self.sessions: dict[str, aiohttp.ClientSession] = {}  # by scheme: http goes to allowed networks only

    def _open(self, scheme: str) -> aiohttp.ClientSession:
        if scheme not in self.sessions:
            connector = aiohttp.TCPConnector(
                limit=self.size * 2,
                limit_per_host=self.size,
                resolver=destinations.CheckedResolver(self.settings, plain_http=scheme == "http"),
                ttl_dns_cache=10,
            )
            self.sessions[scheme] = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self.sessions[scheme]

    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> int:
        """The answer's status; at most 64 KB of the answer is read (then the connection is reused)."""
        session = self._open("https" if url.startswith("https:") else "http")
        async with session.post(url, data=data, headers=headers, allow_redirects=False) as response:
            await response.content.read(MAX_ANSWER_BYTES)
            return response.status

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()


MAX_ANSWER_BYTES = 64 * 1024


async def send(sender: Sender, claimed: Claimed, settings: Settings) -> Outcome | None:
    """One attempt: POST the signed event to the endpoint's URL (its addresses checked again), all
    of it (the name's lookup, connecting, sending, the answer) within the attempt's timeout. None
    when too little of the lease is left for an attempt to end within it (a worker too busy to start
    it in time): another worker could then take the delivery while this one sends it."""
    left = (claimed.leased_until - datetime.now(UTC)).total_seconds()
    if left < settings.webhook_timeout_seconds:
        return None
    started = time.monotonic()

    def done(ok: bool, status: int | None, error: str) -> Outcome:
        return Outcome(ok, status, error[:300], round((time.monotonic() - started) * 1000))

    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            status = await _post(sender, claimed, settings)
    except TimeoutError:
        return done(False, None, f"no answer within {settings.webhook_timeout_seconds:g} s")
    except DomainError as error:
        return done(False, None, error.message)
    except aiohttp.ClientConnectorError as error:  # its text names the address: the host and port do
        cause = error.os_error
        reason = os.strerror(cause.errno) if cause.errno else str(cause)
        return done(False, None, f"cannot connect to {error.host}:{error.port}: {reason}")
    except Exception as error:  # aiohttp's, the URL's, the system's: the attempt failed, the worker goes on
        text = str(error)
        return done(False, None, f"{type(error).__name__}: {text}" if text else type(error).__name__)
    if 200 <= status < 300:
        return done(True, status, "")
    return done(False, status, f"HTTP {status}")


async def _post(sender: Sender, claimed: Claimed, settings: Settings) -> int:
    url = claimed.endpoint["url"]
    if settings.is_production and destinations.literal_address(url):
        # aiohttp asks no resolver for an address written in the URL: check it here (no lookup)
        await destinations.check(url, settings)
    text = body(claimed.event, claimed.clear)
    timestamp = int(time.time())
    id_ = message_id(claimed.event["id"])
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": id_,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            signing_secrets(claimed.endpoint, datetime.now(UTC)), id_, timestamp, text
        ),
    }
    return await sender.post(url, text.encode(), headers)


def retry_delay(attempts: int, settings: Settings) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, at most an hour,
    with ±20% jitter so that many failed deliveries do not come back at once."""
    delay = min(settings.webhook_retry_base_seconds * 2 ** min(attempts - 1, 20), MAX_DELAY_SECONDS)
    return delay * random.uniform(0.8, 1.2)


async def release(claimed: Claimed) -> None:
    """Give back a delivery not sent: due again at once, the claim not counted as an attempt."""
    await WebhookDelivery.filter(
        id=claimed.id, attempts=claimed.attempts, state=DeliveryState.PENDING
    ).update(leased_until=None, attempts=F("attempts") - 1)


async def record(results: list[tuple[Claimed, Outcome]], settings: Settings) -> None:
    """Keep the outcomes of attempts, in one transaction; an attempt whose lease ran out and whose
    delivery another worker has taken since is not kept (nor counted against its endpoint)."""
    if not results:
        return
    now = datetime.now(UTC)
    delivered = [(claimed, outcome) for claimed, outcome in results if outcome.ok]
    failed = [(claimed, outcome) for claimed, outcome in results if not outcome.ok]
    async with in_transaction() as connection:
        # The webhooks' rows first, all of them, in id order: two workers keeping rounds that touch
        # the same webhooks in other orders would otherwise deadlock, and lose both rounds.
        touched = sorted({claimed.endpoint["id"] for claimed, _ in results})
        await WebhookEndpoint.filter(id__in=touched).order_by("id").select_for_update().values_list("id")
        if delivered:
            await _delivered(connection, delivered, now)
        for claimed, outcome in failed:
            await _failed(claimed, outcome, settings, now)


async def audit_clear(claimed: Claimed) -> None:
    """The audit entry of an attempt that carries personal data in clear, written before it is
    sent: a worker that dies after sending leaves it audited."""
    await audit.record(
        AuditAction.READ_PII,
        WORKER,
        object_type="Case",
        object_id=claimed.event["case_id"],
        detail=f"sent in clear to webhook {claimed.endpoint['id']} ({claimed.endpoint['name']}): "
        f"{CLEAR_FIELDS}",
    )


async def _delivered(connection, delivered: list[tuple[Claimed, Outcome]], now: datetime) -> None:
    if connection.capabilities.dialect == "postgres":
        rows = await connection.execute_query_dict(
            _DELIVERED,
            [
                now,
                [claimed.id for claimed, _ in delivered],
                [claimed.attempts for claimed, _ in delivered],
                [outcome.status for _, outcome in delivered],
                [outcome.latency_ms for _, outcome in delivered],
            ],
        )
        endpoints = {row["endpoint_id"] for row in rows}
    else:
        endpoints = set()
        for claimed, outcome in delivered:
            kept = await WebhookDelivery.filter(
                id=claimed.id, attempts=claimed.attempts, state=DeliveryState.PENDING
            ).update(
                state=DeliveryState.DELIVERED,
                delivered_at=now,
                last_status=outcome.status,
                latency_ms=outcome.latency_ms,
                last_error="",
                leased_until=None,
            )
            if kept:
                endpoints.add(claimed.endpoint["id"])
    if endpoints:
        await WebhookEndpoint.filter(id__in=endpoints, failure_streak__gt=0).update(
            failure_streak=0, failing_since=None
        )


async def _failed(claimed: Claimed, outcome: Outcome, settings: Settings, now: datetime) -> None:
    next_at = now + timedelta(seconds=retry_delay(claimed.attempts, settings))
    gives_up = next_at > claimed.first_attempt_at + timedelta(hours=settings.webhook_retry_hours)
    kept = await WebhookDelivery.filter(
        id=claimed.id, attempts=claimed.attempts, state=DeliveryState.PENDING
    ).update(
        state=DeliveryState.FAILED if gives_up else DeliveryState.PENDING,
        next_attempt_at=next_at,
        last_status=outcome.status,
        last_error=outcome.error,
        latency_ms=outcome.latency_ms,
        leased_until=None,
    )
    if not kept:
        return
    endpoint = await WebhookEndpoint.select_for_update().get(id=claimed.endpoint["id"])
    endpoint.failure_streak += 1
    endpoint.failing_since = endpoint.failing_since or now
    fields = ["failure_streak", "failing_since"]
    failing_for = now - endpoint.failing_since
    if (
        endpoint.active
        and endpoint.failure_streak >= MIN_FAILURES_TO_DISABLE
        and failing_for >= timedelta(hours=settings.webhook_disable_after_hours)
    ):
        endpoint.active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = (
            f"every attempt failed for {failing_for.total_seconds() / 3600:.1f} h "
            f"({endpoint.failure_streak} in a row), the last: {outcome.error}"
        )[:200]
        fields += ["active", "disabled_at", "disabled_reason"]
        log.warning("webhook %s disabled: %s", endpoint.id, endpoint.disabled_reason)
    await endpoint.save(update_fields=fields)


class Worker:
    """Fans out and delivers until stopped; several may run, in processes of their own."""

    def __init__(
        self,
        settings: Settings,
        *,
        in_flight: int = MAX_IN_FLIGHT,
        poll_seconds: float = 0.2,
    ) -> None:
        if settings.webhook_lease_seconds <= settings.webhook_timeout_seconds:
            raise DomainError(
                "VALIDATION_FAILED",
                "SANJI_WEBHOOK_LEASE_SECONDS must be longer than SANJI_WEBHOOK_TIMEOUT_SECONDS",
                field="SANJI_WEBHOOK_LEASE_SECONDS",
            )
        self.settings = settings
        self.sender = Sender(settings, in_flight)
        self.in_flight_limit = in_flight
        # One endpoint never takes every slot: a slow receiver holds up its own deliveries only.
        self.per_endpoint = max(1, in_flight * 3 // 4)
        self.poll_seconds = poll_seconds
        self.tasks: set[asyncio.Task] = set()
        self.sending: dict[int, int] = {}  # endpoint id -> attempts under way
        self.finished: list[tuple[Claimed, Outcome | None]] = []

    async def step(self) -> bool:
        """Keep what finished, fan out, then claim what there is room for and start sending it;
        whether there is more to fan out at once."""
        await self._keep_finished()
        fanned = 0
        try:
            fanned = await fan_out()
        except Exception:  # an event it cannot fan out: the deliveries already made still go
            log.exception("webhook fan-out")
        room = self.in_flight_limit - len(self.tasks)
        if room > 0:
            busy = [endpoint for endpoint, n in self.sending.items() if n >= self.per_endpoint]
            for one in await claim(room, self.settings, datetime.now(UTC), busy):
                self._start(one)
        return fanned >= FANOUT_BATCH

    def _start(self, claimed: Claimed) -> None:
        endpoint = claimed.endpoint["id"]
        self.sending[endpoint] = self.sending.get(endpoint, 0) + 1

        async def attempt() -> None:
            outcome = None  # not sent: given back
            try:
                if claimed.clear is not None:
                    await audit_clear(claimed)  # no clear data leaves unaudited
                outcome = await send(self.sender, claimed, self.settings)
            except Exception:
                log.exception("webhook delivery %s", claimed.id)
            finally:
                self.sending[endpoint] -= 1
                if not self.sending[endpoint]:
                    del self.sending[endpoint]
            self.finished.append((claimed, outcome))

        task = asyncio.create_task(attempt())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _keep_finished(self) -> None:
        finished, self.finished = self.finished, []
        for claimed, outcome in finished:
            if outcome is None:
                await release(claimed)
        await record(
            [(claimed, outcome) for claimed, outcome in finished if outcome is not None], self.settings
        )

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.create_task(stop.wait())
        while not stop.is_set():
            try:
                more = await self.step()
            except Exception:  # a database restart, say: try again after a pause
                log.exception("webhook worker step")
                more = False
            if more:
                continue
            # Wait for room: half the slots free (a round keeps and claims many at once, not one
            # at a time), or the poll's time up, whichever comes first; at once when all are free.
            deadline = loop.time() + self.poll_seconds
            while not stop.is_set() and (left := deadline - loop.time()) > 0:
                if self.tasks and len(self.tasks) <= self.in_flight_limit // 2 and self.finished:
                    break
                await asyncio.wait([stopping, *self.tasks], timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if not self.tasks and self.finished:
                    break
        stopping.cancel()
        await self.drain()

    async def drain(self) -> None:
        """Wait for the attempts under way, and keep their outcomes."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        await self._keep_finished()

    async def close(self) -> None:
        await self.drain()
        await self.sender.close()
