from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.server.settings import SettingsError, is_address, load_settings

BASE = {"DATABASE_URL": "postgresql://db/burnafter"}
HOOK = {"name": "ops", "url": "https://hooks.example.com/x", "secret": "s" * 32}


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
        settings.http_port = 1  # type: ignore[misc]  # the point: the assignment must fail


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
        ({**BASE, "CREATE_POLICY": "closed"}, "CREATE_POLICY"),
        ({**BASE, "MAX_EXPIRES_IN": "3600", "SSO_MAX_EXPIRES_IN": "7200"}, "SSO_MAX_EXPIRES_IN"),
        ({**BASE, "ANONYMOUS_MAX_VIEWS": "0"}, "ANONYMOUS_MAX_VIEWS"),
        ({**BASE, "WEBHOOKS": "{not json"}, "WEBHOOKS"),
        ({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "secret": "short"}])}, "WEBHOOKS ops"),
        ({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "url": "ftp://x/y"}])}, "WEBHOOKS ops"),
        ({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "format": "xml"}])}, "WEBHOOKS ops"),
        ({**BASE, "WEBHOOKS": json.dumps([HOOK, HOOK])}, "WEBHOOKS"),
        ({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "name": "Ops Team"}])}, "WEBHOOKS"),
        ({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "extra": 1}])}, "WEBHOOKS"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_defaults_argument_yields_to_the_environment() -> None:
    settings = load_settings(
        {**BASE, "HTTP_PORT": "9000"}, defaults={"HTTP_PORT": "1", "HTTP_HOST": "127.0.0.1"}
    )
    assert settings.http_port == 9000
    assert settings.http_host == "127.0.0.1"


def test_sender_limits_default_to_the_global_ones() -> None:
    settings = load_settings({**BASE, "ANONYMOUS_MAX_EXPIRES_IN": "3600"})
    assert settings.limits_for("anonymous").max_expires_in == 3600
    assert settings.limits_for("sso").max_expires_in == settings.limits.max_expires_in
    assert settings.limits_for("token").max_views == settings.limits.max_views
    assert settings.create_policy == "open"


def test_webhooks_parse_into_endpoints() -> None:
    settings = load_settings({**BASE, "WEBHOOKS": json.dumps([{**HOOK, "format": "slack"}])})
    (hook,) = settings.webhooks
    assert (hook.name, hook.format, hook.secret) == ("ops", "slack", b"s" * 32)


def test_any_setting_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("postgresql://u:p@db/burnafter\n")
    (tmp_path / "key").write_text("k" * 40)
    settings = load_settings(
        {"DATABASE_URL_FILE": str(tmp_path / "url"), "AUDIT_KEY_FILE": str(tmp_path / "key")}
    )
    assert settings.database_url == "postgresql://u:p@db/burnafter"  # its newline dropped
    assert settings.audit_key == b"k" * 40 and not settings.audit_key_ephemeral
    with pytest.raises(SettingsError, match="set AUDIT_KEY or AUDIT_KEY_FILE, not both"):
        load_settings({**BASE, "AUDIT_KEY": "k" * 40, "AUDIT_KEY_FILE": str(tmp_path / "key")})
    with pytest.raises(SettingsError, match="SMTP_PASSWORD_FILE: cannot read") as refused:
        load_settings({**BASE, "SMTP_PASSWORD_FILE": str(tmp_path / "absent")})
    assert "k" * 40 not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("dana@example.test", True),
        ("first.last+tag@mail.example.com", True),
        ("dana", False),
        ("a@b", False),
        ("a:b@c.d", False),  # a group: the email library would send to b@c.d
        ("a(b@c.d", False),  # a comment
        ('a"b@c.d', False),
        ("<a@b.c>", False),
        ("a@b.c, d@e.f", False),
        ("é@example.test", False),
        ("a@b.c\r\nBcc: x@y.z", False),
        ("x" * 250 + "@y.test", False),
    ],
)
def test_only_a_plain_address_is_an_address(text: str, plain: bool) -> None:
    assert is_address(text) is plain
