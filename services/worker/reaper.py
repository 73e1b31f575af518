"""The reaper: deletes expired secrets and purges old receipts, in batches.

Every batch is one statement that takes rows with ``FOR UPDATE SKIP LOCKED``, so
several reapers run side by side without deleting a row twice or waiting on each
other, and one killed mid-batch leaves its whole batch untouched."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog

from services.server.audit import Auditor
from services.server.metrics import (
    ReaperMetrics,
)
from services.server.settings import Settings
from services.store import contents, secret_requests, secrets
from services.store.db import DATABASE_UNAVAILABLE
from services.store.vocabulary import EventKind

log = structlog.get_logger("burnafter.reaper")


Batch = Callable[[str, list[str]], None]


def _ignore_batch(kind: str, ids: list[str]) -> None:
    pass


@dataclass(frozen=True)
class ReapPass:
    expired: int  # secrets past their time, and uploads never finished
    purged: int
    stored_bytes: int  # all live secrets' ciphertext, counted again at the end


async def _in_batches(
    take_batch: Callable[[], Awaitable[list[str]]], size: int, kind: str, on_batch: Batch
) -> int:
    """Run ``take_batch`` until a batch comes back short. While ``on_batch`` handles one
    batch (audit lines: CPU in this process), the next one is already running in
    PostgreSQL, so on two cores the two overlap instead of taking turns."""
    done = 0
    ids = await take_batch()
    while ids:
        done += len(ids)
        following = asyncio.ensure_future(take_batch()) if len(ids) == size else None
        await asyncio.sleep(0)  # let it send its statement before the CPU work below
        on_batch(kind, ids)
        if following is None:
            break
        ids = await following
    return done


async def reap_once(
    pool: asyncpg.Pool, settings: Settings, on_batch: Batch = _ignore_batch
) -> ReapPass:
    """Run batches until no expired secret, unfinished upload, unheld content and no
    receipt or request past retention is left, then count the bytes stored again, giving back
    those of every secret and content that ended since (the storage limits,
    migrations 0006 and 0008).

    ``on_batch("expired" | "purged", ids)`` sees each batch once it is committed, so
    a pass over a million-row backlog holds a batch or two of ids at a time."""
    size = settings.reaper_batch_size
    expired = await _in_batches(lambda: secrets.reap_expired(pool, size), size, "expired", on_batch)
    expired += await _in_batches(
        lambda: contents.reap_unfinished_uploads(pool, size), size, "unfinished", on_batch
    )
    # Contents that time let go (an expired link, grant or upload): docs/architecture.md.
    await _in_batches(lambda: contents.release_unheld(pool, size), size, "released", _ignore_batch)
    await _in_batches(
        lambda: contents.purge_released(pool),
        contents.SEGMENTS_PER_STATEMENT,
        "segments",
        _ignore_batch,
    )
    await contents.drop_emptied(pool)
    purged = await _in_batches(
        lambda: secrets.purge_receipts(pool, settings.receipt_retention, size),
        size,
        "purged",
        on_batch,
    )
    # Requests past their time by the receipts' retention go (an answer is a link of
    # its own, and stays as long as any link does).
    while await secret_requests.reap_requests(pool, settings.receipt_retention, size) == size:
        pass
    stored = await secrets.recount_storage(pool)
    return ReapPass(expired, purged, stored)


# An unfinished upload ends as an expiry: its receipt says expired.
_AUDIT_EVENT = {
    "expired": EventKind.EXPIRED.audit_name,
    "unfinished": EventKind.EXPIRED.audit_name,
    "purged": "receipt.purged",
}


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
        counter = {
            "expired": self.metrics.expired,
            "unfinished": self.metrics.uploads_reaped,
            "purged": self.metrics.purged,
        }[kind]
        counter.inc(len(ids))

    async def run_pass(self) -> ReapPass:
        started = time.perf_counter()
        try:
            result = await reap_once(self.pool, self.settings, self._record_batch)
            backlog = await secrets.reaper_backlog(self.pool)
            uploading = await contents.uploads_in_progress(self.pool)
        except BaseException:
            self.metrics.passes.labels(outcome="error").inc()
            raise
        elapsed = time.perf_counter() - started
        self.metrics.passes.labels(outcome="ok").inc()
        self.metrics.pass_duration.observe(elapsed)
        self.metrics.backlog.set(backlog.secrets)
        self.metrics.backlog_age.set(backlog.oldest_age)
        self.metrics.last_success.set(time.time())
        self.metrics.uploads_in_progress.set(uploading)
        self.metrics.stored.set(result.stored_bytes)
        self.metrics.cap.set(self.settings.limits.max_stored_ciphertext_bytes)
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
