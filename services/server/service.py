"""What every burnafter HTTP service's root app holds: settings, the database, health
routes, a metrics registry, and a server with graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
import uvloop
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.server.appkeys import (
    DRAINING,
    HTTP_METRICS,
    METRICS_SOCKET,
    POOL,
    READINESS_POOL,
    REGISTRY,
    SETTINGS,
)
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
    the instance busy, not unready, and the probe must not time out behind them.
    A service told to stop is not ready, while it drains."""
    if request.config_dict[DRAINING].is_set():
        return web.json_response({"status": "draining"}, status=503)
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
    app[DRAINING] = asyncio.Event()
    app[REGISTRY] = registry
    app[HTTP_METRICS] = HttpMetrics(registry)
    app.cleanup_ctx.extend([database_context, metrics_context])
    add_health_routes(app)
    return registry


def serve(app: web.Application, worker_metrics: str | None = None) -> None:
    """Run until SIGTERM/SIGINT; then drain and stop (:func:`run_until_stopped`). Runs
    on uvloop (libuv), which cuts the event loop's share of each request
    (docs/performance.md). A worker of several (``worker_metrics``, the socket its
    supervisor reads its metrics from) shares its port with the others
    (services/server/workers.py)."""
    if worker_metrics is not None:
        app[METRICS_SOCKET] = worker_metrics
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_until_stopped(app))


async def run_until_stopped(app: web.Application) -> None:
    """Serve until SIGTERM or SIGINT. Then, as a rolling update needs: keep serving
    for ``SHUTDOWN_DRAIN`` seconds with ``/readyz`` answering 503 and every answer
    closing its connection, so that load balancers take the instance out before it
    stops listening (no connection refused meanwhile); then stop accepting, and give
    the requests in flight, an upload's body included, ``SHUTDOWN_GRACE`` seconds to
    finish."""
    settings = app[SETTINGS]
    runner = web.AppRunner(
        app, access_log=None, keepalive_timeout=75.0, shutdown_timeout=settings.shutdown_grace
    )
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.http_host, settings.http_port, reuse_port=METRICS_SOCKET in app
        )
        await site.start()
        log.info("listening", message=f"Running on {site.name}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        app[DRAINING].set()
        log.info("draining", seconds=settings.shutdown_drain)
        await asyncio.sleep(settings.shutdown_drain)
        await _finish_in_flight(runner, app[HTTP_METRICS], settings.shutdown_grace)
    finally:
        await runner.cleanup()
    log.info("stopped")


async def _finish_in_flight(runner: web.AppRunner, metrics: HttpMetrics, grace: float) -> None:
    """Stop listening, then wait up to ``grace`` seconds for the requests in flight
    (answers close their connections meanwhile: services/server/middlewares.py).
    Only then may the runner close the connections: aiohttp drops the bytes that
    arrive on a connection it closed, so an upload whose body was still arriving
    would end in 408."""
    for site in list(runner.sites):
        await site.stop()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await metrics.idle.wait()
