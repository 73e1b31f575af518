from __future__ import annotations

import pytest

from services.common.settings import SettingsError, load_settings

BASE = {"DATABASE_URL": "postgresql://db/burnafter"}


def test_defaults_are_safe() -> None:
    settings = load_settings(BASE)
    assert settings.limits.max_ciphertext_bytes == 1024 * 1024
    assert settings.limits.max_views == 100
    assert (settings.limits.min_expires_in, settings.limits.max_expires_in) == (60, 30 * 86400)
    assert settings.limits.default_expires_in == 7 * 86400
    assert settings.limits.max_attempts == 5
    assert settings.trusted_proxies == ()
    assert settings.client_address_policy == "truncated"


def test_settings_are_frozen() -> None:
    settings = load_settings(BASE)
    with pytest.raises(AttributeError):
        settings.http_port = 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "DATABASE_URL"),
        ({**BASE, "HTTP_PORT": "http"}, "HTTP_PORT"),
        ({**BASE, "HTTP_PORT": "70000"}, "HTTP_PORT"),
        ({**BASE, "LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({**BASE, "TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({**BASE, "MIN_EXPIRES_IN": "600", "MAX_EXPIRES_IN": "60"}, "MAX_EXPIRES_IN"),
        ({**BASE, "DEFAULT_EXPIRES_IN": "10"}, "DEFAULT_EXPIRES_IN"),
        ({**BASE, "CLIENT_ADDRESS_POLICY": "all"}, "CLIENT_ADDRESS_POLICY"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env, named) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_defaults_argument_yields_to_the_environment() -> None:
    settings = load_settings(
        {**BASE, "HTTP_PORT": "9000"}, defaults={"HTTP_PORT": "1", "HTTP_HOST": "127.0.0.1"}
    )
    assert settings.http_port == 9000
    assert settings.http_host == "127.0.0.1"
