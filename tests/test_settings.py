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
    ],
)
def test_bad_settings_are_refused_naming_the_variable(environ, field):
    with pytest.raises(DomainError) as error:
        Settings.from_env(environ)
    assert error.value.field == field


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
