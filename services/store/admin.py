"""The admin dashboard's SQL: aggregates and history, never ciphertext.

Unlike the hot path, these queries scan by time across secrets; they are bounded
(30 days, fixed buckets, paged history) and run on the web service only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from services.store.vocabulary import EventKind

CHARTED_EVENTS = (
    EventKind.CREATED,
    EventKind.VIEWED,
    EventKind.EXPIRED,
    EventKind.REVOKED,
    EventKind.BURNED,
)
SIZE_BUCKETS = (1024, 4096, 65536, 262144, 1048576)
EXPIRY_BUCKETS = (3600, 86400, 7 * 86400, 30 * 86400)

_DAILY_COUNTS = """
SELECT (at AT TIME ZONE 'UTC')::date AS day, event, count(*) AS n
FROM access_events
WHERE at >= (date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => $1 - 1))
             AT TIME ZONE 'UTC'
  AND event = ANY($2::text[])
GROUP BY 1, 2
"""
_ACTIVE = """
WITH active AS (
    -- A share of several recipients holds its content once: one row per share.
    SELECT DISTINCT ON (coalesce(share_id, id))
           ciphertext_bytes, extract(epoch FROM expires_at - now())::float8 AS expires_in
    FROM receipts WHERE state = 'active' AND expires_at > now()
)
SELECT 'size' AS kind, width_bucket(ciphertext_bytes, $1::int[]) AS bucket,
       count(*) AS n, sum(ciphertext_bytes)::bigint AS bytes
FROM active GROUP BY 2
UNION ALL
SELECT 'expiry', width_bucket(expires_in, $2::float8[]), count(*), 0 FROM active GROUP BY 2
"""
_HOTSPOTS = """
SELECT coalesce(client_address, 'unknown') AS client_address, count(*) AS failures,
       max(at) AS last_at
FROM access_events
WHERE event = 'wrong_passphrase' AND at >= now() - make_interval(days => $1)
GROUP BY 1 ORDER BY 2 DESC, 3 DESC LIMIT $2
"""
_HISTORY = """
SELECT at, event, secret_id, client_address, user_agent
FROM access_events
WHERE ($1::text IS NULL OR event = $1) AND ($2::text IS NULL OR client_address = $2)
ORDER BY at DESC, seq DESC
LIMIT $3 OFFSET $4
"""


@dataclass(frozen=True)
class ActiveSecrets:
    """Live secrets, with counts per bucket: below the first bound, between each pair
    of bounds, and at or above the last (``len(bounds) + 1`` counts)."""

    count: int
    bytes: int
    by_size: tuple[int, ...]
    by_expiry: tuple[int, ...]


@dataclass(frozen=True)
class Hotspot:
    client_address: str
    failures: int
    last_at: datetime


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    event: EventKind
    secret_id: str
    client_address: str | None
    user_agent: str | None


async def daily_counts(pool: asyncpg.Pool, days: int) -> dict[tuple[date, EventKind], int]:
    rows = await pool.fetch(_DAILY_COUNTS, days, list(CHARTED_EVENTS))
    return {(row["day"], EventKind(row["event"])): row["n"] for row in rows}


async def active_secrets(pool: asyncpg.Pool) -> ActiveSecrets:
    rows = await pool.fetch(_ACTIVE, list(SIZE_BUCKETS), [float(b) for b in EXPIRY_BUCKETS])
    by_size = [0] * (len(SIZE_BUCKETS) + 1)
    by_expiry = [0] * (len(EXPIRY_BUCKETS) + 1)
    for row in rows:
        (by_size if row["kind"] == "size" else by_expiry)[row["bucket"]] = row["n"]
    return ActiveSecrets(
        count=sum(by_size),
        bytes=sum(row["bytes"] for row in rows),
        by_size=tuple(by_size),
        by_expiry=tuple(by_expiry),
    )


async def failed_unlock_hotspots(pool: asyncpg.Pool, days: int, limit: int) -> list[Hotspot]:
    return [Hotspot(**dict(row)) for row in await pool.fetch(_HOTSPOTS, days, limit)]


async def audit_history(
    pool: asyncpg.Pool,
    event: EventKind | None,
    client_address: str | None,
    limit: int,
    offset: int,
) -> list[HistoryRow]:
    rows = await pool.fetch(_HISTORY, event, client_address, limit, offset)
    return [
        HistoryRow(
            row["at"],
            EventKind(row["event"]),
            row["secret_id"],
            row["client_address"],
            row["user_agent"],
        )
        for row in rows
    ]
