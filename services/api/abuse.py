"""Abuse limits of the api: per-client-address rate limits, and limits on the
ciphertext bytes stored (all secrets', and each sender's), so a flood can neither
hog the service nor fill the disk.

Rate limits are per process: with N api replicas a client gets N times the rate,
so put the matching limit at the ingress too (docs/operations.md). The storage
limits are counted in the database, exactly across every replica (migration
0006)."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from services.api.errors import RateLimited
from services.server.client_address import client_of
from services.store import secrets
from services.store.errors import SenderQuotaFull, StorageFull

MAX_TRACKED_CLIENTS = 100_000
# Before a create is refused for storage, the bytes of ended secrets are counted
# back (a scan of the secrets table), at most this often per process.
RECOUNT_SECONDS = 1.0


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
    """Creates within the storage limits, which the database counts exactly (it only
    adds; ended secrets give their bytes back at a recount). Before refusing, this
    recounts, at most once every RECOUNT_SECONDS, and tries once more."""

    def __init__(self, limits: secrets.StorageLimits, quota_hash_key: bytes) -> None:
        self.limits = limits
        self._hash_key = quota_hash_key
        self._recounted_at = -math.inf

    def quota_key(self, sender: str) -> str:
        """The key of a sender's quota: a keyed hash, so the database does not hold
        who sent (an address, for an anonymous sender)."""
        return hmac.new(self._hash_key, sender.encode(), hashlib.sha256).hexdigest()[:32]

    async def create(
        self, pool: asyncpg.Pool, new: secrets.NewSecret, access: secrets.Access, sender: str
    ) -> secrets.Created:
        """Store ``new`` for ``sender`` (the identity its quota counts against)."""
        key = self.quota_key(sender)
        try:
            return await secrets.create_secret(pool, new, access, self.limits, key)
        except (StorageFull, SenderQuotaFull):
            now = time.monotonic()
            if now - self._recounted_at < RECOUNT_SECONDS:
                raise
            self._recounted_at = now
            await secrets.recount_storage(pool)
            return await secrets.create_secret(pool, new, access, self.limits, key)
