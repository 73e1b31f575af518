"""Exactly N views: 200 reveals racing across two separate api processes."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import asyncpg
import pytest

from services.protocol.envelope import b64u_decode, open_secret
from tests.support.fixtures_types import StartService
from tests.support.sealing import make_secret, secret_passphrase
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

RACERS = 200


@pytest.fixture
def two_apis(database_url: str, start_service: StartService) -> list[ServiceProcess]:
    return [start_service("api", database_url), start_service("api", database_url)]


@pytest.mark.parametrize("max_views", [1, 5])
async def test_concurrent_reveals_across_two_processes_serve_exactly_max_views(
    two_apis: list[ServiceProcess], db: asyncpg.Connection, max_views: int
) -> None:
    secret = make_secret(max_views=max_views)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        created = await session.post(f"{two_apis[0].url}/api/v1/secrets", json=secret.body)
        secret_id = (await created.json())["id"]
        start = asyncio.Event()
        waiting: list[int] = []

        async def reveal(n: int) -> tuple[int, bytes | None]:
            waiting.append(n)
            await start.wait()
            url = f"{two_apis[n % 2].url}/api/v1/secrets/{secret_id}/reveal"
            async with session.post(url, json=secret.reveal_body()) as response:
                body = await response.json()
                return response.status, (
                    b64u_decode(body["ciphertext"]) if response.status == 200 else None
                )

        tasks = [asyncio.create_task(reveal(n)) for n in range(RACERS)]
        await eventually(lambda: len(waiting) == RACERS, what="every racer at the start line")
        start.set()
        results = await asyncio.gather(*tasks)

    statuses = Counter(status for status, _ in results)
    assert statuses == {200: max_views, 404: RACERS - max_views}
    for status, ciphertext in results:
        if status == 200:
            assert ciphertext is not None
            assert open_secret(ciphertext, secret.keys).text == secret.text
    receipt = await db.fetchrow("SELECT state, views FROM receipts WHERE id = $1", secret_id)
    assert tuple(receipt) == ("spent", max_views)
    viewed_events = await db.fetchval(
        "SELECT count(*) FROM access_events WHERE secret_id = $1 AND event = 'viewed'", secret_id
    )
    assert viewed_events == max_views
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0


async def test_wrong_passphrases_racing_at_the_limit_lock_exactly_once(
    two_apis: list[ServiceProcess], db: asyncpg.Connection
) -> None:
    secret = make_secret(passphrase=secret_passphrase())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        created = await session.post(f"{two_apis[0].url}/api/v1/secrets", json=secret.body)
        secret_id = (await created.json())["id"]

        async def attempt(n: int, passphrase: str | None) -> int:
            url = f"{two_apis[n % 2].url}/api/v1/secrets/{secret_id}/reveal"
            async with session.post(url, json=secret.reveal_body(passphrase=passphrase)) as r:
                return r.status

        results = await asyncio.gather(
            *(attempt(n, "wrong") for n in range(20)), *(attempt(n, None) for n in range(3))
        )
    wrong, right = Counter(results[:20]), Counter(results[20:])
    assert wrong[401] <= 5
    assert right[200] <= 1
    events = Counter(
        r["event"]
        for r in await db.fetch("SELECT event FROM access_events WHERE secret_id = $1", secret_id)
    )
    assert events["viewed"] == right[200]
    assert events["wrong_passphrase"] == wrong[401]
    state = await db.fetchval("SELECT state FROM receipts WHERE id = $1", secret_id)
    # One outcome only: either the right passphrase won before the fifth wrong one
    # (spent), or five wrong ones burned it first (burned), never both.
    assert state in ("spent", "burned")
    assert (state == "burned") == (events["burned"] == 1)
    assert (state == "spent") == (right[200] == 1)
