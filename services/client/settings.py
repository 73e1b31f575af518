"""The ``burnafter`` client commands' settings: ``BURNAFTER_*`` variables, read once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ClientSettingsError(ValueError):
    """A ``BURNAFTER_*`` variable is malformed; the message names it."""


def _seconds(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ClientSettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ClientSettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


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
        with Path(path).open(encoding="utf-8") as file:
            token = file.readline().strip()
    except OSError as exc:
        raise ClientSettingsError(f"BURNAFTER_TOKEN_FILE cannot be read ({exc.strerror})") from None
    return token or None


def load_client_settings(env: Mapping[str, str] | None = None) -> ClientSettings:
    env = os.environ if env is None else env
    return ClientSettings(
        server=env.get("BURNAFTER_SERVER") or ClientSettings.server,
        timeout=_seconds(env, "BURNAFTER_TIMEOUT", 30.0, 0.1, 3600.0),
        api_token=_api_token(env),
    )
