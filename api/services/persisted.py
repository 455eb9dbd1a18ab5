"""Persisted queries (docs/persisted-queries.md): operations registered ahead by administrators and
integrators, then run by the SHA-256 of their text, as Apollo's persisted-query extension sends it:
`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, "variables": {...}}`.

The schema's side (checking a document against the schema and the query limits) is given to these
functions as `check`: services do not know GraphQL. With SANJI_PERSISTED_ONLY=keys, API keys run
registered operations only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.query import OperationKind, PersistedQuery
from api.models.user import User
from api.services import audit

MAX_DOCUMENT_CHARS = 100_000
HASH_SHAPE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Checked:
    """What checking a document found: its first operation's kind and name."""

    kind: OperationKind
    operation_name: str


# (document text) -> Checked, or DomainError with the refusal's code (a limit, a validation error)
Check = Callable[[str], Checked]


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def requested_hash(extensions: Any) -> str | None:
    """The hash a request's `extensions.persistedQuery` names; None when it names none. A malformed
    one is refused, so that a client never runs something other than it meant."""
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise DomainError(
            "VALIDATION_FAILED",
            "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}",
            field="extensions",
        )
    found = persisted.get("sha256Hash")
    if not isinstance(found, str) or not HASH_SHAPE.fullmatch(found):
        raise DomainError(
            "VALIDATION_FAILED",
            "extensions.persistedQuery.sha256Hash must be 64 lowercase hex digits",
            field="extensions",
        )
    return found


async def register(document: str, caller: Caller, organization_id: int, check: Check, schema_hash: str):
    """Register `document` for the organization (or find it registered there already: the same
    text is the same operation); refused with the check's code when the schema or the limits do not
    take it. Each organization keeps its own registration of a text, to list and delete."""
    if not document.strip():
        raise DomainError("VALIDATION_FAILED", "the document is empty", field="document")
    if len(document) > MAX_DOCUMENT_CHARS:
        raise DomainError(
            "VALIDATION_FAILED", f"the document is over {MAX_DOCUMENT_CHARS:,} characters", field="document"
        )
    digest = sha256_of(document)
    found = await PersistedQuery.get_or_none(sha256=digest, organization_id=organization_id)
    if found is not None and found.valid and found.schema_hash == schema_hash:
        return found
    checked = check(document)  # raises the refusal
    now = datetime.now(UTC)
    if found is not None:  # flagged before, or checked under other limits; it fits now
        before = {"valid": found.valid, "problem": found.problem}
        found.valid, found.problem, found.schema_hash, found.checked_at = True, "", schema_hash, now
        await found.save(update_fields=["valid", "problem", "schema_hash", "checked_at"])
        await audit.record(
            AuditAction.UPDATE,
            caller,
            object_type="PersistedQuery",
            object_id=found.id,
            before=before,
            after={"valid": True, "problem": ""},
        )
        return found
    try:
        async with in_transaction():
            record = await PersistedQuery.create(
                sha256=digest,
                document=document,
                operation_name=checked.operation_name[:200],
                kind=checked.kind,
                organization_id=organization_id,
                created_by=await registrant(caller),
                created_at=now,
                schema_hash=schema_hash,
                checked_at=now,
            )
            after = {"sha256": digest, "operation_name": record.operation_name, "kind": str(record.kind)}
            await audit.record(
                AuditAction.CREATE,
                caller,
                object_type="PersistedQuery",
                object_id=record.id,
                after={**after, "document": document},
            )
    except IntegrityError:  # registered by a request at the same moment
        record = await PersistedQuery.get_or_none(sha256=digest, organization_id=organization_id)
        if record is None:
            raise
    return record


async def registrant(caller: Caller) -> str:
    """Who registers, as the list shows it: the key, or the user's name."""
    if caller.key_prefix:
        return f"API key {caller.key_prefix}"
    if caller.name:
        return caller.name
    user = await User.get_or_none(id=caller.user_id) if caller.user_id is not None else None
    return user.username if user is not None else ""


async def revalidate(check: Check, schema_hash: str) -> list[PersistedQuery]:
    """Check again every operation last checked against another schema; the ones now broken,
    flagged with the reason (and not run), and those fixed, cleared. Returns the broken ones."""
    now = datetime.now(UTC)
    for record in await PersistedQuery.exclude(schema_hash=schema_hash):
        try:
            check(record.document)
        except DomainError as refused:
            record.valid, record.problem = False, f"{refused.code}: {refused.message}"[:500]
        else:
            record.valid, record.problem = True, ""
        record.schema_hash, record.checked_at = schema_hash, now
        # Only if no other process checked it meanwhile (workers start together).
        await (
            PersistedQuery.filter(id=record.id)
            .exclude(schema_hash=schema_hash)
            .update(valid=record.valid, problem=record.problem, schema_hash=schema_hash, checked_at=now)
        )
    return await PersistedQuery.filter(valid=False).order_by("id")
