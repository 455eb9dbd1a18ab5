"""Domain errors: one exception type carrying a stable code, turned into API errors at one boundary."""

from __future__ import annotations

from enum import StrEnum

from schema.generator.errors import EngineError


class ErrorCode(StrEnum):
    """Every `extensions.code` the API answers with: stable, for clients to act on (the SDL's
    `ErrorCode` enum documents each one)."""

    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    CONSTRAINT = "CONSTRAINT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    RATE_LIMITED = "RATE_LIMITED"
    CALENDAR_UNAVAILABLE = "CALENDAR_UNAVAILABLE"
    MIGRATION_PENDING = "MIGRATION_PENDING"
    DEMO_USERS = "DEMO_USERS"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    QUERY_TOO_BROAD = "QUERY_TOO_BROAD"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    BAD_REQUEST_BODY = "BAD_REQUEST_BODY"
    BAD_CLIENT_ADDRESS = "BAD_CLIENT_ADDRESS"
    WEBHOOK_URL_REFUSED = "WEBHOOK_URL_REFUSED"
    SUBSCRIPTION_LAGGED = "SUBSCRIPTION_LAGGED"
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_INVALID = "PERSISTED_QUERY_INVALID"
    PERSISTED_QUERY_REQUIRED = "PERSISTED_QUERY_REQUIRED"
    FILE_INVALID = "FILE_INVALID"
    INTERNAL_ERROR = "INTERNAL_ERROR"


ERROR_CODE_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_FAILED: "An input is not acceptable; `extensions.field` names the field at fault",
    ErrorCode.NOT_FOUND: "The object does not exist, or the caller may not read it (the two look alike)",
    ErrorCode.CONFLICT: "The change clashes with what exists (a unique value taken, a stale version)",
    ErrorCode.CONSTRAINT: "The change breaks a rule of the data (a reference still in use, a check)",
    ErrorCode.INVALID_TRANSITION: "The case's workflow does not allow this step from its current status",
    ErrorCode.UNAUTHENTICATED: "Sign in or send a valid API key: credentials missing or no longer valid",
    ErrorCode.FORBIDDEN: "The caller's role, area or API key scopes do not allow this",
    ErrorCode.INVALID_CREDENTIALS: "Wrong user name or password",
    ErrorCode.ACCOUNT_LOCKED: "Too many failed sign-ins: the account is locked for a while",
    ErrorCode.REFRESH_TOKEN_REUSED: "A refresh token was used twice: its session has been ended",
    ErrorCode.RATE_LIMITED: "Too many requests in this window; `Retry-After` says when to try again",
    ErrorCode.CALENDAR_UNAVAILABLE: "The working-day calendar does not cover the dates needed",
    ErrorCode.MIGRATION_PENDING: "The database is not migrated to this version of Sanji",
    ErrorCode.DEMO_USERS: "Demo users exist, which production refuses",
    ErrorCode.GRAPHQL_PARSE_FAILED: "The query is not valid GraphQL syntax",
    ErrorCode.GRAPHQL_VALIDATION_FAILED: "The query does not fit the schema",
    ErrorCode.INTROSPECTION_DISABLED: "Introspection is off (production)",
    ErrorCode.QUERY_TOO_LARGE: "The query has too many tokens",
    ErrorCode.QUERY_TOO_BROAD: "The query selects too many fields, selections or root fields",
    ErrorCode.QUERY_TOO_DEEP: "The query nests deeper than allowed",
    ErrorCode.QUERY_TOO_COSTLY: "The page sizes multiplied along a path exceed the budget",
    ErrorCode.TOO_MANY_ALIASES: "The query uses too many aliases",
    ErrorCode.REQUEST_TOO_LARGE: "The request body is over the size limit",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Send the operation as application/json",
    ErrorCode.BAD_REQUEST_BODY: "The body is not a GraphQL request (bad JSON, text no database stores)",
    ErrorCode.BAD_CLIENT_ADDRESS: "A forwarded client address could not be read",
    ErrorCode.WEBHOOK_URL_REFUSED: "A webhook URL's destination is not allowed (loopback, link-local, "
    "metadata, or a private network SANJI_WEBHOOK_ALLOWED_NETWORKS does not list), or does not resolve",
    ErrorCode.SUBSCRIPTION_LAGGED: "A subscription fell too far behind its events and was ended; "
    "subscribe again (outboxEvents: after the last cursor received, to miss nothing)",
    ErrorCode.OPERATION_NOT_ALLOWED: "This kind of operation is not run here: over WebSocket only "
    "subscriptions (queries and mutations go over HTTP)",
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: "No operation is registered with the request's "
    "extensions.persistedQuery.sha256Hash (Apollo's code: a client may send the query with it)",
    ErrorCode.PERSISTED_QUERY_INVALID: "The registered operation no longer fits the schema or the limits "
    "(after a schema change); `persistedQueries` shows why",
    ErrorCode.PERSISTED_QUERY_REQUIRED: "This API key runs registered operations only "
    "(SANJI_PERSISTED_ONLY=keys): send extensions.persistedQuery",
    ErrorCode.FILE_INVALID: "An uploaded file cannot be read as what it should be (not a spreadsheet, "
    "not the template's columns, too large); the message says which",
    ErrorCode.INTERNAL_ERROR: "An unexpected failure; the server's log has it under `extensions.requestId`",
}


class DomainError(EngineError):
    """A rule of the domain was broken; `code` is stable for API clients, `message` is for people.

    The engine's errors (`EngineError`) carry a code of `EngineCode`, each of which `ErrorCode` holds;
    Sanji's own add the domain's codes."""

    def __init__(self, code: ErrorCode | str, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)

    @classmethod
    def checked(cls, code: str) -> ErrorCode:
        return ErrorCode(code)  # an undocumented code is a programming error
