"""Benchmark: the admin dashboard with 100,000 receipts (about 180,000 events).

Starts its own PostgreSQL, seeds it, serves the app as ``make run`` does, and times
``/admin`` and ``/admin/audit`` over loopback, side by side with the dashboard's
bare SQL run straight on asyncpg (the floor the page cannot beat). Reproduce with:

    make bench-admin
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

from services.dev.app import build_app
from services.dev.embedded_postgres import EmbeddedPostgres
from services.server.log_setup import configure_logging
from services.server.settings import load_settings
from services.store import admin as admin_store
from services.store.migrations import migrate

RECEIPTS = 100_000
ROUNDS = 7
REQUESTS_PER_ROUND = 5
TOKEN = "bench-admin-token-0123456789"

SEED = """
INSERT INTO receipts (id, manage_verifier, state, max_views, max_attempts, passphrase,
                      ciphertext_bytes, created_at, expires_at, ended_at)
SELECT lpad(g::text, 22, '0'), '\\x00'::bytea,
       CASE WHEN g % 4 = 0 THEN 'active' ELSE 'spent' END, 1, 5, false,
       1053 + (g % 50) * 997,
       now() - make_interval(days => g % 45),
       now() + make_interval(hours => g % 700),
       CASE WHEN g % 4 = 0 THEN NULL ELSE now() - make_interval(days => g % 45) END
FROM generate_series(1, $1) AS g;

INSERT INTO access_events (secret_id, event, at, client_address, user_agent)
SELECT id, 'created', created_at, '10.' || (hashtext(id) & 255) || '.0.0/24', 'bench'
FROM receipts;
INSERT INTO access_events (secret_id, event, at, client_address, user_agent)
SELECT id, 'viewed', created_at + interval '1 hour', '10.1.0.0/24', 'bench'
FROM receipts WHERE state = 'spent';
INSERT INTO access_events (secret_id, event, at, client_address, user_agent)
SELECT id, 'wrong_passphrase', created_at, '203.0.' || (hashtext(id) & 15) || '.0/24', 'bench'
FROM receipts WHERE hashtext(id) % 20 = 0;
ANALYZE;
"""


async def bare_sql(pool: asyncpg.Pool) -> None:
    await admin_store.daily_counts(pool, 30)
    await admin_store.active_secrets(pool)
    await admin_store.failed_unlock_hotspots(pool, 7, 10)


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    configure_logging("console", "WARNING")
    folder = Path(tempfile.mkdtemp(prefix="burnafter-bench-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "postgres", durable=False)
    url = await asyncio.to_thread(server.start)
    try:
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.execute(SEED.replace("$1", str(RECEIPTS)))
        events = await conn.fetchval("SELECT count(*) FROM access_events")
        await conn.close()
        settings = dataclasses.replace(
            load_settings({"DATABASE_URL": url, "ADMIN_TOKEN": TOKEN, "LOG_LEVEL": "WARNING"}),
            metrics_port=0,
        )
        runner = web.AppRunner(build_app(settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        results: dict[str, list[float]] = {"/admin": [], "/admin/audit": [], "bare SQL": []}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def page(path: str) -> None:
                async with http.get(base + path) as response:
                    assert response.status == 200
                    await response.read()

            for _ in range(ROUNDS):  # interleaved, so noise hits all three alike
                for _ in range(REQUESTS_PER_ROUND):
                    results["/admin"].append(await timed(lambda: page("/admin")))
                    results["/admin/audit"].append(await timed(lambda: page("/admin/audit?page=3")))
                    results["bare SQL"].append(await timed(lambda: bare_sql(pool)))
        await pool.close()
        await runner.cleanup()
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)

    print(f"admin dashboard, {RECEIPTS:,} receipts, {events:,} events, "
          f"{ROUNDS * REQUESTS_PER_ROUND} requests each, interleaved")  # fmt: skip
    print(f"{'':14} {'median ms':>10} {'min':>8} {'max':>8}")
    for name, times in results.items():
        print(f"{name:14} {statistics.median(times):10.1f} {min(times):8.1f} {max(times):8.1f}")
    ratio = statistics.median(results["/admin"]) / statistics.median(results["bare SQL"])
    print(f"/admin median / bare SQL median: {ratio:.2f}x  (target: /admin under 200 ms)")
    print("reproduce: make bench-admin")


if __name__ == "__main__":
    asyncio.run(main())
