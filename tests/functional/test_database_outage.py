"""PostgreSQL goes away and comes back: the api answers 503 quickly (never 500, never a
hang), stays alive, recovers by itself, and loses no acknowledged secret."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.dev.embedded_postgres import EmbeddedPostgres
from services.server.appkeys import POOL
from tests.support.database import start_durable_postgres
from tests.support.fixtures_types import ClientWith, StartService
from tests.support.sealing import MadeSecret, make_secret
from tests.support.waiting import eventually

DB_TIMEOUT = 2.0


@pytest.fixture
async def own_postgres(session_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    # Durable, like production: an acknowledged create must survive an immediate stop.
    server = await start_durable_postgres(session_dir / "outage-postgres")
    yield server
    await asyncio.to_thread(server.stop, "immediate")


async def test_api_answers_503_during_an_outage_and_recovers_by_itself(
    own_postgres: EmbeddedPostgres, start_service: StartService
) -> None:
    apis = [start_service("api", own_postgres.url, DB_TIMEOUT=str(DB_TIMEOUT)) for _ in range(2)]
    before, during = make_secret(), make_secret()
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{apis[0].url}/api/v1/secrets", json=before.body)
        assert created.status == 201
        before_id = (await created.json())["id"]

        await asyncio.to_thread(own_postgres.stop, "immediate")
        statuses: Counter[int] = Counter()
        for api in apis:
            for method, path, body in [
                ("POST", "/api/v1/secrets", during.body),
                ("POST", f"/api/v1/secrets/{before_id}/reveal", before.reveal_body()),
                ("GET", "/readyz", None),
            ]:
                started = time.monotonic()
                async with http.request(method, api.url + path, json=body) as response:
                    statuses[response.status] += 1
                    assert response.status == 503, (path, response.status)
                    if path.startswith("/api/"):
                        problem = await response.json()
                        assert problem["type"] == "urn:burnafter:problem:database-unavailable"
                        assert "Traceback" not in await response.text()
                assert time.monotonic() - started < DB_TIMEOUT + 2
            async with http.get(api.url + "/healthz") as alive:
                assert alive.status == 200
        assert statuses == {503: 6}

        await asyncio.to_thread(own_postgres.start)
        back = time.monotonic()

        async def ready(url: str) -> bool:
            async with http.get(url + "/readyz") as answer:
                return answer.status == 200

        for api in apis:
            await eventually(
                functools.partial(ready, api.url),
                seconds=max(0.0, 5 - (time.monotonic() - back)),
                interval=0.1,
                what="ready within 5 s of PostgreSQL returning",
            )
        revealed = await http.post(
            f"{apis[1].url}/api/v1/secrets/{before_id}/reveal", json=before.reveal_body()
        )
        assert revealed.status == 200  # acknowledged before the outage, still there
        created = await http.post(f"{apis[1].url}/api/v1/secrets", json=during.body)
        assert created.status == 201
    for api in apis:
        assert api.process.poll() is None  # nothing was restarted


async def test_steady_load_through_an_outage_keeps_the_ledger_true(
    own_postgres: EmbeddedPostgres, start_service: StartService
) -> None:
    """Creates and reveals run the whole time; PostgreSQL stops for a while. Only 503
    and the usual answers come back; no acknowledged create is lost; no secret is
    revealed more than max_views times, by the ledger or by the database."""
    env = {"DB_TIMEOUT": str(DB_TIMEOUT), "RATE_LIMIT_CREATE": "0", "RATE_LIMIT_REVEAL": "0"}
    apis = [start_service("api", own_postgres.url, **env) for _ in range(2)]
    created: dict[str, MadeSecret] = {}  # id -> the secret, for every 201
    revealed: Counter[str] = Counter()  # id -> 200 answers to reveals
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()

    async def worker(n: int, http: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            api = apis[n % 2].url
            secret = make_secret(max_views=2)
            async with http.post(f"{api}/api/v1/secrets", json=secret.body) as response:
                statuses[response.status] += 1
                if response.status == 201:
                    created[(await response.json())["id"]] = secret
            for secret_id, known in list(created.items())[-3:]:
                url = f"{apis[(n + 1) % 2].url}/api/v1/secrets/{secret_id}/reveal"
                async with http.post(url, json=known.reveal_body()) as response:
                    statuses[response.status] += 1
                    if response.status == 200:
                        revealed[secret_id] += 1
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession() as http:
        workers = [asyncio.create_task(worker(n, http)) for n in range(4)]
        # The load runs: creates and reveals are acknowledged.
        await eventually(
            lambda: statuses[201] >= 10 and statuses[200] >= 5, seconds=30, what="load running"
        )
        await asyncio.to_thread(own_postgres.stop, "immediate")
        # Every worker meets the outage.
        await eventually(lambda: statuses[503] >= 4, seconds=30, what="503s during the outage")
        await asyncio.to_thread(own_postgres.start)
        # Back: creates and reveals are acknowledged again.
        created_before, revealed_before = statuses[201], statuses[200]
        await eventually(
            lambda: statuses[201] >= created_before + 10 and statuses[200] >= revealed_before + 5,
            seconds=30,
            what="creates and reveals succeeding again after the outage",
        )
        stop.set()
        await asyncio.gather(*workers)

    assert set(statuses) <= {200, 201, 404, 503}, statuses
    assert statuses[503] > 0 and statuses[201] > 0 and statuses[200] > 0
    assert max(revealed.values()) <= 2
    conn = await asyncpg.connect(own_postgres.url)
    try:
        rows = {r["id"]: r for r in await conn.fetch("SELECT id, views, max_views FROM receipts")}
    finally:
        await conn.close()
    assert set(created) <= set(rows)  # every acknowledged create survived
    for secret_id in created:
        # A reveal whose answer was lost in the outage may have counted: never more.
        assert revealed[secret_id] <= rows[secret_id]["views"] <= rows[secret_id]["max_views"]


async def test_readiness_answers_at_once_while_requests_hold_every_connection(
    api_with: ClientWith,
) -> None:
    # Requests that hold the whole pool make the instance busy, not unready: the
    # probe (timeout 1 s in the chart) must not wait behind them for DB_TIMEOUT, a
    # minute here, far past the client's patience.
    api = await api_with(DB_POOL_MAX="2", DB_TIMEOUT="60")
    pool = api.app[POOL]
    held = [await pool.acquire() for _ in range(2)]
    try:
        answer = await api.get("/readyz", timeout=aiohttp.ClientTimeout(total=5))
        assert (answer.status, await answer.json()) == (200, {"status": "ready"})
    finally:
        for conn in held:
            await pool.release(conn)


async def test_a_database_that_takes_no_writes_answers_503_and_is_not_ready(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    """What a standby, or a demoted primary still behind an address that has not moved,
    looks like: it answers, but refuses every write."""
    secret = make_secret()
    api = await api_with()
    created = await api.post("/api/v1/secrets", json=secret.body)
    secret_id = (await created.json())["id"]
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    read_only = await api_with()  # new connections take the database's new default
    assert (await read_only.get("/readyz")).status == 503
    for method, path, body in [
        ("POST", "/api/v1/secrets", make_secret().body),
        ("POST", f"/api/v1/secrets/{secret_id}/reveal", secret.reveal_body()),
    ]:
        answer = await read_only.request(method, path, json=body)
        assert answer.status == 503
        assert (await answer.json())["type"] == "urn:burnafter:problem:database-unavailable"
    assert await db.fetchval("SELECT views FROM receipts WHERE id = $1", secret_id) == 0
