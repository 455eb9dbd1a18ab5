import pytest

from api.errors import DomainError
from api.settings import Env, Settings


def test_defaults_use_the_embedded_sqlite_file():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite://sanji.db"
    assert settings.env == Env.DEV
    assert settings.api_url == "http://127.0.0.1:8000"


def test_environment_overrides_are_read():
    settings = Settings.from_env(
        {"SANJI_DATABASE_URL": "postgres://u@h/db", "SANJI_API_PORT": "9000", "SANJI_UI_PORT": "9501"}
    )
    assert settings.database_url == "postgres://u@h/db"
    assert settings.api_port == 9000
    assert settings.api_url == "http://127.0.0.1:9000"
    assert settings.ui_port == 9501


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({"SANJI_ENV": "staging"}, "SANJI_ENV"),
        ({"SANJI_API_PORT": "eighty"}, "SANJI_API_PORT"),
        ({"SANJI_UI_PORT": "70000"}, "SANJI_UI_PORT"),
        ({"SANJI_ENV": "production"}, "SANJI_SECRET_KEY"),
        ({"SANJI_RATE_LIMIT_PER_MINUTE": "lots"}, "SANJI_RATE_LIMIT_PER_MINUTE"),
        ({"SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "-1"}, "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(environ, field):
    with pytest.raises(DomainError) as error:
        Settings.from_env(environ)
    assert error.value.field == field


def test_rate_limits_default_to_600_per_caller_and_120_per_address_and_0_turns_them_off():
    assert Settings.from_env({}).rate_limit_per_minute == 600
    assert Settings.from_env({}).rate_limit_anonymous_per_minute == 120
    settings = Settings.from_env(
        {"SANJI_RATE_LIMIT_PER_MINUTE": "0", "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "30"}
    )
    assert (settings.rate_limit_per_minute, settings.rate_limit_anonymous_per_minute) == (0, 30)


def test_a_bad_rate_limit_is_refused_with_a_clear_message():
    with pytest.raises(DomainError) as error:
        Settings.from_env({"SANJI_RATE_LIMIT_PER_MINUTE": "-5"})
    assert error.value.code == "VALIDATION_FAILED"
    assert error.value.message == "SANJI_RATE_LIMIT_PER_MINUTE must be 0 (off) or more, got -5"


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
