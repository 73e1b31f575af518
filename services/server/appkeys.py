"""The typed application keys of burnafter's shared app state, in one place.

The api's own keys (rate limiter, storage cap, lifecycle events, OpenAPI document)
live in ``services/api/appkeys.py``: a shared package must not know a service."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.server.settings import Settings

if TYPE_CHECKING:  # both modules use these keys: named here only for the type checker
    from services.server.audit import Auditor
    from services.server.metrics import HttpMetrics

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
# One connection of its own for /readyz, so the probe never waits behind requests
# that hold every connection of POOL.
READINESS_POOL = web.AppKey("readiness_pool", asyncpg.Pool)
REGISTRY = web.AppKey("registry", CollectorRegistry)
# Set at SIGTERM: /readyz answers 503 while the service still serves (SHUTDOWN_DRAIN).
DRAINING = web.AppKey("draining", asyncio.Event)
# A worker of API_WORKERS/WEB_WORKERS serves its metrics on this abstract Unix
# socket, for its supervisor to gather (services/server/workers.py).
METRICS_SOCKET = web.AppKey("metrics_socket", str)
HTTP_METRICS: web.AppKey[HttpMetrics] = web.AppKey("http_metrics")
AUDITOR: web.AppKey[Auditor] = web.AppKey("auditor")
