"""The ``burnafter`` client commands' settings: ``BURNAFTER_*`` variables, read once.

A malformed variable raises :class:`ClientSettingsError`, whose message names the
variable and what is wrong with it, in one line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from services.client.translated import _

DEFAULT_SERVER = "http://127.0.0.1:8080"
TIMEOUT_RANGE = (0.1, 3600.0)


class ClientSettingsError(ValueError):
    """A ``BURNAFTER_*`` variable is malformed; the message names it."""


def _seconds(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ClientSettingsError(
            _("%(variable)s must be a number of seconds, got %(value)r")
            % {"variable": name, "value": raw}
        ) from None
    if not lo <= value <= hi:  # also refuses nan
        raise ClientSettingsError(
            _("%(variable)s must be between %(lo)s and %(hi)s seconds, got %(value)r")
            % {"variable": name, "lo": f"{lo:g}", "hi": f"{hi:g}", "value": raw}
        )
    return value


def is_server_url(text: str) -> bool:
    """An ``http(s)://host[:port][/prefix]`` URL, without query or fragment."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
    )


def _server(env: Mapping[str, str]) -> str:
    raw = env.get("BURNAFTER_SERVER")
    if not raw:
        return DEFAULT_SERVER
    if not is_server_url(raw.strip()):
        raise ClientSettingsError(
            _(
                "BURNAFTER_SERVER must be an http(s) URL such as "
                "https://burnafter.example.com, got %(value)r"
            )
            % {"value": raw}
        )
    return raw.strip()


@dataclass(frozen=True)
class ClientSettings:
    """Defaults for the ``burnafter`` client commands."""

    server: str = DEFAULT_SERVER
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
        with Path(path).open(encoding="utf-8") as file:
            token = file.readline().strip()
    except OSError as exc:
        raise ClientSettingsError(f"BURNAFTER_TOKEN_FILE {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ClientSettingsError(
            _("BURNAFTER_TOKEN_FILE %(path)s: not UTF-8 text") % {"path": path}
        ) from None
    if not token:
        raise ClientSettingsError(
            _("BURNAFTER_TOKEN_FILE %(path)s: its first line is empty") % {"path": path}
        )
    return token


def load_client_settings(env: Mapping[str, str] | None = None) -> ClientSettings:
    env = os.environ if env is None else env
    return ClientSettings(
        server=_server(env),
        timeout=_seconds(env, "BURNAFTER_TIMEOUT", 30.0, *TIMEOUT_RANGE),
        api_token=_api_token(env),
    )
