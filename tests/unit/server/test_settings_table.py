"""The settings table is the one source: the README's table and .env.example are
what tools/settings_doc.py prints from it, the Helm chart and docker compose set
only variables it names, and every row reaches :class:`Settings`."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from services.server.settings import (
    BY_NAME,
    SENDER_KINDS,
    SETTINGS,
    Limits,
    Of,
    Setting,
    Settings,
    load_settings,
)
from tools import settings_doc

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "deploy/helm/burnafter/templates"
REGENERATE = "regenerate it from services/server/settings.py: python -m tools.settings_doc write"
BASE = {"DATABASE_URL": "postgresql://db/burnafter", "AUDIT_KEY": "a" * 32}


def test_readme_table_is_what_the_tool_prints() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert settings_doc.readme_table_of(readme) == settings_doc.readme(), (
        f"README.md's settings table differs from the settings table: {REGENERATE}"
    )


def test_env_example_is_what_the_tool_prints() -> None:
    assert (ROOT / ".env.example").read_text("utf-8") == settings_doc.env(), (
        f".env.example differs from the settings table: {REGENERATE}"
    )


def test_env_example_keeps_the_lines_make_check_deploy_fills_in() -> None:
    lines = settings_doc.env().splitlines()
    assert "POSTGRES_PASSWORD=" in lines
    assert "AUDIT_KEY=" in lines


def chart_variables() -> set[str]:
    """Every variable the chart's configmap sets (``KEY:`` lines, a per-sender key
    once for each kind) and every ``- name: KEY`` env entry of its pod templates."""
    found: set[str] = set()
    key = re.compile(r"^\s*(\{\{\s*upper \$kind\s*\}\})?([A-Z_][A-Z0-9_]*):", re.MULTILINE)
    for per_kind, name in key.findall((TEMPLATES / "configmap.yaml").read_text("utf-8")):
        found |= {f"{kind.upper()}{name}" for kind in SENDER_KINDS} if per_kind else {name}
    env = re.compile(r"^\s*- name: ([A-Z][A-Z0-9_]*)\s*$", re.MULTILINE)
    pods = [*TEMPLATES.glob("*/deployment.yaml"), *TEMPLATES.glob("*/job.yaml")]
    for path in [*pods, TEMPLATES / "_helpers.tpl"]:
        found |= set(env.findall(path.read_text("utf-8")))
    return found


def test_the_chart_sets_only_settings() -> None:
    found = chart_variables()
    assert {"DATABASE_URL", "LOG_LEVEL", "SSO_MAX_VIEWS", "AUDIT_KEY"} <= found  # parsed at all
    # Read by asyncpg itself, under libpq's names: the user and password a
    # CloudNativePG Pooler's connection takes from the cluster's app Secret.
    libpq = {"PGUSER", "PGPASSWORD"}
    unknown = found - set(BY_NAME) - libpq
    assert not unknown, f"the chart sets variables no setting reads: {sorted(unknown)}"


def test_compose_passes_on_the_settings_env_example_lists() -> None:
    compose = (ROOT / "docker-compose.yml").read_text("utf-8")
    from_env_file = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose)) & set(BY_NAME)
    listed = {row.name for row in SETTINGS if row.compose}
    assert from_env_file == listed, "mark compose=True exactly the settings compose reads"


def test_every_setting_fills_a_field_and_every_field_has_a_setting() -> None:
    not_settings = {"limits", "sender_limits", "audit_key_ephemeral", "max_label_bytes"}
    per_sender = {f"{kind}_{part}" for kind in SENDER_KINDS for part in SENDER_PARTS}
    attributes = {f.name for f in (*fields(Settings), *fields(Limits))} - not_settings
    assert {row.name.lower() for row in SETTINGS} == attributes | per_sender


SENDER_PARTS = ("max_expires_in", "max_views")
SAMPLES = {
    "DEFAULT_EXPIRES_IN": "3600",
    "TRUSTED_PROXIES": "10.0.0.0/8",
    "AUDIT_KEY": "b" * 32,
    "ADMIN_TOKEN": "t" * 24,
    "WEBHOOKS": json.dumps([{"name": "ops", "url": "https://h.example/x", "secret": "s" * 32}]),
    "BRAND_NAME": "Acme Secrets",
    "BRAND_LOGO": str(ROOT / "services" / "web" / "static" / "favicon.svg"),
    "BRAND_ACCENT": "#0f62fe",
    "BRAND_HELP_URL": "https://help.example/secrets",
    "BRAND_FOOTER": "Acme IT, building 4",
}


def value_of(bound: object) -> object:
    return BY_NAME[bound.name].default if isinstance(bound, Of) else bound


def sample(row: Setting) -> str:
    """A valid value other than the default."""
    if row.name in SAMPLES:
        return SAMPLES[row.name]
    if row.choices:
        return next(choice for choice in row.choices if choice != value_of(row.default))
    if row.hi is not None:  # a number: its lower bound, or the upper one
        lo = value_of(row.lo)
        return str(lo if lo != value_of(row.default) else value_of(row.hi))
    return "x-sample"


# A setting that is valid only with another: SMTP_HOST needs SMTP_FROM.
COMPANIONS = {"SMTP_HOST": {"SMTP_FROM": "notices@h.example"}}


@pytest.mark.parametrize("row", SETTINGS, ids=lambda row: row.name)
def test_every_setting_is_read(row: Setting) -> None:
    companions = COMPANIONS.get(row.name, {})
    with_it = load_settings({**BASE, **companions, row.name: sample(row)})
    assert repr(with_it) != repr(load_settings({**BASE, **companions}))
