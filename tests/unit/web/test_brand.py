"""The operator's accent colour, made readable: every colour the pages use for text
or behind text meets WCAG AA (4.5:1) against what it meets, light and dark, and a
colour that had to change is said at start-up."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from services.server.settings import SettingsError, load_settings
from services.web.brand import (
    AA_TEXT,
    DARK_BACKGROUNDS,
    LIGHT_BACKGROUNDS,
    Accent,
    Brand,
    contrast,
)

BASE = {"DATABASE_URL": "postgresql://u@h/db"}


def test_contrast_is_wcag_s() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(
    "colour", ["#ffd700", "#00ff00", "#0f62fe", "#000000", "#ffffff", "#c2410c", "#7f7f7f"]
)
def test_every_accent_is_made_readable_in_light_and_dark(colour: str) -> None:
    accent = Accent.of(colour)
    for used in (accent.light, accent.light_strong):
        assert all(contrast(used, other) >= AA_TEXT for other in LIGHT_BACKGROUNDS)
    for used in (accent.dark, accent.dark_strong):
        assert all(contrast(used, other) >= AA_TEXT for other in DARK_BACKGROUNDS)


def test_a_readable_accent_is_kept_as_it_is_in_light_pages() -> None:
    assert Accent.of("#0f62fe").light == "#0f62fe"
    assert Accent.of("#ffd700").light != "#ffd700"  # yellow on white is unreadable


def test_an_adjusted_accent_is_said_at_start_up() -> None:
    with capture_logs() as logs:
        brand = Brand.of(load_settings({**BASE, "BRAND_ACCENT": "#FFD700"}))
    warned = [entry for entry in logs if entry["event"] == "brand_accent_adjusted"]
    assert warned and warned[0]["accent"] == "#ffd700"
    assert "--accent:" in brand.css


def test_an_accent_readable_on_light_pages_is_not_warned_about() -> None:
    with capture_logs() as logs:
        brand = Brand.of(load_settings({**BASE, "BRAND_ACCENT": "#0f62fe"}))
    assert not logs
    assert "--accent: #0f62fe" in brand.css and Accent.of("#0f62fe").dark in brand.css


def test_the_default_brand_keeps_the_stylesheet_s_own_palette() -> None:
    with capture_logs() as logs:
        brand = Brand.of(load_settings(BASE))
    assert brand.css == "" and brand.name == "burnafter" and not logs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BRAND_ACCENT", "red"),
        ("BRAND_ACCENT", "#12345"),
        ("BRAND_ACCENT", "#12345g"),
        ("BRAND_HELP_URL", "javascript:alert(1)"),
        ("BRAND_HELP_URL", "https://h.example/a b"),
        ("BRAND_NAME", "x" * 41),
        ("BRAND_NAME", "two\nlines"),
        ("BRAND_FOOTER", "y" * 201),
        ("BRAND_LOGO", "/etc/passwd"),
        ("BRAND_LOGO", "/nonexistent/logo.png"),
    ],
)
def test_a_bad_brand_setting_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**BASE, name: value})
