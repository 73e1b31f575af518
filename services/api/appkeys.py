"""The api's own application keys; the keys every service shares are in
``services/server/appkeys.py``."""

from __future__ import annotations

from aiohttp import web

from services.api.abuse import StorageCap
from services.api.events import SecretEvents
from services.server.rate_limits import RateLimiter

RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
STORAGE_CAP = web.AppKey("storage_cap", StorageCap)
SECRET_EVENTS = web.AppKey("secret_events", SecretEvents)
OPENAPI = web.AppKey("openapi", bytes)
"""The OpenAPI document as this deployment serves it."""
