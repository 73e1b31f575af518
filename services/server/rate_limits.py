"""Token-bucket rate limits per (action, client), in this process: the api's limits
per client address, and the web's limit on wrong admin tokens. With N replicas a
client gets N times the rate, so put the matching limit at the ingress too
(docs/operations.md)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_TRACKED_CLIENTS = 100_000


class RateLimited(Exception):
    """Over this client's rate for an action; ``retry_after`` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets per (action, client): ``per_minute`` requests, bursting to the same."""

    def __init__(self, per_minute: dict[str, int]) -> None:
        self.per_minute = per_minute
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def check(self, action: str, client: str, now: float | None = None) -> None:
        """Raise RateLimited if the client has nothing left, without spending."""
        self._spend(action, client, 0, now)

    def take(self, action: str, client: str, now: float | None = None) -> None:
        """Spend one, or raise RateLimited."""
        self._spend(action, client, 1, now)

    def _spend(self, action: str, client: str, cost: int, now: float | None) -> None:
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
        bucket.tokens -= cost
