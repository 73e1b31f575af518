"""Behind PgBouncer in transaction mode (Debian's ``pgbouncer``, fewer server
connections than clients): the lifecycle, migrations, the reaper and the webhook
dispatcher work with ``DB_STATEMENT_CACHE_SIZE=0``; without it, requests answer 503
and the log names the fix, never 500. The races across two api processes run
through PgBouncer too (the ``two_apis`` fixture)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import aiohttp
import asyncpg

from services.store.migrations import load_migrations
from tests.functional.test_secret_lifecycle import expire_now
from tests.functional.test_webhooks import HOOK_SECRET, Receiver
from tests.support.cli import cli
from tests.support.database import PostgresServer, create_database
from tests.support.fixtures_types import StartService
from tests.support.leaks import LEAK_WATCH
from tests.support.pgbouncer import PgBouncer
from tests.support.sealing import make_secret
from tests.support.waiting import eventually
from tools.net import free_port

NO_CACHE = {"DB_STATEMENT_CACHE_SIZE": "0", "RATE_LIMIT_CREATE": "0"}
SECRETS = "/api/v1/secrets"


async def test_the_whole_lifecycle_runs_through_pgbouncer(
    pgbouncer: PgBouncer, database_url: str, start_service: StartService, db: asyncpg.Connection
) -> None:
    api = start_service("api", pgbouncer.url_for(database_url), **NO_CACHE)
    async with aiohttp.ClientSession(base_url=api.url) as http:
        for _ in range(3):  # more transactions than PgBouncer has server connections
            secret = make_secret(max_views=2, label="through the pooler")
            created = await http.post(SECRETS, json=secret.body)
            assert created.status == 201
            secret_id = (await created.json())["id"]
            peek = await http.post(f"{SECRETS}/{secret_id}/peek", json=secret.claim_body())
            assert (await peek.json())["views_left"] == 2
            reveal = await http.post(f"{SECRETS}/{secret_id}/reveal", json=secret.reveal_body())
            assert reveal.status == 200
            revoke = await http.delete(f"{SECRETS}/{secret_id}", headers=secret.bearer)
            assert revoke.status == 204
            receipt = await http.get(f"/api/v1/receipts/{secret_id}", headers=secret.bearer)
            body = await receipt.json()
            assert (body["state"], body["views"]) == ("revoked", 1)
            assert [e["event"] for e in body["events"]] == ["created", "viewed", "revoked"]
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0


async def test_without_the_statement_cache_off_requests_answer_503_and_the_log_says_why(
    pgbouncer: PgBouncer, database_url: str, start_service: StartService
) -> None:
    """asyncpg prepares each statement once per connection and names it; through a
    pooler in transaction mode the next transaction may run on a server connection
    where that name is missing, or is another client's."""
    api = start_service("api", pgbouncer.url_for(database_url), RATE_LIMIT_CREATE="0")
    async with aiohttp.ClientSession(base_url=api.url) as http:

        async def create() -> int:
            async with http.post(SECRETS, json=make_secret().body) as response:
                return response.status

        statuses = Counter(await asyncio.gather(*(create() for _ in range(60))))
    assert set(statuses) <= {201, 503}
    assert statuses[503] > 0
    lines = [json.loads(line) for line in api.log.read_text().splitlines() if line.startswith("{")]
    lost = [line for line in lines if line["event"] == "database_statements_lost"]
    assert lost
    assert lost[0]["fix"] == "behind a pooler in transaction mode, set DB_STATEMENT_CACHE_SIZE=0"


async def test_migrations_run_through_pgbouncer_two_at_once(
    pgbouncer: PgBouncer, postgres: PostgresServer
) -> None:
    """Each migration takes a transaction-level lock: a session lock would be taken on
    one server connection and released (or not) on another."""
    url = pgbouncer.url_for(await create_database(postgres, migrated=False))
    env = {"DATABASE_URL": url, "DB_STATEMENT_CACHE_SIZE": "0"}
    runs = await asyncio.gather(*(cli("migrate", env=env) for _ in range(2)))
    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    conn = await asyncpg.connect(url, statement_cache_size=0)
    try:
        versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in versions] == [m.version for m in load_migrations()]
        held = await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert held == 0
    finally:
        await conn.close()


async def test_the_reaper_and_the_webhook_dispatcher_work_through_pgbouncer(
    pgbouncer: PgBouncer,
    database_url: str,
    start_service: StartService,
    db: asyncpg.Connection,
) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    try:
        LEAK_WATCH.add("webhook secret", HOOK_SECRET)
        hooks = [{"name": "ops", "url": receiver.url, "secret": HOOK_SECRET, "format": "json"}]
        url = pgbouncer.url_for(database_url)
        env = {"WEBHOOKS": json.dumps(hooks), **NO_CACHE}
        api = start_service("api", url, **env)
        start_service("reaper", url, REAPER_INTERVAL="0.2", **env)
        viewed, expiring = make_secret(notify=["ops"]), make_secret(notify=["ops"])
        async with aiohttp.ClientSession(base_url=api.url) as http:
            ids = []
            for secret in (viewed, expiring):
                async with http.post(SECRETS, json=secret.body) as created:
                    ids.append((await created.json())["id"])
            async with http.post(f"{SECRETS}/{ids[0]}/reveal", json=viewed.reveal_body()) as r:
                assert r.status == 200
        await expire_now(db, ids[1])

        async def reaped() -> bool:
            return not await db.fetchval("SELECT count(*) FROM secrets")

        await eventually(reaped, what="the reaper deleted the expired secret")
        assert await db.fetchval("SELECT state FROM receipts WHERE id = $1", ids[1]) == "expired"
        wanted = {"secret.viewed", "secret.expired"}
        await eventually(
            lambda: wanted <= {payload["event"] for payload in receiver.payloads()},
            what="the dispatcher posted the view and the expiry",
        )
    finally:
        await receiver.stop()
