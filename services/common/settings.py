"""Settings: the environment, parsed once at start-up into frozen, typed objects.

This module is the only place that reads ``os.environ``. A missing or malformed
setting stops start-up with a message that names it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import urlsplit

KiB = 1024
MiB = 1024 * KiB
DAY = 86400

AddressPolicy = Literal["full", "truncated", "off"]
CreatePolicy = Literal["open", "sso", "sso-or-token"]
SenderKind = Literal["anonymous", "sso", "token"]
WebhookFormat = Literal["json", "slack"]
LogFormat = Literal["json", "console"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Limits:
    """What a sender may ask for, and how much any one client may do."""

    max_ciphertext_bytes: int = 1 * MiB
    max_views: int = 100
    min_expires_in: int = 60
    max_expires_in: int = 30 * DAY
    default_expires_in: int = 7 * DAY
    max_attempts: int = 5
    max_label_bytes: int = 1 * KiB
    max_stored_ciphertext_bytes: int = 10 * 1024 * MiB
    rate_limit_create: int = 60
    rate_limit_peek: int = 300
    rate_limit_reveal: int = 120


@dataclass(frozen=True)
class SenderLimits:
    """What one kind of sender may ask for, within the global :class:`Limits`."""

    max_expires_in: int
    max_views: int


@dataclass(frozen=True)
class Webhook:
    """An endpoint the operator configured. Senders pick endpoints by name; they
    never give a URL."""

    name: str
    url: str
    secret: bytes
    format: WebhookFormat = "json"


@dataclass(frozen=True)
class Settings:
    """Everything a server role needs, from the environment."""

    database_url: str
    db_pool_min: int = 1
    db_pool_max: int = 20
    db_statement_cache_size: int = 100
    db_timeout: float = 5.0
    body_timeout: float = 10.0
    http_host: str = "0.0.0.0"  # noqa: S104 - containers listen on every interface
    http_port: int = 8080
    log_format: LogFormat = "json"
    log_level: str = "INFO"
    limits: Limits = field(default_factory=Limits)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    client_address_policy: AddressPolicy = "truncated"
    receipt_retention: int = 7 * DAY
    reaper_interval: float = 30.0
    reaper_batch_size: int = 1000
    shutdown_grace: float = 10.0
    metrics_port: int = 9090
    audit_key: bytes = b""
    audit_key_ephemeral: bool = True
    admin_token: str = ""
    admin_users: frozenset[str] = frozenset()
    identity_header: str = "X-Forwarded-Email"
    groups_header: str = "X-Forwarded-Groups"
    admin_groups: frozenset[str] = frozenset()
    create_policy: CreatePolicy = "open"
    sender_limits: dict[SenderKind, SenderLimits] = field(default_factory=dict)
    webhooks: tuple[Webhook, ...] = ()
    webhook_interval: float = 1.0
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 5.0
    webhook_retry_max: float = 3600.0
    webhook_max_attempts: int = 25

    def limits_for(self, sender: SenderKind) -> SenderLimits:
        return self.sender_limits.get(
            sender, SenderLimits(self.limits.max_expires_in, self.limits.max_views)
        )


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, lo: N, hi: N, kind: type[N]) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__} number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return _number(env, name, default, lo, hi, int)


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    return _number(env, name, default, lo, hi, float)


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    raw = env.get(name, "")
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(
            f"{name} must be a comma-separated list of CIDR networks: {exc}"
        ) from None


def _audit_key(env: Mapping[str, str]) -> bytes:
    """The key that turns secret ids into audit references. Without one, each process
    makes its own, and references join only within that process's lines."""
    raw = env.get("AUDIT_KEY", "")
    if raw and len(raw) < 32:
        raise SettingsError("AUDIT_KEY must be at least 32 characters (openssl rand -hex 32)")
    return raw.encode() if raw else secrets.token_bytes(32)


def _admin_token(env: Mapping[str, str]) -> str:
    token = env.get("ADMIN_TOKEN", "")
    if token and len(token) < 24:
        raise SettingsError("ADMIN_TOKEN must be at least 24 characters (openssl rand -hex 24)")
    return token


def _names(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A comma-separated list, lower-cased."""
    return frozenset(item.strip().lower() for item in env.get(name, "").split(",") if item.strip())


def _sender_limits(env: Mapping[str, str], limits: Limits) -> dict[SenderKind, SenderLimits]:
    kinds: tuple[SenderKind, ...] = ("anonymous", "sso", "token")
    return {
        kind: SenderLimits(
            max_expires_in=_int(
                env,
                f"{kind.upper()}_MAX_EXPIRES_IN",
                limits.max_expires_in,
                limits.min_expires_in,
                limits.max_expires_in,
            ),
            max_views=_int(env, f"{kind.upper()}_MAX_VIEWS", limits.max_views, 1, limits.max_views),
        )
        for kind in kinds
    }


_WEBHOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _webhooks(env: Mapping[str, str]) -> tuple[Webhook, ...]:
    """``WEBHOOKS``: a JSON list of ``{"name", "url", "secret", "format"}``."""
    raw = env.get("WEBHOOKS", "").strip()
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except ValueError:
        raise SettingsError("WEBHOOKS must be a JSON list of endpoints") from None
    if not isinstance(entries, list):
        raise SettingsError("WEBHOOKS must be a JSON list of endpoints")
    hooks: list[Webhook] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - {"name", "url", "secret", "format"}:
            raise SettingsError("each WEBHOOKS entry has name, url, secret and format only")
        name, url = str(entry.get("name", "")), str(entry.get("url", ""))
        secret, fmt = str(entry.get("secret", "")), str(entry.get("format", "json"))
        if not _WEBHOOK_NAME.match(name) or name in {hook.name for hook in hooks}:
            raise SettingsError("each WEBHOOKS name is unique, lower case, up to 32 characters")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise SettingsError(f"WEBHOOKS {name}: url must be http(s)://host/...")
        if len(secret) < 32:
            raise SettingsError(f"WEBHOOKS {name}: secret must be at least 32 characters")
        if fmt not in ("json", "slack"):
            raise SettingsError(f"WEBHOOKS {name}: format is json or slack")
        hooks.append(Webhook(name, url, secret.encode(), fmt))  # type: ignore[arg-type]
    return tuple(hooks)


def load_limits(env: Mapping[str, str]) -> Limits:
    min_expires = _int(env, "MIN_EXPIRES_IN", 60, 1, 365 * DAY)
    max_expires = _int(env, "MAX_EXPIRES_IN", 30 * DAY, min_expires, 365 * DAY)
    limits = Limits(
        max_ciphertext_bytes=_int(env, "MAX_CIPHERTEXT_BYTES", 1 * MiB, 1 * KiB, 256 * MiB),
        max_views=_int(env, "MAX_VIEWS", 100, 1, 10_000),
        min_expires_in=min_expires,
        max_expires_in=max_expires,
        default_expires_in=_int(env, "DEFAULT_EXPIRES_IN", min(7 * DAY, max_expires), 1, 365 * DAY),
        max_attempts=_int(env, "MAX_ATTEMPTS", 5, 1, 100),
        max_stored_ciphertext_bytes=_int(
            env, "MAX_STORED_CIPHERTEXT_BYTES", 10 * 1024 * MiB, 0, 2**50
        ),
        rate_limit_create=_int(env, "RATE_LIMIT_CREATE", 60, 0, 1_000_000),
        rate_limit_peek=_int(env, "RATE_LIMIT_PEEK", 300, 0, 1_000_000),
        rate_limit_reveal=_int(env, "RATE_LIMIT_REVEAL", 120, 0, 1_000_000),
    )
    if not min_expires <= limits.default_expires_in <= max_expires:
        raise SettingsError("DEFAULT_EXPIRES_IN must lie between MIN_EXPIRES_IN and MAX_EXPIRES_IN")
    return limits


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, str] | None = None,
    require_database: bool = True,
) -> Settings:
    """Parse the environment (``os.environ`` by default) into :class:`Settings`.

    ``defaults`` stand in for variables the environment does not set (``make run``
    listens on loopback and logs for a console, for one).
    """
    env = {**(defaults or {}), **(os.environ if env is None else env)}
    database_url = env.get("DATABASE_URL", "")
    if require_database and not database_url:
        raise SettingsError("DATABASE_URL is required (postgresql://user:password@host:5432/db)")
    pool_min = _int(env, "DB_POOL_MIN", 1, 0, 1000)
    limits = load_limits(env)
    return Settings(
        database_url=database_url,
        db_pool_min=pool_min,
        db_pool_max=_int(env, "DB_POOL_MAX", 20, max(pool_min, 1), 1000),
        db_statement_cache_size=_int(env, "DB_STATEMENT_CACHE_SIZE", 100, 0, 100_000),
        db_timeout=_float(env, "DB_TIMEOUT", 5.0, 0.1, 300.0),
        body_timeout=_float(env, "BODY_TIMEOUT", 10.0, 0.1, 600.0),
        http_host=env.get("HTTP_HOST") or "0.0.0.0",  # noqa: S104
        http_port=_int(env, "HTTP_PORT", 8080, 0, 65535),
        log_format=_choice(env, "LOG_FORMAT", "json", ("json", "console")),  # type: ignore[arg-type]
        log_level=_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        limits=limits,
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        client_address_policy=_choice(  # type: ignore[arg-type]
            env, "CLIENT_ADDRESS_POLICY", "truncated", ("full", "truncated", "off")
        ),
        receipt_retention=_int(env, "RECEIPT_RETENTION", 7 * DAY, 0, 3650 * DAY),
        reaper_interval=_float(env, "REAPER_INTERVAL", 30.0, 0.1, 86400.0),
        reaper_batch_size=_int(env, "REAPER_BATCH_SIZE", 1000, 1, 100_000),
        shutdown_grace=_float(env, "SHUTDOWN_GRACE", 10.0, 0.0, 600.0),
        metrics_port=_int(env, "METRICS_PORT", 9090, 0, 65535),
        audit_key=_audit_key(env),
        audit_key_ephemeral=not env.get("AUDIT_KEY"),
        admin_token=_admin_token(env),
        admin_users=_names(env, "ADMIN_USERS"),
        identity_header=env.get("IDENTITY_HEADER") or "X-Forwarded-Email",
        groups_header=env.get("GROUPS_HEADER") or "X-Forwarded-Groups",
        admin_groups=_names(env, "ADMIN_GROUPS"),
        create_policy=_choice(  # type: ignore[arg-type]
            env, "CREATE_POLICY", "open", ("open", "sso", "sso-or-token")
        ),
        sender_limits=_sender_limits(env, limits),
        webhooks=_webhooks(env),
        webhook_interval=_float(env, "WEBHOOK_INTERVAL", 1.0, 0.05, 3600.0),
        webhook_timeout=_float(env, "WEBHOOK_TIMEOUT", 10.0, 0.1, 120.0),
        webhook_retry_base=_float(env, "WEBHOOK_RETRY_BASE", 5.0, 0.01, 3600.0),
        webhook_retry_max=_float(env, "WEBHOOK_RETRY_MAX", 3600.0, 0.01, 86400.0),
        webhook_max_attempts=_int(env, "WEBHOOK_MAX_ATTEMPTS", 25, 1, 1000),
    )


@dataclass(frozen=True)
class ClientSettings:
    """Defaults for the ``burnafter`` client commands."""

    server: str = "http://127.0.0.1:8080"
    timeout: float = 30.0
    api_token: str | None = None


def _api_token(env: Mapping[str, str]) -> str | None:
    """``BURNAFTER_TOKEN``, or the first line of the file ``BURNAFTER_TOKEN_FILE``:
    never a flag, which would land in shell history and process lists."""
    if env.get("BURNAFTER_TOKEN"):
        return env["BURNAFTER_TOKEN"].strip()
    path = env.get("BURNAFTER_TOKEN_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            token = file.readline().strip()
    except OSError as exc:
        raise SettingsError(f"BURNAFTER_TOKEN_FILE cannot be read ({exc.strerror})") from None
    return token or None


def load_client_settings(env: Mapping[str, str] | None = None) -> ClientSettings:
    env = os.environ if env is None else env
    return ClientSettings(
        server=env.get("BURNAFTER_SERVER") or ClientSettings.server,
        timeout=_float(env, "BURNAFTER_TIMEOUT", 30.0, 0.1, 3600.0),
        api_token=_api_token(env),
    )
