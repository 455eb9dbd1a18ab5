"""Settings: one object read from SANJI_* environment variables and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from api.errors import DomainError


class Env(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


DEFAULT_DEMO_PASSWORD = "sanji-demo"
_DEV_SECRET = "sanji-dev-secret-not-for-production-use-0123456789"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://sanji.db"
    env: Env = Env.DEV
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    api_url: str = "http://127.0.0.1:8000"
    secret_key: str = _DEV_SECRET
    access_token_minutes: int = 15
    demo_password: str = DEFAULT_DEMO_PASSWORD
    timezone: str = "Asia/Shanghai"
    cors_origins: tuple[str, ...] = ()
    max_query_depth: int = 12
    max_query_cost: int = 200_000
    rate_limit_per_minute: int = 600  # per signed-in user or API key; 0 turns the limit off
    rate_limit_anonymous_per_minute: int = 120  # per client address; 0 turns the limit off
    rate_limit_login_per_minute: int = 60  # POST /auth/token per client address; 0 turns it off
    rate_limit_lookup_per_minute: int = 20  # caseProgress and rateCase per address; 0 turns it off

    @property
    def is_production(self) -> bool:
        return self.env == Env.PRODUCTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        api_host = env.get("SANJI_API_HOST", cls.api_host)
        api_port = _port(env, "SANJI_API_PORT", cls.api_port)
        mode = env.get("SANJI_ENV", Env.DEV.value)
        if mode not in {e.value for e in Env}:
            raise DomainError(
                "VALIDATION_FAILED", f"SANJI_ENV must be dev or production, got {mode!r}", field="SANJI_ENV"
            )
        secret = env.get("SANJI_SECRET_KEY", _DEV_SECRET)
        if mode == Env.PRODUCTION and (secret == _DEV_SECRET or len(secret) < 32):
            raise DomainError(
                "VALIDATION_FAILED",
                "SANJI_SECRET_KEY must be set to a random string of 32+ characters in production",
                field="SANJI_SECRET_KEY",
            )
        return cls(
            database_url=env.get("SANJI_DATABASE_URL", cls.database_url),
            env=Env(mode),
            api_host=api_host,
            api_port=api_port,
            ui_host=env.get("SANJI_UI_HOST", cls.ui_host),
            ui_port=_port(env, "SANJI_UI_PORT", cls.ui_port),
            api_url=env.get("SANJI_API_URL", f"http://{api_host}:{api_port}"),
            secret_key=secret,
            access_token_minutes=_int(env, "SANJI_ACCESS_TOKEN_MINUTES", cls.access_token_minutes),
            demo_password=env.get("SANJI_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD),
            cors_origins=tuple(o.strip() for o in env.get("SANJI_CORS_ORIGINS", "").split(",") if o.strip()),
            max_query_depth=_int(env, "SANJI_MAX_QUERY_DEPTH", cls.max_query_depth),
            max_query_cost=_int(env, "SANJI_MAX_QUERY_COST", cls.max_query_cost),
            rate_limit_per_minute=_count(env, "SANJI_RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute),
            rate_limit_anonymous_per_minute=_count(
                env, "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE", cls.rate_limit_anonymous_per_minute
            ),
            rate_limit_login_per_minute=_count(
                env, "SANJI_RATE_LIMIT_LOGIN_PER_MINUTE", cls.rate_limit_login_per_minute
            ),
            rate_limit_lookup_per_minute=_count(
                env, "SANJI_RATE_LIMIT_LOOKUP_PER_MINUTE", cls.rate_limit_lookup_per_minute
            ),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DomainError(
            "VALIDATION_FAILED", f"{name} must be an integer, got {raw!r}", field=name
        ) from None


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 0:
        raise DomainError("VALIDATION_FAILED", f"{name} must be 0 (off) or more, got {value}", field=name)
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _int(env, name, default)
    if not 1 <= port <= 65535:
        raise DomainError("VALIDATION_FAILED", f"{name} must be 1-65535, got {port}", field=name)
    return port
