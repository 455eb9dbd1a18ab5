"""Persisted queries on the schema's side (docs/persisted-queries.md): checking a document against
the schema and the query limits, registering it (`registerPersistedQuery`), and answering a request
that names one by its hash, with the document parsed and validated once per process, not per
request. With SANJI_PERSISTED_ONLY=keys an API key's ad-hoc query is refused."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.schema.schema import validate_document

from api.errors import DomainError
from api.models.query import OperationKind, PersistedQuery
from api.services import persisted
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver
from schema.limits import _SUGGESTION, PERSISTED, Limits, QueryLimits, _parse_checked, unexpected_error

KEPT_SECONDS = 10.0  # how long a process trusts what it read of a registered operation


def current_hash(schema) -> str:
    """The SHA-256 of what a check depends on: the schema's SDL and its limits (depth, cost,
    introspection). A registered operation checked under others is checked again."""
    found = getattr(schema, "check_hash", None)
    if found is None:
        checked_under = f"{schema}\n{schema.limits!r}"
        found = schema.check_hash = hashlib.sha256(checked_under.encode("utf-8")).hexdigest()
    return found


def check_document(schema, document: str) -> tuple[persisted.Checked, DocumentNode]:
    """Check a document as a request's would be: parsed within the limits, valid against the schema
    (introspection refused where it is off), and within the cost budget at its default page sizes;
    what it is, and its parsed document."""
    limits: Limits = schema.limits
    parsed, refusal = _parse_checked(document, limits)
    if refusal is not None:
        code = (refusal.extensions or {}).get("code", "GRAPHQL_PARSE_FAILED")
        raise DomainError(str(code), refusal.message, field="document")
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:  # else operationName could pick one the list does not show
        raise DomainError(
            "VALIDATION_FAILED", "a registered document holds exactly one operation", field="document"
        )
    rules = (*specified_rules, *(() if limits.introspection else (NoSchemaIntrospectionCustomRule,)))
    errors = validate_document(schema._schema, parsed, rules)
    if errors:
        code = "INTROSPECTION_DISABLED" if "introspection" in errors[0].message.lower() else None
        message = errors[0].message if limits.suggestions else _SUGGESTION.sub("", errors[0].message)
        raise DomainError(code or "GRAPHQL_VALIDATION_FAILED", message, field="document")
    judged = SimpleNamespace(graphql_document=parsed, variables={}, schema=schema)
    verdict = QueryLimits(limits)._judge(judged)
    if verdict is not None:
        raise DomainError(verdict[1], verdict[0], field="document")
    operation = operations[0]
    name = operation.name.value if operation.name else ""
    return persisted.Checked(OperationKind(operation.operation.name), name), parsed


def checker(schema) -> persisted.Check:
    """`check_document` as the services take it: what the document is, or its refusal."""
    return lambda document: check_document(schema, document)[0]


@dataclass(frozen=True)
class Registered:
    document: str
    parsed: DocumentNode | None  # None: not valid against this process's schema
    problem: str
    read_at: float


class PersistedQueries:
    """A process's view of the registered operations: each read once and parsed once, trusted for
    KEPT_SECONDS (a deletion or a new verdict on another process applies within that)."""

    def __init__(self, schema, only_keys: bool, clock=time.monotonic) -> None:
        self.schema = schema
        self.only_keys = only_keys
        self.clock = clock
        self.kept: dict[str, Registered] = {}

    def only_registered(self, caller) -> bool:
        """Whether this caller runs registered operations only (SANJI_PERSISTED_ONLY=keys, a key)."""
        return self.only_keys and caller.key_id is not None

    async def resolve(self, request: Any, caller: Any, context: dict) -> Any:
        """The request to execute: the registered document in place of a hash; refused with a code
        when the hash is unknown or broken, or the caller may run registered operations only."""
        digest = persisted.requested_hash(request.extensions)
        if digest is None:
            if self.only_registered(caller):
                raise DomainError(
                    "PERSISTED_QUERY_REQUIRED",
                    "this API key runs registered operations only (SANJI_PERSISTED_ONLY=keys): send "
                    "extensions.persistedQuery {version: 1, sha256Hash} of an operation registered with "
                    "registerPersistedQuery",
                )
            return request
        sent = request.query if isinstance(request.query, str) and request.query else None
        if sent is not None and persisted.sha256_of(sent) != digest:
            raise DomainError(
                "VALIDATION_FAILED", "provided sha256Hash does not match the query", field="extensions"
            )
        found = await self.get(digest)
        if found is None:
            if sent is not None and not self.only_registered(caller):
                return request  # Apollo's automatic persisting sends both: run it as sent
            raise DomainError(
                "PERSISTED_QUERY_NOT_FOUND",
                "PersistedQueryNotFound: no operation is registered with this sha256Hash; register it "
                "with registerPersistedQuery or `sanji query register FILE`",
            )
        if found.parsed is None:
            if sent is not None and not self.only_registered(caller):
                return request  # the text sent runs (and is refused) as any other
            raise DomainError(
                "PERSISTED_QUERY_INVALID",
                f"the registered operation does not fit the current schema: {found.problem}",
            )
        context.setdefault(PERSISTED, {})[found.document] = found.parsed
        return dataclasses.replace(request, query=found.document)

    async def resolve_or_refuse(
        self, request: Any, caller: Any, context: dict
    ) -> tuple[Any, GraphQLError | None]:
        """`resolve`, its refusal (or a failure reading the database) as the error to answer with."""
        try:
            return await self.resolve(request, caller, context), None
        except DomainError as refused:
            return None, GraphQLError(refused.message, extensions=refused.extensions())
        except Exception:  # the database, say: answered as any unexpected failure
            return None, unexpected_error("reading a persisted query")

    async def get(self, digest: str) -> Registered | None:
        now = self.clock()
        found = self.kept.get(digest)
        if found is not None and now - found.read_at < KEPT_SECONDS:
            return found
        record = await PersistedQuery.filter(sha256=digest).only("id", "document").first()
        if record is None:
            self.kept.pop(digest, None)
            return None
        # Checked here, against this process's schema and limits: the stored `valid` is what the
        # last check found, perhaps by another version during a rolling upgrade.
        if found is not None and found.document == record.document:
            found = dataclasses.replace(found, read_at=now)  # checked and parsed already
        else:
            found = self._checked(record.document, now)
        if len(self.kept) >= 10_000:
            self.kept.clear()
        self.kept[digest] = found
        return found

    def _checked(self, document: str, now: float) -> Registered:
        """Checked against this process's schema once, and kept parsed."""
        try:
            _, parsed = check_document(self.schema, document)
        except DomainError as refused:
            return Registered(document, None, f"{refused.code}: {refused.message}", now)
        return Registered(document, parsed, "", now)


def persisted_fields(registry) -> dict[str, Any]:
    node = registry.node(PersistedQuery)

    async def register(root, info, document: str):
        access = await registry.access(info)
        access.require(node, Op.CREATE)
        caller = access.caller
        if caller.key_id is not None and info.context["settings"].persisted_only == "keys":
            raise DomainError(
                "FORBIDDEN",
                "API keys run registered operations only (SANJI_PERSISTED_ONLY=keys), so an "
                "administrator registers them",
            )
        if caller.organization_id is None:
            raise DomainError("FORBIDDEN", "only a user or key of an organization registers operations")
        return await persisted.register(
            document, caller, caller.organization_id, checker(info.schema), current_hash(info.schema)
        )

    return {
        "register_persisted_query": strawberry.mutation(
            resolver=resolver(
                register,
                node.object_type,
                {"document": (str, REQUIRED, "The operation's text, exactly as its hash is computed")},
            ),
            name="registerPersistedQuery",
            description="Register an operation to run by the SHA-256 of its text (Apollo's persisted-query "
            "extension); checked against the schema and the query limits first, refused with their "
            "code; registering the same text again returns the same one (docs/persisted-queries.md)",
        )
    }
