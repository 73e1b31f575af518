"""Exactly N views: 200 reveals racing across two separate api processes."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.protocol.envelope import b64u_decode, open_secret
from services.worker.reaper import reap_once
from tests.support.sealing import make_secret, seal_content, secret_passphrase
from tests.support.services import ServiceProcess, make_settings
from tests.support.waiting import eventually

RACERS = 200
# Small segments, so that the large secret below has many.
TWO_APIS_ENV = {"SEGMENT_SIZE": "1024"}


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


async def test_racing_reveals_of_a_large_secret_give_one_grant_used_once(
    two_apis: list[ServiceProcess], database_url: str, db: asyncpg.Connection
) -> None:
    """Issue 15: a one-view secret of many segments, 200 reveals across two api
    processes: exactly one grant; it serves every segment once over, and nothing after
    it completes; then the segments go from the database."""
    apis = two_apis
    sealed = seal_content(1024, "", os.urandom(20_000))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        created = await (
            await session.post(f"{apis[0].url}/api/v1/contents", json=sealed.body)
        ).json()
        contents = f"{apis[1].url}/api/v1/contents/{created['id']}"
        upload = {
            "Authorization": f"Bearer {created['upload']['token']}",
            "Content-Type": "application/octet-stream",
        }
        for index, data in enumerate(sealed.segments[1:], start=1):
            async with session.put(f"{contents}/segments/{index}", data=data, headers=upload) as r:
                assert r.status == 200
        async with session.post(f"{contents}/finalize", headers=upload) as r:
            assert r.status == 200

        async def reveal(n: int) -> tuple[int, dict[str, Any]]:
            url = f"{apis[n % 2].url}/api/v1/secrets/{created['id']}/reveal"
            async with session.post(url, json=sealed.claim()) as response:
                return response.status, await response.json()

        results = await asyncio.gather(*(reveal(n) for n in range(RACERS)))
        assert Counter(status for status, _ in results) == {200: 1, 404: RACERS - 1}
        assert await db.fetchval("SELECT count(*) FROM download_grants") == 1
        won = next(body for status, body in results if status == 200)
        grant = {"Authorization": f"Bearer {won['download']['token']}"}
        received = [b64u_decode(won["first_segment"])]
        for index in range(1, won["segment_count"]):
            async with session.get(f"{contents}/segments/{index}", headers=grant) as r:
                received.append(await r.read())
        assert received == sealed.segments
        async with session.post(f"{contents}/downloaded", headers=grant) as r:
            assert r.status == 204
        for again in (f"{contents}/segments/1", f"{contents}/segments/2"):
            async with session.get(again, headers=grant) as r:
                assert r.status == 404  # the grant cannot be used twice
    # Over 16 segments, the download's end released it; the reaper deletes the rest.
    assert await db.fetchval("SELECT state FROM contents") == "released"
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        await reap_once(pool, make_settings(database_url))
    assert await db.fetchval("SELECT count(*) FROM segments") == 0
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
