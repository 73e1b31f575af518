"""The middleware every HTTP service runs first: request telemetry (request id, one
log line by route template, HTTP metrics) and strict security headers, in one layer
(each layer is one more coroutine per request; docs/performance.md)."""

from __future__ import annotations

import asyncio
import os
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from aiohttp import web

from services.server.appkeys import DRAINING, HTTP_METRICS
from services.server.client_address import peer_is_trusted_proxy
from services.server.log_setup import REQUEST_ID
from services.store.db import DATABASE_UNAVAILABLE, STATEMENTS_LOST

log = structlog.get_logger("burnafter.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_template(request: web.Request) -> str:
    """The matched route's pattern (``/api/v1/secrets/{id}/reveal``), never the raw path."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: web.Request) -> str:
    """A trusted proxy's ``X-Request-ID`` when it is sane, else a new one: a client
    must not choose the id that joins log lines (it could blend its requests into
    another's)."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if _REQUEST_ID.match(given) and peer_is_trusted_proxy(request):
        return given
    return os.urandom(16).hex()


UNEXPECTED_ERROR = "Something went wrong on our side. Please try again later."
DATABASE_GONE = "The database cannot be reached. Please try again shortly."


def report_unexpected(exc: Exception) -> None:
    """Log an error no code path expected: its type and the line that raised it,
    never its message or its traceback's values, which may hold request data."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
    log.error("unexpected_error", error=type(exc).__name__, where=where)


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


def _answered(
    request: web.Request, response: web.StreamResponse, request_id: str, draining: asyncio.Event
) -> None:
    """What every answer gets: strict headers (nothing but static files may be cached:
    the pages and the API deal in secrets), the request id, and while draining, the
    end of its connection."""
    headers = response.headers
    headers.update(_SECURITY_HEADERS)
    if served_over_tls(request):
        headers["Strict-Transport-Security"] = _HSTS
    if request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-cache")
    else:
        headers["Cache-Control"] = "no-store"
    headers[REQUEST_ID_HEADER] = request_id
    if draining.is_set():
        response.force_close()


def report_database_error(exc: BaseException) -> None:
    """A request that met PostgreSQL out of its reach (answered 503): the error's
    type in the log; for prepared statements a pooler lost, the fix as well."""
    if isinstance(exc, STATEMENTS_LOST):
        log.error(
            "database_statements_lost",
            error=type(exc).__name__,
            fix="behind a pooler in transaction mode, set DB_STATEMENT_CACHE_SIZE=0",
        )
    else:
        log.warning("database_unavailable", error=type(exc).__name__)


def _database_unavailable(exc: Exception) -> bool:
    """PostgreSQL out of reach (503), not a bug (500). A file the code could not
    read is an OSError too, but it is a bug."""
    files = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return isinstance(exc, (*DATABASE_UNAVAILABLE, *STATEMENTS_LOST)) and not isinstance(exc, files)


@web.middleware
async def request_telemetry(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id (accepted or made, returned, and on every log line of the request),
    one log line by route template, the HTTP metrics, and the strict headers on every
    answer, a bug's 500 included (logged without its message). While the service
    drains (services/server/service.py), every answer closes its connection, so
    clients and proxies reconnect to another instance."""
    request_id = request_id_of(request)
    config = request.config_dict  # a new ChainMap on every read
    metrics, draining = config[HTTP_METRICS], config[DRAINING]
    started = time.perf_counter()
    status = 500
    metrics.started()
    token = REQUEST_ID.set(request_id)
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        except Exception as exc:  # noqa: BLE001 - still answered with every header, and logged
            if _database_unavailable(exc):  # the api answers these itself, as problems
                report_database_error(exc)
                response = web.HTTPServiceUnavailable(text=DATABASE_GONE)
            else:  # a bug
                report_unexpected(exc)
                response = web.HTTPInternalServerError(text=UNEXPECTED_ERROR)
        status = response.status
        _answered(request, response, request_id, draining)
    finally:
        elapsed = time.perf_counter() - started
        route = route_template(request)
        metrics.finished(route, request.method, status, elapsed)
        log.info(
            "request",
            method=request.method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
        )
        REQUEST_ID.reset(token)  # the connection's next request runs in this task
    if isinstance(response, web.HTTPException):
        raise response
    return response
