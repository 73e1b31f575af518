"""Settings: the environment, parsed once at start-up into frozen, typed objects.

This module is the only place that reads ``os.environ``. A missing or malformed
setting stops start-up with a message that names it.

:data:`SETTINGS` is the one table of every server setting: its variable, parser,
default, bounds or choices and a line of documentation. :func:`load_settings`
builds :class:`Settings` from it, and ``python -m tools.settings_doc`` writes the
README's table and ``.env.example`` from it. The attribute a setting fills is its
variable in lower case (``DB_POOL_MAX`` fills ``Settings.db_pool_max``,
``MAX_VIEWS`` fills ``Limits.max_views``, ``SSO_MAX_VIEWS`` fills
``sender_limits["sso"].max_views``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

KiB = 1024
MiB = 1024 * KiB
DAY = 86400

AddressPolicy = Literal["full", "truncated", "off"]
CreatePolicy = Literal["open", "sso", "sso-or-token"]
SenderKind = Literal["anonymous", "sso", "token"]
WebhookFormat = Literal["json", "slack"]
LogFormat = Literal["json", "console"]
SmtpSecurity = Literal["starttls", "tls", "none"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SENDER_KINDS: tuple[SenderKind, ...] = ("anonymous", "sso", "token")


# An address: one @, a dot in its domain, and none of what would make a header of
# it say something else (spaces, brackets, quotes, group and comment syntax).
EMAIL_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
)


def is_address(text: str) -> bool:
    """Whether ``text`` is a plain email address, ASCII, at most 254 characters, that
    the standard library's ``email`` reads back as itself."""
    if len(text) > 254 or not EMAIL_ADDRESS.match(text):
        return False
    try:
        return Address(addr_spec=text).addr_spec == text
    except (ValueError, IndexError):
        return False


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Of:
    """A bound or default that is the value of an earlier setting of the table."""

    name: str


Bound = int | float | Of | None
# A parser turns the variable's text ("" when unset) into its value; it sees the
# row and the values of the settings before it in the table.
Parser = Callable[[str, "Setting", Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Setting:
    """One row of the table: one environment variable."""

    name: str  # the variable; it fills the attribute of its name in lower case
    parse: Parser
    default: Any  # the value when the variable is unset or empty
    doc: str  # one line, for README.md and .env.example
    lo: Bound = None  # a number's bounds, inclusive
    hi: Bound = None
    choices: tuple[str, ...] = ()  # a choice's allowed values
    shown: str = ""  # how the docs show the default, when not the value itself
    compose: bool = False  # docker compose passes it from .env, so .env.example lists it


def _resolve(value: Any, earlier: Mapping[str, Any]) -> Any:
    return earlier[value.name] if isinstance(value, Of) else value


def _number(raw: str, row: Setting, earlier: Mapping[str, Any], kind: type[float]) -> Any:
    if not raw:
        return _resolve(row.default, earlier)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{row.name} must be a {kind.__name__} number, got {raw!r}") from None
    lo, hi = _resolve(row.lo, earlier), _resolve(row.hi, earlier)
    if not lo <= value <= hi:
        raise SettingsError(f"{row.name} must be between {lo} and {hi}, got {value}")
    return value


def integer(raw: str, row: Setting, earlier: Mapping[str, Any]) -> int:
    """A whole number between ``lo`` and ``hi``."""
    return int(_number(raw, row, earlier, int))


def number(raw: str, row: Setting, earlier: Mapping[str, Any]) -> float:
    """A number between ``lo`` and ``hi``."""
    return float(_number(raw, row, earlier, float))


def text(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    return raw or str(row.default)


def choice(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    value = raw or str(_resolve(row.default, earlier))
    if value not in row.choices:
        raise SettingsError(f"{row.name} must be one of {', '.join(row.choices)}, got {value!r}")
    return value


def bounded_text(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    """Text of at most ``hi`` characters, without control characters."""
    value = raw.strip() or str(row.default)
    control = any(ord(c) < 32 or ord(c) == 127 for c in value)
    if len(value) > int(_resolve(row.hi, earlier)) or control:
        raise SettingsError(f"{row.name} must be one line of at most {row.hi} characters")
    return value


HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def colour(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    """A colour as #rrggbb."""
    value = raw.strip() or str(row.default)
    if not HEX_COLOUR.match(value):
        raise SettingsError(f"{row.name} must be a colour as #rrggbb, got {value!r}")
    return value.lower()


def link(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    """An https:, http: or mailto: address a page may link to, or nothing."""
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http", "mailto") or not (parts.netloc or parts.path):
        raise SettingsError(f"{row.name} must be an https:, http: or mailto: address")
    if len(value) > 2000 or any(c.isspace() or c in '<>"' for c in value):
        raise SettingsError(f"{row.name} must be one address of at most 2000 characters")
    return value


BRAND_LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


def logo_file(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    """The path of an image file the web service serves as the logo, or nothing."""
    if not raw:
        return ""
    path = Path(raw)
    if path.suffix.lower() not in BRAND_LOGO_TYPES:
        raise SettingsError(f"{row.name} must be a {', '.join(BRAND_LOGO_TYPES)} file")
    if not path.is_file() or path.stat().st_size > int(_resolve(row.hi, earlier)):
        raise SettingsError(f"{row.name} must be a readable file of at most {row.hi} bytes")
    return raw


def names(raw: str, row: Setting, earlier: Mapping[str, Any]) -> frozenset[str]:
    """A comma-separated list, lower-cased."""
    return frozenset(item.strip().lower() for item in raw.split(",") if item.strip())


def networks(raw: str, row: Setting, earlier: Mapping[str, Any]) -> tuple[IPNetwork, ...]:
    """A comma-separated list of CIDR networks."""
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(
            f"{row.name} must be a comma-separated list of CIDR networks: {exc}"
        ) from None


def pool_max(raw: str, row: Setting, earlier: Mapping[str, Any]) -> int:
    """DB_POOL_MAX: an integer, and at least DB_POOL_MIN."""
    value = integer(raw, row, earlier)
    if value < earlier["DB_POOL_MIN"]:
        raise SettingsError(f"DB_POOL_MAX must be at least DB_POOL_MIN, got {value}")
    return value


def segment_size(raw: str, row: Setting, earlier: Mapping[str, Any]) -> int:
    """SEGMENT_SIZE: a whole number of KiB, between ``lo`` and ``hi`` (protocol v2)."""
    value = integer(raw, row, earlier)
    if value % KiB:
        raise SettingsError(f"SEGMENT_SIZE must be a multiple of 1024, got {value}")
    return value


def default_expires_in(raw: str, row: Setting, earlier: Mapping[str, Any]) -> int:
    """DEFAULT_EXPIRES_IN: its default yields to a shorter MAX_EXPIRES_IN, and it
    lies between MIN_EXPIRES_IN and MAX_EXPIRES_IN."""
    low, high = earlier["MIN_EXPIRES_IN"], earlier["MAX_EXPIRES_IN"]
    value = integer(raw, row, earlier) if raw else min(row.default, high)
    if not low <= value <= high:
        raise SettingsError("DEFAULT_EXPIRES_IN must lie between MIN_EXPIRES_IN and MAX_EXPIRES_IN")
    return value


def audit_key(raw: str, row: Setting, earlier: Mapping[str, Any]) -> bytes:
    """The key that turns secret ids into audit references. Without one, each process
    makes its own, and references join only within that process's lines."""
    if raw and len(raw) < 32:
        raise SettingsError("AUDIT_KEY must be at least 32 characters (openssl rand -hex 32)")
    return raw.encode() if raw else secrets.token_bytes(32)


def smtp_from(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    """SMTP_FROM: an address, needed once SMTP_HOST is set."""
    if earlier["SMTP_HOST"] and not is_address(raw):
        raise SettingsError("SMTP_FROM must be the address notices come from, as name@domain")
    return raw


def admin_token(raw: str, row: Setting, earlier: Mapping[str, Any]) -> str:
    if raw and len(raw) < 24:
        raise SettingsError("ADMIN_TOKEN must be at least 24 characters (openssl rand -hex 24)")
    return raw


_WEBHOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def webhooks(raw: str, row: Setting, earlier: Mapping[str, Any]) -> tuple[Webhook, ...]:
    """``WEBHOOKS``: a JSON list of ``{"name", "url", "secret", "format"}``."""
    if not raw.strip():
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
        hooks.append(Webhook(name, url, secret.encode(), cast(WebhookFormat, fmt)))
    return tuple(hooks)


_S = Setting
_PER_MINUTE = "a minute per client address (IPv4 address, IPv6 /64) and api process"
_BEHIND_PROXY = "believed only from `TRUSTED_PROXIES`"

# Every server setting, in the order they are parsed: a bound or default that is
# Of(another setting) names one above it.
SETTINGS: tuple[Setting, ...] = (
    _S("DATABASE_URL", text, "", "`postgresql://user:password@host:5432/db`",
       shown="(required; `make run` starts an embedded PostgreSQL without it)"),
    _S("DB_POOL_MIN", integer, 1, "connections each process keeps open", 0, 1000),
    _S("DB_POOL_MAX", pool_max, 20, "connection pool size per process; keep it at or above "
       "the requests a process has in flight (docs/performance.md)", 1, 1000),
    _S("DB_STATEMENT_CACHE_SIZE", integer, 100, "asyncpg prepared-statement cache; "
       "set `0` behind PgBouncer in transaction mode", 0, 100_000),
    _S("DB_TIMEOUT", number, 5.0, "seconds a connect or a statement may take; "
       "past it the request gets 503, never a hang", 0.1, 300.0),
    _S("BODY_TIMEOUT", number, 10.0, "seconds a request body may take to arrive; "
       "a slower client gets 408", 0.1, 600.0),
    _S("HTTP_HOST", text, "0.0.0.0", "where api and web listen (`make run`: `127.0.0.1`)"),  # noqa: S104
    _S("HTTP_PORT", integer, 8080, "the port api and web listen on", 0, 65535),
    _S("API_WORKERS", integer, 1, "processes `burnafter api` serves `HTTP_PORT` with, one "
       "per core to use (docs/operations.md)", 1, 64),
    _S("WEB_WORKERS", integer, 1, "processes `burnafter web` serves `HTTP_PORT` with", 1, 64),
    _S("LOG_FORMAT", choice, "json", "`json` lines or a readable `console` "
       "(`make run`: `console`)", choices=("json", "console")),
    _S("LOG_LEVEL", choice, "INFO", "the least severe level logged",
       choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    _S("MAX_CIPHERTEXT_BYTES", integer, 1 * MiB, "largest protocol v1 ciphertext "
       "accepted, from clients older than protocol v2 (`POST /secrets`); at least 4 KiB",
       4 * KiB, 256 * MiB),
    _S("MAX_CONTENT_BYTES", integer, 100 * MiB, "the most a secret may hold, text and files "
       "together (100 MiB), as the pages, `GET /limits` and the CLI say it", 4 * KiB,
       64 * 1024 * MiB),
    _S("SEGMENT_SIZE", segment_size, 1 * MiB, "bytes of a secret per segment: clients seal, "
       "upload and download in segments this large (a multiple of 1024); the body of one "
       "upload request", 1 * KiB, 4 * MiB),
    _S("UPLOAD_SECONDS", integer, 6 * 3600, "seconds a sender has to upload every segment "
       "of a secret and finalize it; an unfinished upload is then reaped (6 hours)", 60,
       7 * DAY),
    _S("DOWNLOAD_SECONDS", integer, 3600, "seconds a recipient's download grant lasts, "
       "to fetch every segment of a secret after the view (1 hour)", 10, DAY),
    _S("MAX_VIEWS", integer, 100, "largest `max_views` a sender may ask for", 1, 10_000),
    _S("MIN_EXPIRES_IN", integer, 60, "shortest lifetime in seconds a sender may ask for "
       "(1 minute)", 1, 365 * DAY),
    _S("MAX_EXPIRES_IN", integer, 30 * DAY, "longest lifetime in seconds a sender may ask for "
       "(30 days)", Of("MIN_EXPIRES_IN"), 365 * DAY),
    _S("DEFAULT_EXPIRES_IN", default_expires_in, 7 * DAY, "lifetime when the sender gives "
       "none (7 days, or `MAX_EXPIRES_IN` if shorter)", 1, 365 * DAY),
    _S("MAX_ATTEMPTS", integer, 5, "wrong passphrases before a secret is destroyed "
       "(also the most a sender may ask for)", 1, 100),
    _S("MAX_RECIPIENTS", integer, 50, "links one share may have, one per recipient, all to "
       "the one content (protocol v2)", 1, 1000),
    _S("MAX_STORED_CIPHERTEXT_BYTES", integer, 10 * 1024 * MiB, "cap on the ciphertext of "
       "all live secrets (10 GiB); a create past it gets 507. `0` turns it off", 0, 2**50),
    _S("MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER", integer, 1024 * MiB, "cap on the "
       "ciphertext of one sender's live secrets (1 GiB): per API token or signed-in user, "
       "per address for anonymous senders; a create past it gets 507. Needs the same "
       "`AUDIT_KEY` on every api replica. `0` turns it off", 0, 2**50),
    _S("RATE_LIMIT_CREATE", integer, 60, f"create requests {_PER_MINUTE}; over it, 429 with "
       "`Retry-After`. `0` turns it off", 0, 1_000_000),
    _S("RATE_LIMIT_PEEK", integer, 300, f"peek requests {_PER_MINUTE} (`GET /limits` counts "
       "here too); `0` turns it off", 0, 1_000_000),
    _S("RATE_LIMIT_REVEAL", integer, 120, f"reveal requests {_PER_MINUTE}; `0` turns it off",
       0, 1_000_000),
    _S("RATE_LIMIT_RECEIPT", integer, 120, f"receipt reads and revokes {_PER_MINUTE}; `0` "
       "turns it off", 0, 1_000_000),
    _S("RATE_LIMIT_ADMIN_SIGN_IN", integer, 10, f"wrong `ADMIN_TOKEN`s {_PER_MINUTE}; over "
       "it, every token from that address gets 429 with `Retry-After`. `0` turns it off",
       0, 1_000_000),
    _S("TRUSTED_PROXIES", networks, (), "comma-separated CIDRs whose `X-Forwarded-For` "
       "is believed"),
    _S("CLIENT_ADDRESS_POLICY", choice, "truncated", "what access events keep of a client "
       "address: `full`, `truncated` (/24 and /48) or `off`",
       choices=("full", "truncated", "off"), compose=True),
    _S("RECEIPT_RETENTION", integer, 7 * DAY, "seconds a receipt is kept after its secret "
       "ended (7 days)", 0, 3650 * DAY),
    _S("REAPER_INTERVAL", number, 30.0, "seconds between reaper passes (`make run`: `10`)",
       0.1, 86400.0),
    _S("REAPER_BATCH_SIZE", integer, 1000, "rows per reaper statement", 1, 100_000),
    _S("SHUTDOWN_DRAIN", number, 0.0, "seconds the api and web keep serving after SIGTERM, "
       "with `/readyz` answering 503, before they stop accepting: time for load balancers "
       "to take them out (Helm: `5`)", 0.0, 300.0),
    _S("SHUTDOWN_GRACE", number, 10.0, "seconds in-flight requests get to finish "
       "after SIGTERM and the drain", 0.0, 600.0),
    _S("METRICS_PORT", integer, 9090, "Prometheus metrics at `/metrics` on this port, apart "
       "from the public one; `0` turns it off", 0, 65535),
    _S("AUDIT_KEY", audit_key, b"", "32+ characters (openssl rand -hex 32); keys the "
       "`secret_ref` of audit lines. Set the same value on every service so lines join",
       shown="(random per process)", compose=True),
    _S("ADMIN_TOKEN", admin_token, "", "24+ characters (openssl rand -hex 24); opens "
       "`/admin` (HTTP Basic password or Bearer)", shown="(none: `/admin` off)", compose=True),
    _S("ADMIN_USERS", names, frozenset(), "comma-separated signed-in users allowed "
       "into `/admin`", compose=True),
    _S("ADMIN_GROUPS", names, frozenset(), "comma-separated groups whose signed-in members "
       "may enter `/admin`", compose=True),
    _S("IDENTITY_HEADER", text, "X-Forwarded-Email", "where an identity-aware proxy puts "
       f"the signed-in user; {_BEHIND_PROXY}, ignored (and logged) from anyone else"),
    _S("GROUPS_HEADER", text, "X-Forwarded-Groups", "where an identity-aware proxy puts "
       f"the user's comma-separated groups; {_BEHIND_PROXY}"),
    _S("CREATE_POLICY", choice, "open", "who may create: `open` (anyone), `sso` (signed-in "
       "users) or `sso-or-token` (and API tokens); opening a link never needs an account",
       choices=("open", "sso", "sso-or-token"), compose=True),
    _S("REQUEST_POLICY", choice, Of("CREATE_POLICY"), "who may ask for a secret (a "
       "request, protocol v2): the same choices; answering one never needs an account",
       choices=("open", "sso", "sso-or-token"), compose=True),
    _S("ANONYMOUS_MAX_EXPIRES_IN", integer, Of("MAX_EXPIRES_IN"), "the longest lifetime "
       "an anonymous sender may ask for", Of("MIN_EXPIRES_IN"), Of("MAX_EXPIRES_IN"),
       compose=True),
    _S("ANONYMOUS_MAX_VIEWS", integer, Of("MAX_VIEWS"), "the most views an anonymous "
       "sender may ask for", 1, Of("MAX_VIEWS"), compose=True),
    _S("SSO_MAX_EXPIRES_IN", integer, Of("MAX_EXPIRES_IN"), "the longest lifetime "
       "a signed-in user may ask for", Of("MIN_EXPIRES_IN"), Of("MAX_EXPIRES_IN")),
    _S("SSO_MAX_VIEWS", integer, Of("MAX_VIEWS"), "the most views a signed-in user "
       "may ask for", 1, Of("MAX_VIEWS")),
    _S("TOKEN_MAX_EXPIRES_IN", integer, Of("MAX_EXPIRES_IN"), "the longest lifetime "
       "an API token may ask for", Of("MIN_EXPIRES_IN"), Of("MAX_EXPIRES_IN")),
    _S("TOKEN_MAX_VIEWS", integer, Of("MAX_VIEWS"), "the most views an API token "
       "may ask for", 1, Of("MAX_VIEWS")),
    _S("WEBHOOKS", webhooks, (), "JSON list of endpoints senders may ask to notify: "
       '`[{"name": "ops", "url": "https://…", "secret": "32+ characters", '
       '"format": "json"}]`, format `json` or `slack` (docs/webhooks.md)', compose=True),
    _S("WEBHOOK_INTERVAL", number, 1.0, "seconds between outbox polls of the reaper",
       0.05, 3600.0),
    _S("WEBHOOK_TIMEOUT", number, 10.0, "seconds an endpoint gets to answer", 0.1, 120.0),
    _S("WEBHOOK_RETRY_BASE", number, 5.0, "backoff: a failed delivery waits "
       "`WEBHOOK_RETRY_BASE * 2**attempts` seconds, less a random part of up to half", 0.01,
       3600.0),
    _S("WEBHOOK_RETRY_MAX", number, 3600.0, "backoff: the longest wait between two tries",
       0.01, 86400.0),
    _S("WEBHOOK_MAX_ATTEMPTS", integer, 25, "attempts before a delivery (webhook or email) "
       "is given up", 1, 1000),
    _S("SMTP_HOST", text, "", "the SMTP relay through which the reaper emails a signed-in "
       "asker, at their own address, that their request was answered (docs/operations.md)",
       shown="(none: no email notices)", compose=True),
    _S("SMTP_PORT", integer, 587, "the relay's port", 1, 65535, compose=True),
    _S("SMTP_SECURITY", choice, "starttls", "`starttls`, `tls` (implicit, port 465) or "
       "`none` (a relay on the same host or network only)", choices=("starttls", "tls", "none"),
       compose=True),
    _S("SMTP_USERNAME", text, "", "the relay's user, if it wants one", compose=True),
    _S("SMTP_PASSWORD", text, "", "the relay's password (keep it in a secret)", compose=True),
    _S("SMTP_FROM", smtp_from, "", "the address notices come from; needed with SMTP_HOST",
       compose=True),
    _S("BRAND_NAME", bounded_text, "burnafter", "the product name the pages show",
       hi=40, compose=True),
    _S("BRAND_LOGO", logo_file, "", "an image file (svg, png, webp, jpeg; at most 512 KiB) the "
       "web service serves as the logo and icon", hi=512 * KiB, shown="(burnafter's)"),
    _S("BRAND_ACCENT", colour, "#c2410c", "the accent colour, `#rrggbb`; made darker or lighter "
       "where text on it or beside it would miss WCAG AA contrast, with a warning at start-up",
       compose=True),
    _S("BRAND_HELP_URL", link, "", "a help or support link (https:, http: or mailto:) in "
       "every page's footer", shown="(none)", compose=True),
    _S("BRAND_FOOTER", bounded_text, "", "a line of text in every page's footer", hi=200,
       shown="(none)", compose=True),
)  # fmt: skip
BY_NAME: dict[str, Setting] = {row.name: row for row in SETTINGS}


def _default(name: str) -> Any:
    """A dataclass field's default: the table's."""
    return BY_NAME[name].default


@dataclass(frozen=True)
class Limits:
    """What a sender may ask for, and how much any one client may do."""

    max_ciphertext_bytes: int = _default("MAX_CIPHERTEXT_BYTES")
    max_content_bytes: int = _default("MAX_CONTENT_BYTES")
    segment_size: int = _default("SEGMENT_SIZE")
    upload_seconds: int = _default("UPLOAD_SECONDS")
    download_seconds: int = _default("DOWNLOAD_SECONDS")
    max_views: int = _default("MAX_VIEWS")
    min_expires_in: int = _default("MIN_EXPIRES_IN")
    max_expires_in: int = _default("MAX_EXPIRES_IN")
    default_expires_in: int = _default("DEFAULT_EXPIRES_IN")
    max_attempts: int = _default("MAX_ATTEMPTS")
    max_recipients: int = _default("MAX_RECIPIENTS")
    max_label_bytes: int = 1 * KiB  # not a setting
    max_stored_ciphertext_bytes: int = _default("MAX_STORED_CIPHERTEXT_BYTES")
    max_stored_ciphertext_bytes_per_sender: int = _default("MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER")
    rate_limit_create: int = _default("RATE_LIMIT_CREATE")
    rate_limit_peek: int = _default("RATE_LIMIT_PEEK")
    rate_limit_reveal: int = _default("RATE_LIMIT_REVEAL")
    rate_limit_receipt: int = _default("RATE_LIMIT_RECEIPT")
    rate_limit_admin_sign_in: int = _default("RATE_LIMIT_ADMIN_SIGN_IN")


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
    db_pool_min: int = _default("DB_POOL_MIN")
    db_pool_max: int = _default("DB_POOL_MAX")
    db_statement_cache_size: int = _default("DB_STATEMENT_CACHE_SIZE")
    db_timeout: float = _default("DB_TIMEOUT")
    body_timeout: float = _default("BODY_TIMEOUT")
    http_host: str = _default("HTTP_HOST")
    http_port: int = _default("HTTP_PORT")
    api_workers: int = _default("API_WORKERS")
    web_workers: int = _default("WEB_WORKERS")
    log_format: LogFormat = _default("LOG_FORMAT")  # noqa: RUF009 - on purpose
    log_level: str = _default("LOG_LEVEL")
    limits: Limits = field(default_factory=Limits)
    trusted_proxies: tuple[IPNetwork, ...] = _default("TRUSTED_PROXIES")
    client_address_policy: AddressPolicy = _default("CLIENT_ADDRESS_POLICY")  # noqa: RUF009 - on purpose
    receipt_retention: int = _default("RECEIPT_RETENTION")
    reaper_interval: float = _default("REAPER_INTERVAL")
    reaper_batch_size: int = _default("REAPER_BATCH_SIZE")
    shutdown_drain: float = _default("SHUTDOWN_DRAIN")
    shutdown_grace: float = _default("SHUTDOWN_GRACE")
    metrics_port: int = _default("METRICS_PORT")
    audit_key: bytes = _default("AUDIT_KEY")
    audit_key_ephemeral: bool = True  # not a setting: AUDIT_KEY was not given
    admin_token: str = _default("ADMIN_TOKEN")
    admin_users: frozenset[str] = _default("ADMIN_USERS")
    identity_header: str = _default("IDENTITY_HEADER")
    groups_header: str = _default("GROUPS_HEADER")
    admin_groups: frozenset[str] = _default("ADMIN_GROUPS")
    create_policy: CreatePolicy = _default("CREATE_POLICY")  # noqa: RUF009 - on purpose
    request_policy: CreatePolicy = _default("REQUEST_POLICY")  # noqa: RUF009 - on purpose
    sender_limits: dict[SenderKind, SenderLimits] = field(default_factory=dict)
    webhooks: tuple[Webhook, ...] = _default("WEBHOOKS")
    webhook_interval: float = _default("WEBHOOK_INTERVAL")
    webhook_timeout: float = _default("WEBHOOK_TIMEOUT")
    webhook_retry_base: float = _default("WEBHOOK_RETRY_BASE")
    webhook_retry_max: float = _default("WEBHOOK_RETRY_MAX")
    webhook_max_attempts: int = _default("WEBHOOK_MAX_ATTEMPTS")
    smtp_host: str = _default("SMTP_HOST")
    smtp_port: int = _default("SMTP_PORT")
    smtp_security: SmtpSecurity = _default("SMTP_SECURITY")  # noqa: RUF009 - on purpose
    smtp_username: str = _default("SMTP_USERNAME")
    smtp_password: str = _default("SMTP_PASSWORD")
    smtp_from: str = _default("SMTP_FROM")
    brand_name: str = _default("BRAND_NAME")
    brand_logo: str = _default("BRAND_LOGO")
    brand_accent: str = _default("BRAND_ACCENT")
    brand_help_url: str = _default("BRAND_HELP_URL")
    brand_footer: str = _default("BRAND_FOOTER")

    def limits_for(self, sender: SenderKind) -> SenderLimits:
        return self.sender_limits.get(
            sender, SenderLimits(self.limits.max_expires_in, self.limits.max_views)
        )


LIMIT_FIELDS = tuple(f.name for f in fields(Limits) if f.name.upper() in BY_NAME)


def _parse(env: Mapping[str, str], rows: tuple[Setting, ...]) -> dict[str, Any]:
    """Each row's value, by attribute name (its variable in lower case)."""
    values: dict[str, Any] = {}
    for row in rows:
        values[row.name] = row.parse(env.get(row.name, ""), row, values)
    return {name.lower(): value for name, value in values.items()}


def load_limits(env: Mapping[str, str]) -> Limits:
    rows = tuple(row for row in SETTINGS if row.name.lower() in LIMIT_FIELDS)
    return Limits(**_parse(env, rows))


def _from_files(env: dict[str, str]) -> dict[str, str]:
    """Every setting may come from a file instead, as ``NAME_FILE`` (a mounted
    Kubernetes or Docker secret): its content, without the one newline at its end."""
    for name in BY_NAME:
        path = env.get(f"{name}_FILE")
        if not path:
            continue
        if env.get(name):
            raise SettingsError(f"set {name} or {name}_FILE, not both")
        try:
            env[name] = Path(path).read_text(encoding="utf-8").removesuffix("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {type(exc).__name__}") from None
    return env


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, str] | None = None,
    require_database: bool = True,
) -> Settings:
    """Parse the environment (``os.environ`` by default) into :class:`Settings`.

    ``defaults`` stand in for variables the environment does not set (``make run``
    listens on loopback and logs for a console, for one). Any setting may be given
    as ``NAME_FILE``, the path of a file that holds it.
    """
    env = _from_files({**(defaults or {}), **(os.environ if env is None else env)})
    if require_database and not env.get("DATABASE_URL"):
        raise SettingsError("DATABASE_URL is required (postgresql://user:password@host:5432/db)")
    values = _parse(env, SETTINGS)
    limits = Limits(**{name: values.pop(name) for name in LIMIT_FIELDS})
    sender_limits = {
        kind: SenderLimits(values.pop(f"{kind}_max_expires_in"), values.pop(f"{kind}_max_views"))
        for kind in SENDER_KINDS
    }
    return Settings(
        **values,
        limits=limits,
        sender_limits=sender_limits,
        audit_key_ephemeral=not env.get("AUDIT_KEY"),
    )
