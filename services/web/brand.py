"""The operator's brand: product name, logo, accent colour, help link, footer text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Brand:
    name: str = "burnafter"
    logo: str = "/static/favicon.svg"
    logo_type: str = "image/svg+xml"
    help_url: str = ""
    footer: str = ""
    css: str = ""


BRAND = web.AppKey("brand", Brand)


async def brand_context(request: web.Request) -> dict[str, Any]:
    return {"brand": request.config_dict[BRAND]}


async def brand_css(request: web.Request) -> web.Response:
    return web.Response(text=request.config_dict[BRAND].css, content_type="text/css")
