"""What the worker's outbox loops share: rounds until told to stop, and the backoff
of a failed delivery (a webhook's or an email's)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from services.server.settings import Settings
from services.store.db import DATABASE_UNAVAILABLE

log = structlog.get_logger("burnafter.worker")


_JITTER = secrets.SystemRandom()


def backoff(settings: Settings, attempts_before: int) -> float:
    """Seconds before the next try: ``WEBHOOK_RETRY_BASE * 2**attempts``, at most
    ``WEBHOOK_RETRY_MAX``, less a random part of up to half of it, so deliveries that
    failed together (an endpoint or relay down) do not all come back at once."""
    base, most = settings.webhook_retry_base, settings.webhook_retry_max
    delay = float(min(base * 2 ** min(attempts_before, 30), most))
    return delay * _JITTER.uniform(0.5, 1.0)


async def run_rounds(
    stop: asyncio.Event,
    run_once: Callable[[], Awaitable[int]],
    batch: int,
    interval: float,
    name: str,
) -> None:
    """Call ``run_once`` (which returns how many rows it took) until ``stop``; right
    away again after a full batch, else after ``interval`` s. A database that fails
    is logged and tried again next round."""
    while not stop.is_set():
        taken = 0
        try:
            taken = await run_once()
        except (*DATABASE_UNAVAILABLE, asyncpg.PostgresError) as exc:
            log.warning("round_failed", loop=name, error=type(exc).__name__)
        if taken < batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
