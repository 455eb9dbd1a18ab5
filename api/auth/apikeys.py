"""Integrator API keys: `sj_<prefix>_<secret>`, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.auth.permissions import AREA_COLUMNS, KnownArea, area_from
from api.auth.sessions import epoch
from api.db import dialect_sql
from api.errors import DomainError
from api.models.org import Organization
from api.models.user import ApiKey
from api.services import live
from api.stored_values import stored_moment

LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most once a minute per key


@dataclass(frozen=True)
class IssuedKey:
    key: str  # the only time the full key exists outside the caller's hands
    prefix: str
    record: ApiKey


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create(name: str, organization_code: str, *, scopes: Iterable[str] = ("read:*",)) -> IssuedKey:
    """A new key for the organization's area with these scopes (already checked against the models)."""
    if not name.strip():
        raise DomainError("VALIDATION_FAILED", "an API key needs a name", field="name")
    scopes = sorted(set(scopes))
    if not scopes:
        raise DomainError("VALIDATION_FAILED", "an API key needs at least one scope", field="scopes")
    organization = await Organization.get_or_none(code=organization_code)
    if organization is None:
        raise DomainError(
            "NOT_FOUND", f"organization {organization_code!r} does not exist", field="organization"
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    record = await ApiKey.create(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(secret),
        organization=organization,
        scopes=" ".join(scopes),
    )
    return IssuedKey(f"sj_{prefix}_{secret}", prefix, record)


async def revoke(prefix: str) -> ApiKey:
    record = await ApiKey.get_or_none(prefix=prefix)
    if record is None:
        raise DomainError("NOT_FOUND", f"no API key with prefix {prefix!r}", field="prefix")
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
        await record.save(update_fields=["revoked_at"])
        await live.notify(live.CREDENTIALS)  # its subscriptions end (api/services/live.py)
    return record


@dataclass(frozen=True)
class VerifiedKey:
    id: int
    prefix: str
    organization_id: int
    scopes: frozenset[str]
    area: KnownArea  # the area of the key's organization, read with the key
    wrote_at: float | None = None  # when the key last sent a write (epoch seconds)


# The key and its organization's area in one statement: every request with a key runs it.
_KEY = (
    'SELECT "api_key"."id", "api_key"."key_hash", "api_key"."organization_id", "api_key"."scopes", '
    f'"api_key"."revoked_at", "api_key"."last_used_at", "api_key"."last_write_at", {AREA_COLUMNS} '
    'FROM "api_key" '
    'LEFT JOIN "organization" ON "organization"."id" = "api_key"."organization_id" '
    'WHERE "api_key"."prefix" = {}'
)


async def verify(key: str) -> VerifiedKey:
    """The live key for a presented key, or UNAUTHENTICATED (one message for every failure)."""
    refused = DomainError("UNAUTHENTICATED", "API key is not valid")
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "sj":
        raise refused
    client = ApiKey._meta.db
    _, rows = await client.execute_query(dialect_sql(_KEY, client.query_class), [parts[1]])
    record = rows[0] if rows else None
    if (
        record is None
        or not hmac.compare_digest(record["key_hash"], _hash(parts[2]))
        or record["revoked_at"] is not None
    ):
        raise refused
    now = datetime.now(UTC)
    last_used = stored_moment(record["last_used_at"])
    if last_used is None or now - last_used >= LAST_USED_PRECISION:
        await ApiKey.filter(id=record["id"]).update(last_used_at=now)
    organization_id = record["organization_id"]
    return VerifiedKey(
        record["id"],
        parts[1],
        organization_id,
        frozenset(record["scopes"].split()),
        area_from(organization_id, record["area_path"], record["area_everything"]),
        epoch(record["last_write_at"]),
    )
