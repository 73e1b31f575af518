"""Abuse limits of the api: the client key of its rate limits
(services/server/rate_limits.py), and limits on the ciphertext bytes stored (all
secrets', and each sender's), so a flood can neither hog the service nor fill the
disk. The storage limits are counted in the database, exactly across every
replica (migration 0006)."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from aiohttp import web

from services.api.requests import max_sealed_bytes
from services.server.client_address import client_of
from services.server.settings import Limits
from services.store import contents, secret_requests, secrets
from services.store.errors import SenderQuotaFull, StorageFull

T = TypeVar("T")

# Before a create is refused for storage, the bytes of ended secrets are counted
# back (a scan of the secrets table), at most this often per process.
RECOUNT_SECONDS = 1.0


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
        return hmac.digest(self._hash_key, sender.encode(), "sha256").hex()[:32]

    def _counted_key(self, sender: str) -> str | None:
        """The quota key a create stores, None without a quota (the store keeps none
        then, and it is an HMAC spared on every create)."""
        return self.quota_key(sender) if self.limits.quota else None

    async def create(
        self, pool: asyncpg.Pool, new: secrets.NewSecret, access: secrets.Access, sender: str
    ) -> secrets.Created:
        """Store ``new`` for ``sender`` (the identity its quota counts against)."""
        key = self._counted_key(sender)
        return await self._within(
            pool, lambda: secrets.create_secret(pool, new, access, self.limits, key)
        )

    async def create_content(
        self,
        pool: asyncpg.Pool,
        content: contents.NewContent,
        link: contents.NewLink,
        access: secrets.Access,
        sender: str,
        recipients: Sequence[contents.NewRecipient] = (),
    ) -> contents.ContentCreated:
        """Store a v2 ``content`` and its ``link`` (or its ``recipients``' links) for
        ``sender``, its declared size reserved before any other segment arrives."""
        key = self._counted_key(sender)
        return await self._within(
            pool,
            lambda: contents.create_content(
                pool, content, link, access, self.limits, key, recipients
            ),
        )

    async def answer_request(
        self,
        pool: asyncpg.Pool,
        request_id: str,
        fill_claim: bytes,
        content: contents.NewContent,
        wrapped_key: bytes,
        service: Limits,
        access: secrets.Access,
    ) -> contents.ContentCreated:
        """Store a request's answer within the storage cap and its asker's quota (the
        quota key the request holds), and within the service's limits."""
        return await self._within(
            pool,
            lambda: secret_requests.answer(
                pool,
                request_id,
                fill_claim,
                content,
                wrapped_key,
                max_sealed_bytes(service),
                service.max_attempts,
                access,
                self.limits,
                service.max_content_bytes,
            ),
        )

    async def _within(self, pool: asyncpg.Pool, store: Callable[[], Awaitable[T]]) -> T:
        try:
            return await store()
        except (StorageFull, SenderQuotaFull):
            now = time.monotonic()
            if now - self._recounted_at < RECOUNT_SECONDS:
                raise
            self._recounted_at = now
            await secrets.recount_storage(pool)
            return await store()
