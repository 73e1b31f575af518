"""Abuse limits of the api: per-client-address rate limits, and a cap on the
ciphertext bytes stored, so a flood can neither hog the service nor fill the disk.

Both are per process: with N api replicas a client gets N times the rate, so put
the matching limit at the ingress too (docs/operations.md). The storage total is
re-read every few seconds and counts this process's creates in between, so the
cap can be overshot by at most what the replicas accept in one interval."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from services.api.errors import RateLimited, StorageFull
from services.server.client_address import client_of
from services.store import secrets

MAX_TRACKED_CLIENTS = 100_000
STORAGE_REFRESH_SECONDS = 5.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets per (action, client): ``per_minute`` requests, bursting to the same."""

    def __init__(self, per_minute: dict[str, int]) -> None:
        self.per_minute = per_minute
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def take(self, action: str, client: str, now: float | None = None) -> None:
        limit = self.per_minute.get(action, 0)
        if limit <= 0:
            return
        now = time.monotonic() if now is None else now
        key = (action, client)
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(limit), at=now)
        bucket.tokens = min(limit, bucket.tokens + (now - bucket.at) * limit / 60)
        bucket.at = now
        self._buckets[key] = bucket  # most recent last; the oldest go first when full
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            raise RateLimited(math.ceil((1 - bucket.tokens) * 60 / limit))
        bucket.tokens -= 1


def client_key(request: web.Request) -> str:
    """The client as rate limits see it (``services/server/client_address.py``)."""
    return client_of(request).rate_limit_key


class StorageCap:
    """Refuses a create that would put the live ciphertext over ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._read_at = -math.inf

    async def reserve(self, pool: asyncpg.Pool, size: int) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        if now - self._read_at > STORAGE_REFRESH_SECONDS:
            self.used = await secrets.stored_ciphertext_bytes(pool)
            self._read_at = now
        if self.used + size > self.limit:
            raise StorageFull
        self.used += size
