"""The web service: the pages and the browser code. ``create_app`` does no I/O.

The pages carry no secret and make no database lookup: the browser reads the key
from the link's fragment, talks to the api under the same origin, and encrypts
and decrypts on its own."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from services.server.appkeys import AUDITOR
from services.server.audit import Auditor
from services.server.identity import signed_in_name
from services.server.middlewares import Handler, request_telemetry
from services.server.service import setup_service
from services.server.settings import Settings
from services.web.admin.app import create_admin_app
from services.web.brand import BRAND, LOGO_PATH, Brand, brand_context, brand_css, brand_logo
from services.web.languages import choose_language, install_translations, language_context

STATIC_DIR = Path(__file__).parent / "static"


@aiohttp_jinja2.template("create.html")
async def create_page(request: web.Request) -> dict[str, str | None]:
    return {"script": "create", "signed_in": signed_in_name(request)}


@aiohttp_jinja2.template("open.html")
async def open_page(_request: web.Request) -> dict[str, str]:
    """The landing page of a share link: no lookup, no side effect; only the
    Reveal button, in the browser, spends a view."""
    return {"script": "open"}


@aiohttp_jinja2.template("receipt.html")
async def receipt_page(request: web.Request) -> dict[str, str | None]:
    return {"script": "receipt", "signed_in": signed_in_name(request)}


@aiohttp_jinja2.template("ask.html")
async def ask_page(request: web.Request) -> dict[str, str | None]:
    return {"script": "ask", "signed_in": signed_in_name(request)}


@aiohttp_jinja2.template("fill.html")
async def fill_page(_request: web.Request) -> dict[str, str]:
    """A request's fill link: the browser opens the request (which the asker's page
    then shows as opened) and sends the answer; the page itself looks nothing up."""
    return {"script": "fill"}


@aiohttp_jinja2.template("collect.html")
async def collect_page(_request: web.Request) -> dict[str, str]:
    """A request's collect link, the asker's: its key never reaches the server."""
    return {"script": "collect"}


@web.middleware
async def not_found_page(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A 404 of the pages is a page of the site, with a way on; the api's (mounted
    under /api by ``make run``) stays the api's problem document."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith("/api/"):
            raise
        return aiohttp_jinja2.render_template(
            "not_found.html", request, {"signed_in": signed_in_name(request)}, status=404
        )


def create_app(settings: Settings, service: str = "web") -> web.Application:
    app = web.Application(middlewares=[request_telemetry, choose_language, not_found_page])
    setup_service(app, settings, service)
    app[AUDITOR] = Auditor(settings.audit_key, "web")
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("services.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        context_processors=[language_context, brand_context],
    )
    install_translations(environment)
    app[BRAND] = Brand.of(settings)
    app.router.add_get("/brand.css", brand_css, name="brand_css")
    app.router.add_get(LOGO_PATH, brand_logo, name="brand_logo")
    app.router.add_get("/", create_page, name="create")
    app.router.add_get("/s/{id}", open_page, name="open")
    app.router.add_get("/r/{id}", receipt_page, name="receipt")
    app.router.add_get("/ask", ask_page, name="ask")
    app.router.add_get("/q/{id}", fill_page, name="fill")
    app.router.add_get("/c/{id}", collect_page, name="collect")
    app.add_subapp("/admin", create_admin_app(settings))
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
    return app
