"""Typed application keys shared by every aiohttp app of burnafter."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from services.common.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
