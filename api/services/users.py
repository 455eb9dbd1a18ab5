"""User accounts: creation with the password policy, and password sign-in."""

from __future__ import annotations

from datetime import UTC, datetime

from api.auth import throttle
from api.auth.passwords import check_policy, hash_password, verify_password
from api.errors import DomainError
from api.models.org import Organization
from api.models.user import Role, User

# Verifying against a real hash when the user is unknown keeps the timing of both failures alike.
_DUMMY_HASH = hash_password("unknown-user-timing-equaliser")


async def create_user(
    username: str,
    password: str,
    role: Role,
    *,
    organization_code: str | None = None,
    staff_id: int | None = None,
    is_demo: bool = False,
    enforce_policy: bool = True,
) -> User:
    username = username.strip()
    if not username:
        raise DomainError("VALIDATION_FAILED", "username cannot be empty", field="username")
    if enforce_policy:
        check_policy(password)
    if await User.exists(username=username):
        raise DomainError("CONFLICT", f"user {username!r} already exists", field="username")
    organization = None
    if organization_code is not None:
        organization = await Organization.get_or_none(code=organization_code)
        if organization is None:
            raise DomainError(
                "NOT_FOUND", f"organization {organization_code!r} does not exist", field="organization"
            )
    return await User.create(
        username=username,
        password_hash=hash_password(password),
        role=role,
        organization=organization,
        staff_id=staff_id,
        is_demo=is_demo,
    )


async def authenticate(username: str, password: str) -> User:
    """The active user with these credentials; one message for every failure (no user probing).

    Five failures lock the login name for 15 minutes, whether or not such a user exists.
    """
    await throttle.check_not_locked(username)
    user = await User.get_or_none(username=username.strip())
    if user is None:
        verify_password(_DUMMY_HASH, password)
    if user is None or not verify_password(user.password_hash, password) or not user.active:
        await throttle.record_failure(username)
        raise DomainError("INVALID_CREDENTIALS", "username or password is incorrect")
    await throttle.record_success(username)
    user.last_login_at = datetime.now(UTC)
    await user.save(update_fields=["last_login_at"])
    return user


async def demo_users() -> list[str]:
    return await User.filter(is_demo=True).order_by("username").values_list("username", flat=True)
