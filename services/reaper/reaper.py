"""The reaper: deletes expired secrets and purges old receipts, in batches.

Every batch is one statement that claims rows with ``FOR UPDATE SKIP LOCKED``, so
several reapers run side by side without deleting a row twice or waiting on each
other, and one killed mid-batch leaves its whole batch untouched."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.common import store
from services.common.audit import Auditor
from services.common.db import DATABASE_UNAVAILABLE, create_pool
from services.common.keys import POOL, SETTINGS
from services.common.metrics import (
    REGISTRY,
    ReaperMetrics,
    WebhookMetrics,
    new_registry,
    start_metrics_server,
    watch_pool,
)
from services.common.migrations import ensure_migrated
from services.common.settings import Settings
from services.reaper.webhooks import Dispatcher

log = structlog.get_logger("burnafter.reaper")


Batch = Callable[[str, list[str]], None]


def _ignore_batch(kind: str, ids: list[str]) -> None:
    pass


@dataclass(frozen=True)
class ReapPass:
    expired: int
    purged: int


async def _in_batches(
    claim: Callable[[], Awaitable[list[str]]], size: int, kind: str, on_batch: Batch
) -> int:
    """Run ``claim`` until a batch comes back short. While ``on_batch`` handles one
    batch (audit lines: CPU in this process), the next one is already running in
    PostgreSQL, so on two cores the two overlap instead of taking turns."""
    done = 0
    ids = await claim()
    while ids:
        done += len(ids)
        following = asyncio.ensure_future(claim()) if len(ids) == size else None
        await asyncio.sleep(0)  # let it send its statement before the CPU work below
        on_batch(kind, ids)
        if following is None:
            break
        ids = await following
    return done


async def reap_once(
    pool: asyncpg.Pool, settings: Settings, on_batch: Batch = _ignore_batch
) -> ReapPass:
    """Run batches until no expired secret and no receipt past retention is left.

    ``on_batch("expired" | "purged", ids)`` sees each batch once it is committed, so
    a pass over a million-row backlog holds a batch or two of ids at a time."""
    size = settings.reaper_batch_size
    expired = await _in_batches(lambda: store.reap_expired(pool, size), size, "expired", on_batch)
    purged = await _in_batches(
        lambda: store.purge_receipts(pool, settings.receipt_retention, size),
        size,
        "purged",
        on_batch,
    )
    return ReapPass(expired, purged)


_AUDIT_EVENT = {"expired": "secret.expired", "purged": "receipt.purged"}


class Reaper:
    """Passes with their telemetry: metrics, and one audit line per secret or receipt."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, metrics: ReaperMetrics) -> None:
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self.auditor = Auditor(settings.audit_key, "reaper")

    def _record_batch(self, kind: str, ids: list[str]) -> None:
        for secret_id in ids:
            self.auditor.record(_AUDIT_EVENT[kind], outcome="ok", secret_id=secret_id)
        (self.metrics.expired if kind == "expired" else self.metrics.purged).inc(len(ids))

    async def run_pass(self) -> ReapPass:
        started = time.perf_counter()
        try:
            result = await reap_once(self.pool, self.settings, self._record_batch)
            backlog = await store.reaper_backlog(self.pool)
        except BaseException:
            self.metrics.passes.labels(outcome="error").inc()
            raise
        elapsed = time.perf_counter() - started
        self.metrics.passes.labels(outcome="ok").inc()
        self.metrics.pass_duration.observe(elapsed)
        self.metrics.backlog.set(backlog.secrets)
        self.metrics.backlog_age.set(backlog.oldest_age)
        self.metrics.last_success.set(time.time())
        log.info(
            "reaped",
            expired=result.expired,
            purged=result.purged,
            backlog=backlog.secrets,
            duration_ms=round(elapsed * 1000, 1),
        )
        return result

    async def run_until(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set. A failed pass is logged and tried again
        next interval."""
        while not stop.is_set():
            try:
                await self.run_pass()
            except (*DATABASE_UNAVAILABLE, asyncpg.PostgresError) as exc:
                log.warning("reap_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.reaper_interval)


@contextlib.asynccontextmanager
async def background_work(
    pool: asyncpg.Pool, settings: Settings, registry: CollectorRegistry
) -> AsyncIterator[Callable[[asyncio.Event], Coroutine[Any, Any, None]]]:
    """What the reaper process does until told to stop: reap, and deliver webhooks
    when any are configured. Yields the coroutine function to run."""
    reaper = Reaper(pool, settings, ReaperMetrics(registry))
    if not settings.webhooks:
        yield reaper.run_until
        return
    async with aiohttp.ClientSession() as session:
        dispatcher = Dispatcher(pool, settings, WebhookMetrics(registry), session)

        async def both(stop: asyncio.Event) -> None:
            await asyncio.gather(reaper.run_until(stop), dispatcher.run_until(stop))

        yield both


async def run(settings: Settings, *, once: bool = False) -> None:
    """One pass (``once``), or a pass every ``REAPER_INTERVAL`` s until SIGTERM/SIGINT,
    delivering webhooks meanwhile."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    registry = new_registry("reaper")
    pool = await create_pool(settings)
    metrics_server = None
    try:
        async with pool.acquire() as conn:
            await ensure_migrated(conn)
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


async def reaper_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx for ``make run``: the reaper (and webhooks) as a task beside the
    web server."""
    stop = asyncio.Event()
    async with background_work(app[POOL], app[SETTINGS], app[REGISTRY]) as work:
        task = asyncio.create_task(work(stop))
        yield
        stop.set()
        await task
