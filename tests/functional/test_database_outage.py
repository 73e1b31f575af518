"""PostgreSQL goes away and comes back: the api answers 503 quickly (never 500, never a
hang), stays alive, recovers by itself, and loses no acknowledged secret."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.common.embedded_postgres import EmbeddedPostgres
from services.common.migrations import migrate
from tests.support import LEAK_WATCH, make_secret

DB_TIMEOUT = 2.0


@pytest.fixture
async def own_postgres(session_dir: Path):
    """A PostgreSQL of this test's own, which it may stop and start."""
    # Durable, like production: an acknowledged create must survive an immediate stop.
    server = EmbeddedPostgres(session_dir / "outage-postgres")
    await asyncio.to_thread(server.start)
    LEAK_WATCH.log_files.append(server.datadir / "server.log")
    conn = await asyncpg.connect(server.url)
    await migrate(conn)
    await conn.close()
    yield server
    await asyncio.to_thread(server.stop, "immediate")


async def test_api_answers_503_during_an_outage_and_recovers_by_itself(
    own_postgres: EmbeddedPostgres, start_service
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
        for api in apis:
            while True:
                async with http.get(api.url + "/readyz") as ready:
                    if ready.status == 200:
                        break
                assert time.monotonic() - back < 5, "not ready within 5 s of PostgreSQL returning"
                await asyncio.sleep(0.1)
        revealed = await http.post(
            f"{apis[1].url}/api/v1/secrets/{before_id}/reveal", json=before.reveal_body()
        )
        assert revealed.status == 200  # acknowledged before the outage, still there
        created = await http.post(f"{apis[1].url}/api/v1/secrets", json=during.body)
        assert created.status == 201
    for api in apis:
        assert api.process.poll() is None  # nothing was restarted
