"""Abuse limits: per-client rate limits (429 with Retry-After) and the stored
ciphertext cap (507), each visible as a metric, and neither changes anything."""

from __future__ import annotations

import asyncpg
import pytest
from prometheus_client import generate_latest

from services.server.appkeys import REGISTRY
from services.server.rate_limits import RateLimited, RateLimiter
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.sealing import make_secret


def metric(client: ApiClient, line_start: str) -> float:
    text = generate_latest(client.app[REGISTRY]).decode()
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.split()[-1])


async def test_creates_over_the_rate_get_429_with_retry_after(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await api_with(RATE_LIMIT_CREATE="3", TRUSTED_PROXIES="127.0.0.1/32")
    for _ in range(3):
        assert (await api.post("/api/v1/secrets", json=make_secret().body)).status == 201
    refused = await api.post("/api/v1/secrets", json=make_secret().body)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["type"] == "urn:burnafter:problem:rate-limited"
    assert await db.fetchval("SELECT count(*) FROM secrets") == 3
    other = {"X-Forwarded-For": "198.51.100.7"}  # another client behind the trusted proxy
    assert (await api.post("/api/v1/secrets", json=make_secret().body, headers=other)).status == 201
    assert metric(api, 'burnafter_rate_limited_total{action="create"}') == 1


async def test_reveals_and_peeks_are_limited_apart(api_with: ClientWith) -> None:
    api = await api_with(RATE_LIMIT_REVEAL="2", RATE_LIMIT_PEEK="1")
    secret = make_secret(max_views=5)
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    assert (await api.post(f"/api/v1/secrets/{sid}/peek", json=secret.claim_body())).status == 200
    assert (await api.post(f"/api/v1/secrets/{sid}/peek", json=secret.claim_body())).status == 429
    statuses = [
        (await api.post(f"/api/v1/secrets/{sid}/reveal", json=secret.reveal_body())).status
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert metric(api, 'burnafter_rate_limited_total{action="reveal"}') == 1


def test_the_bucket_refills_at_the_configured_rate() -> None:
    limiter = RateLimiter({"create": 60})  # one a second
    for _ in range(60):
        limiter.take("create", "a", now=100.0)
    with pytest.raises(RateLimited) as refused:
        limiter.take("create", "a", now=100.0)
    assert refused.value.retry_after == 1
    limiter.take("create", "a", now=101.0)
    limiter.take("create", "b", now=101.0)  # another client has its own bucket
    RateLimiter({"create": 0}).take("create", "a")  # 0 turns the limit off


async def test_the_stored_ciphertext_cap_refuses_with_507(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    size = len(make_secret().body["ciphertext"]) * 3 // 4  # base64url to bytes
    api = await api_with(MAX_STORED_CIPHERTEXT_BYTES=str(size * 2 + 10))
    for _ in range(2):
        assert (await api.post("/api/v1/secrets", json=make_secret().body)).status == 201
    full = await api.post("/api/v1/secrets", json=make_secret().body)
    assert full.status == 507
    assert (await full.json())["type"] == "urn:burnafter:problem:storage-full"
    assert await db.fetchval("SELECT count(*) FROM secrets") == 2
    assert metric(api, 'burnafter_storage_full_total{limit="all"}') == 1
    assert metric(api, "burnafter_stored_ciphertext_bytes") == size * 2
