"""Integrator API keys: `sj_<prefix>_<secret>`, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.errors import DomainError
from api.models.org import Organization
from api.models.user import ApiKey

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
    return record


async def verify(key: str) -> ApiKey:
    """The live key record for a presented key, or UNAUTHENTICATED (one message for every failure)."""
    refused = DomainError("UNAUTHENTICATED", "API key is not valid")
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "sj":
        raise refused
    record = await ApiKey.get_or_none(prefix=parts[1])
    if (
        record is None
        or not hmac.compare_digest(record.key_hash, _hash(parts[2]))
        or record.revoked_at is not None
    ):
        raise refused
    now = datetime.now(UTC)
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_PRECISION:
        record.last_used_at = now
        await record.save(update_fields=["last_used_at"])
    return record
