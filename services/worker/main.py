"""The worker role (``burnafter reaper``): the reaper's passes and, when webhooks or
an SMTP relay are configured, the notices of answered requests and the webhook
dispatcher, until SIGTERM; or one pass with ``--once``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.server.appkeys import POOL, REGISTRY, SETTINGS
from services.server.database import open_database
from services.server.metrics import (
    NoticeMetrics,
    ReaperMetrics,
    WebhookMetrics,
    new_registry,
    start_metrics_server,
    watch_pool,
)
from services.server.settings import Settings
from services.worker.notices import Notices
from services.worker.reaper import Reaper
from services.worker.webhooks import Dispatcher


@contextlib.asynccontextmanager
async def background_work(
    pool: asyncpg.Pool, settings: Settings, registry: CollectorRegistry
) -> AsyncIterator[Callable[[asyncio.Event], Coroutine[Any, Any, None]]]:
    """What the reaper process does until told to stop: reap; and when webhooks or
    an SMTP relay are configured, tell askers of answers and deliver webhooks.
    Yields the coroutine function to run."""
    loops = [Reaper(pool, settings, ReaperMetrics(registry)).run_until]
    if settings.webhooks or settings.smtp_host:
        loops.append(Notices(pool, settings, NoticeMetrics(registry)).run_until)
    async with contextlib.AsyncExitStack() as stack:
        if settings.webhooks:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            dispatcher = Dispatcher(pool, settings, WebhookMetrics(registry), session)
            loops.append(dispatcher.run_until)

        async def all_of(stop: asyncio.Event) -> None:
            await asyncio.gather(*(loop(stop) for loop in loops))

        yield all_of


async def run(settings: Settings, *, once: bool = False) -> None:
    """One pass (``once``), or a pass every ``REAPER_INTERVAL`` s until SIGTERM/SIGINT,
    delivering webhooks meanwhile."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    registry = new_registry("reaper")
    pool = await open_database(settings)
    metrics_server = None
    try:
        if once:
            await Reaper(pool, settings, ReaperMetrics(registry)).run_pass()
            return
        watch_pool(registry, pool)
        if settings.metrics_port:
            metrics_server = await start_metrics_server(
                registry, settings.http_host, settings.metrics_port
            )
        async with background_work(pool, settings, registry) as work:
            await work(stop)
    finally:
        if metrics_server is not None:
            await metrics_server.cleanup()
        await pool.close()


async def worker_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx for ``make run``: the reaper (and webhooks) as a task beside the
    web server."""
    stop = asyncio.Event()
    async with background_work(app[POOL], app[SETTINGS], app[REGISTRY]) as work:
        task = asyncio.create_task(work(stop))
        yield
        stop.set()
        await task
