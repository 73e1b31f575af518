"""What every burnafter HTTP service shares: the database context, health routes,
the access log by route template, and a server with graceful shutdown."""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
import uvloop
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.common.client_address import peer_is_trusted_proxy
from services.common.db import DATABASE_UNAVAILABLE, create_pool
from services.common.keys import POOL, SETTINGS
from services.common.metrics import (
    HTTP_METRICS,
    REGISTRY,
    HttpMetrics,
    metrics_context,
    new_registry,
)
from services.common.migrations import ensure_migrated
from services.common.settings import Settings
from services.common.store import database_ready

log = structlog.get_logger("burnafter.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: open the pool, refuse an un-migrated database, close on exit."""
    pool = await create_pool(app[SETTINGS])
    try:
        async with pool.acquire() as conn:
            await ensure_migrated(conn)
        app[POOL] = pool
        yield
    finally:
        await pool.close()


async def healthz(request: web.Request) -> web.Response:
    """The process is alive; says nothing about the database."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers; a load balancer takes the instance out otherwise."""
    try:
        ready = await database_ready(request.config_dict[POOL])
    except DATABASE_UNAVAILABLE:
        ready = False
    return web.json_response(
        {"status": "ready" if ready else "unavailable"}, status=200 if ready else 503
    )


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")


def route_template(request: web.Request) -> str:
    """The matched route's pattern (``/api/v1/secrets/{id}/reveal``), never the raw path."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def bearer_token(request: web.Request) -> str | None:
    """The value of ``Authorization: Bearer <value>``, or None for any other scheme."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: web.Request) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else os.urandom(16).hex()


@web.middleware
async def request_telemetry(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id (accepted or made, returned, and on every log line of the request),
    one log line by route template, and the HTTP metrics."""
    request_id = request_id_of(request)
    metrics = request.config_dict[HTTP_METRICS]
    started = time.perf_counter()
    status = 500
    metrics.in_flight.inc()
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(request)
            metrics.in_flight.dec()
            metrics.requests.labels(route, request.method, f"{status // 100}xx").inc()
            metrics.latency.labels(route, request.method).observe(elapsed)
            if status == 503:
                metrics.database_errors.inc()
            log.info(
                "request",
                method=request.method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


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


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        "interest-cohort=(), clipboard-write=(self)"
    ),
}
_HSTS = "max-age=63072000; includeSubDomains"


def served_over_tls(request: web.Request) -> bool:
    """TLS here, or at a trusted proxy that says so in ``X-Forwarded-Proto``."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and peer_is_trusted_proxy(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Strict headers on every response. Nothing but static files may be cached:
    the pages and the API deal in secrets."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.update(_SECURITY_HEADERS)
    if served_over_tls(request):
        response.headers["Strict-Transport-Security"] = _HSTS
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")
    else:
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


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
