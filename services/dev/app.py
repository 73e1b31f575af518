"""``make run``: web, api and reaper in one process on http://127.0.0.1:8080, with an
embedded PostgreSQL under ``.data/`` when DATABASE_URL is unset.

Production runs the three as separate processes (``burnafter api|web|reaper``)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web

from services.api.app import create_v1
from services.api.requests import create_body_limit
from services.dev.embedded_postgres import EmbeddedPostgres
from services.server.appkeys import REGISTRY
from services.server.log_setup import configure_logging
from services.server.service import serve
from services.server.settings import Settings, load_settings
from services.store.migrations import migrate
from services.web.app import create_app as create_web_app
from services.worker.main import worker_context

DATA_DIR = Path(".data/postgres")
DATABASE = "burnafter"
DEV_DEFAULTS = {"HTTP_HOST": "127.0.0.1", "LOG_FORMAT": "console", "REAPER_INTERVAL": "10"}

log = structlog.get_logger("burnafter.dev")


async def _create_database(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()


async def _migrate(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def build_app(settings: Settings) -> web.Application:
    """The web app with the api mounted at ``/api`` and the reaper as a task.

    aiohttp makes each request with the root app's body limit, never a sub-app's, and
    ``request.read()``, ``json()`` and ``post()`` hold to it. The root here takes the
    api's limit (which follows ``MAX_CIPHERTEXT_BYTES``) rather than aiohttp's 1 MiB
    default, so that ``make run`` refuses no body the api and the page accept, however
    it is read. The web app's ``create_app`` takes no limit and aiohttp has no setter,
    so the attribute that ``Application(client_max_size=...)`` fills is set."""
    app = create_web_app(settings, service="dev")
    app._client_max_size = create_body_limit(settings.limits)
    app.add_subapp("/api", create_v1(settings, app[REGISTRY]))
    app.cleanup_ctx.append(worker_context)
    return app


def run() -> None:
    settings = load_settings(defaults=DEV_DEFAULTS, require_database=False)
    configure_logging(settings.log_format, settings.log_level)
    embedded = None
    if not settings.database_url:
        embedded = EmbeddedPostgres(DATA_DIR)
        asyncio.run(_create_database(embedded.start()))
        settings = dataclasses.replace(settings, database_url=embedded.url_for(DATABASE))
        log.info("embedded_postgres_started", datadir=str(embedded.datadir))
    try:
        asyncio.run(_migrate(settings.database_url))
        serve(build_app(settings))
    finally:
        if embedded is not None:
            embedded.stop()
