"""Settings: one object read from SANJI_* environment variables and passed explicitly."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from api.client_address import Networks, derived_key, networks
from api.errors import DomainError


class Env(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


DEFAULT_DEMO_PASSWORD = "sanji-demo"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://sanji.db"
    # A PostgreSQL replica of the primary for the compiled reads (docs/deployment.md); None: none.
    database_read_url: str | None = None
    database_listen_url: str | None = None  # the subscriptions' LISTEN connection; None: database_url
    # How long after a person's write their own reads stay on the primary (the replica may lag).
    read_your_writes_seconds: int = 10
    # How long reads stay on the primary after the replica failed (unreachable, refusing, timing out).
    replica_retry_seconds: int = 30
    env: Env = Env.DEV
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1  # processes serving the API (PostgreSQL only: SQLite is served by one)
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    api_url: str = "http://127.0.0.1:8000"
    # Made up for an object built in code (tests); from_env reads it from the environment, or in dev
    # from the installation's key file, so it is the same after a restart and in every worker.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    access_token_minutes: int = 15
    demo_password: str = DEFAULT_DEMO_PASSWORD
    timezone: str = "Asia/Shanghai"
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For is believed
    ui_client_key: str | None = None  # shared with the admin UI, which signs its users' addresses
    max_body_bytes: int = 4 * 1024 * 1024  # of a request to /graphql (an area outline is up to 2 MB)
    max_query_depth: int = 12
    max_query_cost: int = 200_000
    rate_limit_per_minute: int = 600  # per signed-in user or API key; 0 turns the limit off
    rate_limit_anonymous_per_minute: int = 120  # per client address; 0 turns the limit off
    rate_limit_login_per_minute: int = 60  # POST /auth/token per client address; 0 turns it off
    rate_limit_lookup_per_minute: int = 20  # caseProgress and rateCase per address; 0 turns it off
    # Generated reads run as one SQL statement per root field (schema/generator/compiler.py);
    # false runs every field on the resolvers, the reference the compiled path is tested against.
    compiled_reads: bool = True
    # One line per request from the server (uvicorn's access log); a proxy in front that logs
    # requests itself makes it a second copy, at ~10% of a small read's time in the API process.
    access_log: bool = True
    # Webhooks (docs/events.md): private networks their URLs may reach in production (the province's
    # and city's government networks; loopback, link-local and metadata addresses never), how long
    # an event is retried, when an endpoint failing all along is disabled, the first retry's delay
    # (doubling, with jitter, up to an hour), how long a worker holds a delivery it sends, and how
    # long one attempt may take.
    webhook_allowed_networks: tuple[str, ...] = ()
    webhook_retry_hours: float = 24.0
    webhook_disable_after_hours: float = 72.0
    webhook_retry_base_seconds: float = 5.0
    webhook_lease_seconds: float = 60.0
    webhook_timeout_seconds: float = 10.0
    subscription_recheck_seconds: float = 30.0
    persisted_only: str = "off"  # "keys": API keys run registered operations only

    @property
    def is_production(self) -> bool:
        return self.env == Env.PRODUCTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        api_host = env.get("SANJI_API_HOST", cls.api_host)
        api_port = _port(env, "SANJI_API_PORT", cls.api_port)
        api_workers = _positive(env, "SANJI_API_WORKERS", cls.api_workers)
        mode = env.get("SANJI_ENV", Env.DEV.value)
        if mode not in {e.value for e in Env}:
            raise DomainError(
                "VALIDATION_FAILED", f"SANJI_ENV must be dev or production, got {mode!r}", field="SANJI_ENV"
            )
        secret = env.get("SANJI_SECRET_KEY")
        if secret is None and mode == Env.DEV:
            secret = installation_key(_key_file(env))
        if secret is None or len(secret) < MIN_SECRET_LENGTH:
            raise DomainError(
                "VALIDATION_FAILED",
                f"SANJI_SECRET_KEY must be set to a random string of {MIN_SECRET_LENGTH}+ characters"
                + (" in production" if mode == Env.PRODUCTION else ""),
                field="SANJI_SECRET_KEY",
            )
        database_url = env.get("SANJI_DATABASE_URL", cls.database_url)
        return cls(
            database_url=database_url,
            database_read_url=_read_url(env, database_url),
            database_listen_url=_listen_url(env, database_url),
            read_your_writes_seconds=_count(
                env, "SANJI_READ_YOUR_WRITES_SECONDS", cls.read_your_writes_seconds
            ),
            replica_retry_seconds=_count(env, "SANJI_REPLICA_RETRY_SECONDS", cls.replica_retry_seconds),
            env=Env(mode),
            api_host=api_host,
            api_port=api_port,
            api_workers=api_workers,
            ui_host=env.get("SANJI_UI_HOST", cls.ui_host),
            ui_port=_port(env, "SANJI_UI_PORT", cls.ui_port),
            api_url=env.get("SANJI_API_URL", f"http://{api_host}:{api_port}"),
            secret_key=secret,
            access_token_minutes=_int(env, "SANJI_ACCESS_TOKEN_MINUTES", cls.access_token_minutes),
            demo_password=env.get("SANJI_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD),
            cors_origins=tuple(o.strip() for o in env.get("SANJI_CORS_ORIGINS", "").split(",") if o.strip()),
            trusted_proxies=_networks(env, "SANJI_TRUSTED_PROXIES"),
            ui_client_key=ui_client_key(env, secret),
            max_body_bytes=_positive(env, "SANJI_MAX_BODY_BYTES", cls.max_body_bytes),
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
            compiled_reads=_flag(env, "SANJI_COMPILED_READS", cls.compiled_reads),
            access_log=_flag(env, "SANJI_ACCESS_LOG", cls.access_log),
            webhook_allowed_networks=_networks(env, "SANJI_WEBHOOK_ALLOWED_NETWORKS"),
            webhook_retry_hours=_hours(env, "SANJI_WEBHOOK_RETRY_HOURS", cls.webhook_retry_hours),
            webhook_disable_after_hours=_hours(
                env, "SANJI_WEBHOOK_DISABLE_AFTER_HOURS", cls.webhook_disable_after_hours
            ),
            webhook_lease_seconds=_hours(env, "SANJI_WEBHOOK_LEASE_SECONDS", cls.webhook_lease_seconds, 3600),
            webhook_timeout_seconds=_hours(
                env, "SANJI_WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout_seconds, 3600
            ),
            persisted_only=_choice(env, "SANJI_PERSISTED_ONLY", cls.persisted_only, ("off", "keys")),
            subscription_recheck_seconds=_hours(
                env, "SANJI_SUBSCRIPTION_RECHECK_SECONDS", cls.subscription_recheck_seconds, 3600
            ),
        )


POSTGRES_SCHEMES = ("postgres://", "asyncpg://")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, default).strip().lower()
    if raw not in allowed:
        raise DomainError(
            "VALIDATION_FAILED", f"{name} must be one of {', '.join(allowed)}, got {raw!r}", field=name
        )
    return raw


def _listen_url(env: Mapping[str, str], database_url: str) -> str | None:
    """SANJI_DATABASE_LISTEN_URL: the same PostgreSQL, reached past transaction pooling, or None."""
    listen_url = env.get("SANJI_DATABASE_LISTEN_URL", "").strip() or None
    both = database_url.startswith(POSTGRES_SCHEMES) and (listen_url or "").startswith(POSTGRES_SCHEMES)
    if listen_url is not None and not both:
        raise DomainError(
            "VALIDATION_FAILED",
            "SANJI_DATABASE_LISTEN_URL is for PostgreSQL (postgres://...), beside a PostgreSQL "
            "SANJI_DATABASE_URL",
            field="SANJI_DATABASE_LISTEN_URL",
        )
    return listen_url


def _read_url(env: Mapping[str, str], database_url: str) -> str | None:
    """SANJI_DATABASE_READ_URL: a replica of a PostgreSQL primary, or None."""
    read_url = env.get("SANJI_DATABASE_READ_URL", "").strip() or None
    if read_url is None:
        return None
    if not database_url.startswith(POSTGRES_SCHEMES):
        raise DomainError(
            "VALIDATION_FAILED",
            "SANJI_DATABASE_READ_URL is a PostgreSQL replica of a PostgreSQL primary; "
            "SANJI_DATABASE_URL is not PostgreSQL",
            field="SANJI_DATABASE_READ_URL",
        )
    if not read_url.startswith(POSTGRES_SCHEMES):
        raise DomainError(
            "VALIDATION_FAILED",
            "SANJI_DATABASE_READ_URL must start with postgres://",
            field="SANJI_DATABASE_READ_URL",
        )
    return read_url


def ui_client_key(env: Mapping[str, str], secret: str | None = None) -> str | None:
    """The key the admin UI signs its users' addresses with, and the API checks them with.

    SANJI_UI_CLIENT_KEY when set (production: the same on the API and the UI, which then needs no
    other secret); in dev, derived from the secret key; otherwise None (no claim is taken).
    """
    explicit = env.get("SANJI_UI_CLIENT_KEY")
    if explicit is not None:
        if len(explicit) < MIN_SECRET_LENGTH:
            raise DomainError(
                "VALIDATION_FAILED",
                f"SANJI_UI_CLIENT_KEY must be a random string of {MIN_SECRET_LENGTH}+ characters",
                field="SANJI_UI_CLIENT_KEY",
            )
        return explicit
    if env.get("SANJI_ENV", Env.DEV.value) != Env.DEV.value:
        return None
    if secret is None:
        secret = env.get("SANJI_SECRET_KEY") or installation_key(_key_file(env))
    return derived_key(secret)


def ui_signing(env: Mapping[str, str]) -> tuple[str | None, Networks]:
    """What the admin UI signs with: the UI client key, and the proxies in front of the UI itself
    (SANJI_UI_TRUSTED_PROXIES), whose X-Forwarded-For names the person at the browser."""
    return ui_client_key(env), networks(_networks(env, "SANJI_UI_TRUSTED_PROXIES"))


def _key_file(env: Mapping[str, str]) -> Path:
    """SANJI_SECRET_KEY_FILE, else the user's configuration directory (XDG): the same key from
    whatever directory a command is started in."""
    if env.get("SANJI_SECRET_KEY_FILE"):
        return Path(env["SANJI_SECRET_KEY_FILE"])
    config = env.get("XDG_CONFIG_HOME")
    return (Path(config) if config else Path.home() / ".config") / "sanji" / "secret.key"


def installation_key(path: Path) -> str:
    """The key in `path`, made (random, readable by its owner only) the first time it is asked for.

    Workers starting together agree on one key: each writes its own candidate aside and links it
    into place, which only the first can do; every one then reads what is there.
    """
    try:
        if not path.exists():
            _make_key_file(path)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise DomainError(
            "VALIDATION_FAILED", f"cannot keep the key in {path}: {error}", field="SANJI_SECRET_KEY_FILE"
        ) from None
    if len(key) < MIN_SECRET_LENGTH:
        raise DomainError(
            "VALIDATION_FAILED",
            f"{path} holds a key of {len(key)} characters, not {MIN_SECRET_LENGTH}+; delete it to make a new "
            "one (tokens and query codes made with the old key stop working)",
            field="SANJI_SECRET_KEY_FILE",
        )
    return key


def _make_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass  # another process made it first: its key is the installation's
    finally:
        candidate.unlink()


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    entries = tuple(e.strip() for e in env.get(name, "").split(",") if e.strip())
    try:
        networks(entries)
    except ValueError as error:
        raise DomainError("VALIDATION_FAILED", f"{name}: {error}", field=name) from None
    return entries


def _hours(env: Mapping[str, str], name: str, default: float, most: float = 24 * 30) -> float:
    """A positive number (of hours, or seconds) up to `most`."""
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= most:
        raise DomainError(
            "VALIDATION_FAILED", f"{name} must be a number above 0, at most {most:g}, got {raw!r}", field=name
        )
    return value


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


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}.get(raw.lower())
    if value is None:
        raise DomainError("VALIDATION_FAILED", f"{name} must be true or false, got {raw!r}", field=name)
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 0:
        raise DomainError("VALIDATION_FAILED", f"{name} must be 0 (off) or more, got {value}", field=name)
    return value


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise DomainError("VALIDATION_FAILED", f"{name} must be 1 or more, got {value}", field=name)
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _int(env, name, default)
    if not 1 <= port <= 65535:
        raise DomainError("VALIDATION_FAILED", f"{name} must be 1-65535, got {port}", field=name)
    return port
