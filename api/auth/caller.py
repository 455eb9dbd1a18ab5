"""Who is asking: one `Caller` per request, built once by the authentication backend
(api/auth/http.py) from an access token, an API key or nothing, and used by everything that asks
who: permissions (the engine's policy), the audit log, the case workflow and the rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from schema.generator.policy import PUBLIC


@dataclass(frozen=True)
class KnownArea:
    """The caller's area (see `permissions.area_of`), when it was read with the caller's credentials."""

    path: str | None


@dataclass(frozen=True)
class Caller:
    """A role, the organization it acts for, and how it signed in: a user's session, an API key with
    its scopes, or neither (the public). Also the command line (`SYSTEM`) and a failed sign-in."""

    role: str = PUBLIC
    organization_id: int | None = None
    user_id: int | None = None
    name: str = ""  # the user's (or, on a failed sign-in, the typed) name, or the person a step names
    session_id: int | None = None  # of a signed-in user
    key_id: int | None = None  # of an API key
    key_prefix: str = ""
    key_scopes: frozenset[str] | None = None  # None: not limited by key scopes
    area: KnownArea | None = None  # None: not read yet
    ip: str = ""  # the client's address
    wrote_at: float | None = None  # when the session or key last sent a write (epoch seconds)

    @property
    def anonymous(self) -> bool:
        return self.role == PUBLIC

    @property
    def signed_in(self) -> bool:
        """A user's session or an API key (not the public, not a failed sign-in)."""
        return self.session_id is not None or self.key_id is not None


ANONYMOUS = Caller()
SYSTEM = Caller(name="sanji-cli", role="OPERATOR")  # the command line, in the audit log
