"""The webhook outbox (``webhook_deliveries``): what the dispatcher takes, and how it
records each answer. The rows are written by a trigger (migration 0005,
``burnafter_enqueue_webhook_v2``) in the transaction of the event they tell of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Delivery:
    id: int
    secret_id: str
    endpoint: str
    event: str  # its v1 webhook name (services/store/vocabulary.py WEBHOOK_EVENTS)
    sender: str | None
    occurred_at: datetime
    attempts: int  # made before this one
    share_id: str | None  # of a share of several recipients: its id, and which one
    recipient: int | None


@dataclass(frozen=True)
class Queue:
    depth: int
    oldest_age: float


_TAKE_DUE = """
SELECT w.id, w.secret_id, w.endpoint, w.event, w.sender, w.occurred_at, w.attempts,
       r.share_id, r.recipient
FROM webhook_deliveries AS w JOIN receipts AS r ON r.id = w.secret_id
WHERE w.delivered_at IS NULL AND w.gave_up_at IS NULL AND w.next_attempt_at <= now()
ORDER BY w.next_attempt_at
LIMIT $1
FOR UPDATE OF w SKIP LOCKED
"""
_DELIVERED = """
UPDATE webhook_deliveries SET delivered_at = now(), attempts = attempts + 1, last_status = $2
WHERE id = $1
"""
_FAILED = """
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_status = $2,
    next_attempt_at = clock_timestamp() + make_interval(secs => $3),
    gave_up_at = CASE WHEN attempts + 1 >= $4 OR $5 THEN now() END
WHERE id = $1
"""
_QUEUE = """
SELECT count(*) AS depth,
       coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS oldest_age
FROM webhook_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL
"""


async def take_due(conn: asyncpg.Connection, limit: int) -> list[Delivery]:
    """Up to ``limit`` due deliveries, locked (``FOR UPDATE SKIP LOCKED``) until the
    caller's transaction ends, so several dispatchers never take one row twice."""
    return [Delivery(**dict(row)) for row in await conn.fetch(_TAKE_DUE, limit)]


async def mark_delivered(conn: asyncpg.Connection, delivery: Delivery, status: int) -> None:
    await conn.execute(_DELIVERED, delivery.id, status)


async def mark_failed(
    conn: asyncpg.Connection,
    delivery: Delivery,
    status: int | None,
    retry_in: float,
    max_attempts: int,
    give_up: bool,
) -> None:
    """Count the attempt and set the next one ``retry_in`` s from now (the clock's
    now, not the transaction's: the post may have taken longer than the backoff);
    give up after ``max_attempts``, or now when ``give_up``."""
    await conn.execute(_FAILED, delivery.id, status, retry_in, max_attempts, give_up)


async def queue(pool: asyncpg.Pool) -> Queue:
    """Deliveries neither delivered nor given up, and the age of the oldest."""
    row = await pool.fetchrow(_QUEUE)
    return Queue(row["depth"], row["oldest_age"])
