"""What every burnafter HTTP service's root app holds: settings, the database, health
routes, a metrics registry, and a server with graceful shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
import uvloop
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.server.appkeys import HTTP_METRICS, POOL, READINESS_POOL, REGISTRY, SETTINGS
from services.server.database import open_database
from services.server.metrics import (
    HttpMetrics,
    metrics_context,
    new_registry,
)
from services.server.settings import Settings
from services.store.db import DATABASE_UNAVAILABLE, create_pool
from services.store.secrets import database_ready

log = structlog.get_logger("burnafter.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the pool, refuse an un-migrated database, and open the
    readiness probe's own connection; close both on exit."""
    settings = app[SETTINGS]
    pool = await open_database(settings)
    try:
        app[POOL] = pool
        app[READINESS_POOL] = await create_pool(
            settings.database_url,
            min_size=1,
            max_size=1,
            statement_cache_size=settings.db_statement_cache_size,
            db_timeout=settings.db_timeout,
        )
        try:
            yield
        finally:
            await app[READINESS_POOL].close()
    finally:
        await pool.close()


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive; says nothing about the database."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers; a load balancer takes the instance out otherwise. Asked
    on a connection of its own: requests holding every connection of the pool make
    the instance busy, not unready, and the probe must not time out behind them."""
    try:
        ready = await database_ready(request.config_dict[READINESS_POOL])
    except DATABASE_UNAVAILABLE:
        ready = False
    return web.json_response(
        {"status": "ready" if ready else "unavailable"}, status=200 if ready else 503
    )


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")


def setup_service(app: web.Application, settings: Settings, service: str) -> CollectorRegistry:
    """What every service's root app holds: settings, the pool, health routes, and
    a metrics registry served on the metrics port."""
    registry = new_registry(service)
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[HTTP_METRICS] = HttpMetrics(registry)
    app.cleanup_ctx.extend([database_context, metrics_context])
    add_health_routes(app)
    return registry


def serve(app: web.Application) -> None:
    """Run until SIGTERM/SIGINT, then stop accepting and let in-flight requests finish
    within ``SHUTDOWN_GRACE`` seconds. Runs on uvloop (libuv), which cuts the event
    loop's share of each request (docs/performance.md)."""
    settings = app[SETTINGS]
    web.run_app(
        app,
        loop=uvloop.new_event_loop(),
        host=settings.http_host,
        port=settings.http_port,
        access_log=None,
        shutdown_timeout=settings.shutdown_grace,
        print=lambda message: log.info("listening", message=message),
    )
