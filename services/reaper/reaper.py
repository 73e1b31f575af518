"""The reaper: deletes expired secrets and purges old receipts, in batches.

Every batch is one statement that claims rows with ``FOR UPDATE SKIP LOCKED``, so
several reapers run side by side without deleting a row twice or waiting on each
other, and one killed mid-batch leaves its whole batch untouched."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import structlog
from aiohttp import web

from services.common import store
from services.common.db import create_pool
from services.common.keys import POOL, SETTINGS
from services.common.migrations import ensure_migrated
from services.common.settings import Settings

log = structlog.get_logger("burnafter.reaper")


@dataclass(frozen=True)
class ReapPass:
    expired: int
    purged: int


async def reap_once(pool: asyncpg.Pool, settings: Settings) -> ReapPass:
    """Run batches until no expired secret and no receipt past retention is left."""
    batch = settings.reaper_batch_size
    expired = purged = 0
    while (count := await store.reap_expired(pool, batch)) > 0:
        expired += count
        if count < batch:
            break
    while (count := await store.purge_receipts(pool, settings.receipt_retention, batch)) > 0:
        purged += count
        if count < batch:
            break
    return ReapPass(expired, purged)


async def run(settings: Settings, *, once: bool = False) -> None:
    """One pass (``once``), or a pass every ``REAPER_INTERVAL`` s until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            await ensure_migrated(conn)
        if once:
            await _logged_pass(pool, settings)
        else:
            await reap_until(pool, settings, stop)
    finally:
        await pool.close()


async def _logged_pass(pool: asyncpg.Pool, settings: Settings) -> None:
    started = time.perf_counter()
    result = await reap_once(pool, settings)
    log.info(
        "reaped",
        expired=result.expired,
        purged=result.purged,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def reap_until(pool: asyncpg.Pool, settings: Settings, stop: asyncio.Event) -> None:
    """Pass after pass until ``stop`` is set. A failed pass is logged and tried again
    next interval."""
    while not stop.is_set():
        try:
            await _logged_pass(pool, settings)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("reap_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.reaper_interval)


async def reaper_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx for ``make run``: the reaper as a task beside the web server."""
    stop = asyncio.Event()
    task = asyncio.create_task(reap_until(app[POOL], app[SETTINGS], stop))
    yield
    stop.set()
    await task
