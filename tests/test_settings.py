import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.errors import DomainError
from api.settings import Env, Settings

ROOT = Path(__file__).resolve().parent.parent


def from_env(environ: dict[str, str]) -> Settings:
    """Settings from `environ`, given a key in dev so that no key file is made."""
    dev = environ.get("SANJI_ENV", "dev") == "dev"
    return Settings.from_env({"SANJI_SECRET_KEY": "t" * 32, **environ} if dev else environ)


@pytest.fixture
def key_file(tmp_path) -> Path:
    return tmp_path / "installation" / "secret.key"


def test_defaults_use_the_embedded_sqlite_file(key_file):
    settings = Settings.from_env({"SANJI_SECRET_KEY_FILE": str(key_file)})
    assert settings.database_url == "sqlite://sanji.db"
    assert settings.env == Env.DEV
    assert settings.api_url == "http://127.0.0.1:8000"


def test_environment_overrides_are_read():
    settings = from_env(
        {"SANJI_DATABASE_URL": "postgres://u@h/db", "SANJI_API_PORT": "9000", "SANJI_UI_PORT": "9501"}
    )
    assert settings.database_url == "postgres://u@h/db"
    assert settings.api_port == 9000
    assert settings.api_url == "http://127.0.0.1:9000"
    assert settings.ui_port == 9501
    assert settings.access_log is True
    assert from_env({"SANJI_ACCESS_LOG": "false"}).access_log is False
    assert settings.api_workers == 1 and from_env({"SANJI_API_WORKERS": "4"}).api_workers == 4
    assert settings.subscription_recheck_seconds == 30
    assert from_env({"SANJI_SUBSCRIPTION_RECHECK_SECONDS": "5"}).subscription_recheck_seconds == 5
    listening = {
        "SANJI_DATABASE_URL": "postgres://pgbouncer/sanji",
        "SANJI_DATABASE_LISTEN_URL": "postgres://db/sanji",
    }
    assert from_env(listening).database_listen_url == "postgres://db/sanji"


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({"SANJI_ENV": "staging"}, "SANJI_ENV"),
        ({"SANJI_API_PORT": "eighty"}, "SANJI_API_PORT"),
        ({"SANJI_UI_PORT": "70000"}, "SANJI_UI_PORT"),
        ({"SANJI_ENV": "production"}, "SANJI_SECRET_KEY"),
        ({"SANJI_RATE_LIMIT_PER_MINUTE": "lots"}, "SANJI_RATE_LIMIT_PER_MINUTE"),
        ({"SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "-1"}, "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE"),
        ({"SANJI_TRUSTED_PROXIES": "10.0.0.1, proxy.internal"}, "SANJI_TRUSTED_PROXIES"),
        ({"SANJI_MAX_BODY_BYTES": "0"}, "SANJI_MAX_BODY_BYTES"),
        ({"SANJI_ACCESS_LOG": "sometimes"}, "SANJI_ACCESS_LOG"),
        ({"SANJI_API_WORKERS": "0"}, "SANJI_API_WORKERS"),
        ({"SANJI_SUBSCRIPTION_RECHECK_SECONDS": "0"}, "SANJI_SUBSCRIPTION_RECHECK_SECONDS"),
        ({"SANJI_DATABASE_LISTEN_URL": "postgres://db/sanji"}, "SANJI_DATABASE_LISTEN_URL"),  # SQLite
    ],
)
def test_bad_settings_are_refused_naming_the_variable(environ, field):
    with pytest.raises(DomainError) as error:
        from_env(environ)
    assert error.value.field == field


def test_rate_limits_default_to_600_per_caller_and_120_per_address_and_0_turns_them_off():
    assert from_env({}).rate_limit_per_minute == 600
    assert from_env({}).rate_limit_anonymous_per_minute == 120
    settings = from_env({"SANJI_RATE_LIMIT_PER_MINUTE": "0", "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "30"})
    assert (settings.rate_limit_per_minute, settings.rate_limit_anonymous_per_minute) == (0, 30)


def test_a_bad_rate_limit_is_refused_with_a_clear_message():
    with pytest.raises(DomainError) as error:
        from_env({"SANJI_RATE_LIMIT_PER_MINUTE": "-5"})
    assert error.value.code == "VALIDATION_FAILED"
    assert error.value.message == "SANJI_RATE_LIMIT_PER_MINUTE must be 0 (off) or more, got -5"


def test_dev_keeps_one_key_per_installation_made_on_first_start(key_file):
    environ = {"SANJI_SECRET_KEY_FILE": str(key_file)}
    first = Settings.from_env(environ).secret_key
    assert len(first) >= 32 and "sanji" not in first
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o777 == 0o600  # its owner's only
    assert Settings.from_env(environ).secret_key == first  # a restart signs with the same key
    other = Settings.from_env({"SANJI_SECRET_KEY_FILE": str(key_file.with_name("other.key"))})
    assert other.secret_key != first  # another installation has a key of its own


def test_dev_keeps_the_key_in_the_users_configuration_whatever_the_working_directory(tmp_path):
    code = "from api.settings import Settings; print(Settings.from_env().secret_key)"
    environ = {k: v for k, v in os.environ.items() if k != "SANJI_SECRET_KEY_FILE"}
    environ |= {"PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    keys = set()
    for directory in ("one", "two"):
        (tmp_path / directory).mkdir()
        made = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path / directory,
            env=environ,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
        keys.add(made.stdout.strip())
    assert keys == {(tmp_path / "config" / "sanji" / "secret.key").read_text().strip()}


def test_workers_starting_together_agree_on_one_key(key_file):
    code = "from api.settings import Settings; print(Settings.from_env().secret_key)"
    environ = {**os.environ, "SANJI_SECRET_KEY_FILE": str(key_file), "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen([sys.executable, "-c", code], env=environ, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert keys == {key_file.read_text().strip()}
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no candidate left behind


def test_a_damaged_key_file_is_refused_with_what_to_do(key_file):
    key_file.parent.mkdir()
    key_file.write_text("short\n")
    with pytest.raises(DomainError) as error:
        Settings.from_env({"SANJI_SECRET_KEY_FILE": str(key_file)})
    assert error.value.field == "SANJI_SECRET_KEY_FILE"
    assert "holds a key of 5 characters, not 32+; delete it" in error.value.message


def test_an_explicit_key_wins_over_the_file_and_must_be_long(key_file):
    environ = {"SANJI_SECRET_KEY_FILE": str(key_file)}
    assert Settings.from_env({**environ, "SANJI_SECRET_KEY": "k" * 32}).secret_key == "k" * 32
    assert not key_file.exists()
    with pytest.raises(DomainError) as error:
        Settings.from_env({**environ, "SANJI_SECRET_KEY": "short"})
    assert error.value.field == "SANJI_SECRET_KEY"


def test_settings_built_in_code_have_a_key_of_their_own():
    assert Settings().secret_key != Settings().secret_key


def test_trusted_proxies_are_addresses_or_networks():
    settings = from_env({"SANJI_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1"})
    assert settings.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
    assert from_env({}).trusted_proxies == ()  # no forwarded address is believed by default


def test_production_accepts_a_long_secret():
    settings = Settings.from_env({"SANJI_ENV": "production", "SANJI_SECRET_KEY": "x" * 40})
    assert settings.is_production


def test_database_passwords_never_appear_in_messages():
    from api.db import redact_url, tortoise_config

    assert redact_url("postgres://sanji:s3cret@db:5432/sanji") == "postgres://sanji:***@db:5432/sanji"
    assert redact_url("sqlite://sanji.db") == "sqlite://sanji.db"
    with pytest.raises(DomainError) as error:
        tortoise_config("mysql://root:s3cret@db/sanji")
    assert "s3cret" not in error.value.message


def test_a_read_replica_is_for_a_postgresql_primary():
    primary = "postgres://sanji@db:5432/sanji"
    settings = from_env(
        {"SANJI_DATABASE_URL": primary, "SANJI_DATABASE_READ_URL": "postgres://sanji@replica/sanji"}
    )
    assert (settings.database_read_url, settings.read_your_writes_seconds) == (
        "postgres://sanji@replica/sanji",
        10,
    )
    assert from_env({"SANJI_DATABASE_URL": primary}).database_read_url is None
    for environ, says in (
        (
            {"SANJI_DATABASE_READ_URL": "postgres://sanji@replica/sanji"},
            "SANJI_DATABASE_URL is not PostgreSQL",
        ),
        ({"SANJI_DATABASE_URL": primary, "SANJI_DATABASE_READ_URL": "sqlite://copy.db"}, "must start with"),
    ):
        with pytest.raises(DomainError) as error:
            from_env(environ)
        assert error.value.field == "SANJI_DATABASE_READ_URL" and says in error.value.message
    with pytest.raises(DomainError) as error:
        from_env({"SANJI_DATABASE_URL": primary, "SANJI_READ_YOUR_WRITES_SECONDS": "-1"})
    assert error.value.field == "SANJI_READ_YOUR_WRITES_SECONDS"
