"""The settings documentation, written from the table in services/server/settings.py.

    python -m tools.settings_doc readme   # the README's settings table (markdown)
    python -m tools.settings_doc env      # the content of .env.example
    python -m tools.settings_doc write    # rewrite both files in place

README.md keeps the table between its ``settings:begin`` and ``settings:end``
markers; nothing else of it is touched. tests/unit/server/test_settings_table.py
fails when either file differs from what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from services.server.settings import SETTINGS, Of, Setting

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- settings:begin (python -m tools.settings_doc write) -->"
END = "<!-- settings:end -->"

# .env.example around the settings: what docker compose itself needs.
ENV_HEADER = """\
# Copy to .env and fill in. docker compose reads it; never commit .env.
# Written by python -m tools.settings_doc env; README.md (Configuration) lists every setting.

# The PostgreSQL password of the burnafter role (openssl rand -hex 24).
POSTGRES_PASSWORD=

# burnafter settings docker compose passes to every service (empty: the default).
"""
ENV_FOOTER = """\

# The sso profile: oauth2-proxy with your OIDC provider (openssl rand -base64 32 | tr -- '+/' '-_' for the cookie secret).
SSO_PORT=4180
SSO_PROVIDER=oidc
SSO_ISSUER_URL=
SSO_CLIENT_ID=
SSO_CLIENT_SECRET=
SSO_COOKIE_SECRET=
SSO_EMAIL_DOMAINS=*
# Where the edge listens on the host.
BURNAFTER_BIND=127.0.0.1
BURNAFTER_PORT=8080
# The observability profile.
PROMETHEUS_PORT=9091
GRAFANA_PORT=3000
GRAFANA_ADMIN_PASSWORD=admin
# Images: the defaults build burnafter from this folder and pull the others.
# BURNAFTER_IMAGE=burnafter:local
# POSTGRES_IMAGE=postgres:16
# EDGE_IMAGE=nginx:1.27
"""  # noqa: E501 - the sso line is kept as it was


def _show(value: Any) -> str:
    """A value as the docs write it."""
    if isinstance(value, Of):
        return value.name
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _default(row: Setting) -> str:
    if row.shown:
        return row.shown
    if row.default in ("", b"", (), frozenset()):
        return "(none)"
    return f"`{_show(row.default)}`"


def _allowed(row: Setting) -> str:
    if row.choices:
        return ", ".join(f"`{choice}`" for choice in row.choices)
    if row.hi is not None:
        return f"`{_show(row.lo)}` to `{_show(row.hi)}`"
    return ""


def readme() -> str:
    """The README's settings table."""
    lines = ["| variable | default | allowed | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `{row.name}` | {_default(row)} | {_allowed(row)} | {row.doc} |" for row in SETTINGS
    ]
    return "\n".join(lines) + "\n"


def env() -> str:
    """The content of .env.example: the settings docker compose passes on."""
    lines = []
    for row in SETTINGS:
        if row.compose:
            value = row.default if isinstance(row.default, str | int | float) else ""
            lines += [f"# {row.doc.replace('`', '')}", f"{row.name}={_show(value)}"]
    return ENV_HEADER + "\n".join(lines) + "\n" + ENV_FOOTER


def _between_markers(text: str) -> tuple[int, int]:
    return text.index(BEGIN) + len(BEGIN), text.index(END)


def readme_table_of(text: str) -> str:
    """What README.md holds between the markers."""
    start, end = _between_markers(text)
    return text[start:end].strip("\n") + "\n"


def write() -> None:
    path = ROOT / "README.md"
    text = path.read_text("utf-8")
    start, end = _between_markers(text)
    path.write_text(f"{text[:start]}\n{readme()}{text[end:]}", "utf-8")
    (ROOT / ".env.example").write_text(env(), "utf-8")


def main(argv: list[str]) -> int:
    if argv == ["readme"]:
        sys.stdout.write(readme())
    elif argv == ["env"]:
        sys.stdout.write(env())
    elif argv == ["write"]:
        write()
    else:
        sys.stderr.write("usage: python -m tools.settings_doc readme|env|write\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
