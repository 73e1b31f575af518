"""The operator's brand: product name, logo, accent colour, help link, footer text.

The accent colour is one setting, but the pages use it four ways: as link text and
as the background of white text on light pages, and as link text and the
background of dark text on dark pages. Each use gets the operator's colour, made
darker (light pages) or lighter (dark pages) just enough to reach WCAG 2.1 AA
contrast (4.5:1 for text) against what it meets there; a start-up warning says
when the light pages could not have the colour as it is. The result is a
stylesheet of custom properties, ``/brand.css``, so the Content-Security-Policy
keeps forbidding inline styles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from services.server.settings import BRAND_LOGO_TYPES, BY_NAME, Settings

log = structlog.get_logger()

AA_TEXT = 4.5
# What the accent meets in app.css, light then dark.
LIGHT_BACKGROUNDS = ("#ffffff", "#f6f5f3")  # --surface, --bg; white text on buttons
DARK_BACKGROUNDS = ("#292524", "#1c1917")  # --surface, --bg; --accent-text on buttons
LOGO_PATH = "/brand/logo"
DEFAULT_LOGO = "/static/favicon.svg"

Rgb = tuple[float, float, float]


def _rgb(colour: str) -> Rgb:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: Rgb) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _mix(colour: str, toward: str, share: float) -> str:
    a, b = _rgb(colour), _rgb(toward)
    return _hex(tuple(x + (y - x) * share for x, y in zip(a, b, strict=True)))  # type: ignore[arg-type]


def readable(colour: str, against: tuple[str, ...], toward: str, ratio: float = AA_TEXT) -> str:
    """The colour, mixed toward black or white in 1 % steps until it has ``ratio``
    against each of ``against``."""
    for step in range(101):
        candidate = _mix(colour, toward, step / 100)
        if all(contrast(candidate, other) >= ratio for other in against):
            return candidate
    return toward


@dataclass(frozen=True)
class Accent:
    light: str  # links and white-text buttons on light pages
    light_strong: str  # hover, a step darker
    dark: str  # links and dark-text buttons on dark pages
    dark_strong: str  # hover, a step lighter

    @classmethod
    def of(cls, colour: str) -> Accent:
        light = readable(colour, LIGHT_BACKGROUNDS, "#000000")
        dark = readable(colour, DARK_BACKGROUNDS, "#ffffff")
        return cls(light, _mix(light, "#000000", 0.15), dark, _mix(dark, "#ffffff", 0.2))

    def css(self) -> str:
        return (
            f":root {{ --accent: {self.light}; --accent-strong: {self.light_strong}; }}\n"
            "@media (prefers-color-scheme: dark) {\n"
            f"  :root {{ --accent: {self.dark}; --accent-strong: {self.dark_strong}; }}\n"
            "}\n"
        )


@dataclass(frozen=True)
class Brand:
    name: str = "burnafter"
    logo: str = DEFAULT_LOGO
    logo_type: str = "image/svg+xml"
    logo_file: str = ""
    help_url: str = ""
    footer: str = ""
    css: str = ""

    @classmethod
    def of(cls, settings: Settings) -> Brand:
        """The settings' brand; burnafter's own accent keeps app.css's tuned palette."""
        css = ""
        if settings.brand_accent != BY_NAME["BRAND_ACCENT"].default:
            css = cls.accent_css(settings.brand_accent)
        logo_type = "image/svg+xml"
        if settings.brand_logo:
            logo_type = BRAND_LOGO_TYPES[Path(settings.brand_logo).suffix.lower()]
        return cls(
            name=settings.brand_name,
            logo=LOGO_PATH if settings.brand_logo else DEFAULT_LOGO,
            logo_type=logo_type,
            logo_file=settings.brand_logo,
            help_url=settings.brand_help_url,
            footer=settings.brand_footer,
            css=css,
        )

    @staticmethod
    def accent_css(colour: str) -> str:
        accent = Accent.of(colour)
        # No colour reaches 4.5:1 on both the light and the dark pages, so the dark
        # pages always get a lighter one: said only when the light pages lose yours.
        if accent.light != colour:
            log.warning(
                "brand_accent_adjusted",
                accent=colour,
                light=accent.light,
                dark=accent.dark,
                reason="text on or beside it would miss WCAG AA contrast (4.5:1)",
            )
        return accent.css()


BRAND = web.AppKey("brand", Brand)


async def brand_context(request: web.Request) -> dict[str, Any]:
    return {"brand": request.config_dict[BRAND]}


async def brand_css(request: web.Request) -> web.Response:
    return web.Response(text=request.config_dict[BRAND].css, content_type="text/css")


async def brand_logo(request: web.Request) -> web.StreamResponse:
    brand = request.config_dict[BRAND]
    if not brand.logo_file:
        raise web.HTTPNotFound()
    return web.FileResponse(brand.logo_file, headers={"Content-Type": brand.logo_type})
