"""Processes die: kill -9 an api under load, kill a reaper mid-batch, run two
reapers at once. Afterwards every secret is consistent: views, receipt and events
agree, and nothing is half-burned."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from services.server.settings import Settings
from services.worker.reaper import reap_once
from tests.support.cli import cli
from tests.support.fixtures_types import StartService
from tests.support.sealing import make_secret
from tests.support.waiting import eventually

CONSISTENCY = """
WITH events AS (
    SELECT secret_id,
           count(*) FILTER (WHERE event = 'viewed') AS viewed_events,
           count(*) FILTER (WHERE event = 'expired') AS expired_events
    FROM access_events GROUP BY secret_id
)
SELECT r.id, r.state, r.views, r.max_views, s.views_left, s.id IS NOT NULL AS live,
       coalesce(e.viewed_events, 0) AS viewed_events,
       coalesce(e.expired_events, 0) AS expired_events
FROM receipts r
LEFT JOIN secrets s ON s.id = r.id
LEFT JOIN events e ON e.secret_id = r.id
"""


async def assert_consistent(db: asyncpg.Connection) -> int:
    """Check every secret; return how many there are."""
    rows = await db.fetch(CONSISTENCY)
    for row in rows:
        where = dict(row)
        assert row["live"] == (row["state"] == "active"), where
        assert row["viewed_events"] == row["views"], where
        if row["live"]:
            assert row["views_left"] == row["max_views"] - row["views"], where
        if row["state"] == "spent":
            assert row["views"] == row["max_views"], where
        assert row["expired_events"] == (1 if row["state"] == "expired" else 0), where
    return len(rows)


async def test_kill_9_of_one_api_under_load_leaves_the_other_serving_and_nothing_half_burned(
    database_url: str, start_service: StartService, db: asyncpg.Connection
) -> None:
    limits_off = {"RATE_LIMIT_CREATE": "0", "RATE_LIMIT_REVEAL": "0"}
    apis = [start_service("api", database_url, **limits_off) for _ in range(2)]
    outcomes: dict[int, list[int | str]] = {0: [], 1: []}

    async def pair(http: aiohttp.ClientSession, n: int) -> None:
        target = n % 2
        secret = make_secret(max_views=2)
        try:
            created = await http.post(f"{apis[target].url}/api/v1/secrets", json=secret.body)
            sid = (await created.json())["id"]
            revealed = await http.post(
                f"{apis[target].url}/api/v1/secrets/{sid}/reveal", json=secret.reveal_body()
            )
            outcomes[target].append(revealed.status)
        except aiohttp.ClientError:
            outcomes[target].append("connection")

    async with aiohttp.ClientSession() as http:
        first = [asyncio.create_task(pair(http, n)) for n in range(40)]
        # Under load: the first process has answered some of its pairs, not all.
        await eventually(lambda: outcomes[0], what="the first api serving the load")
        apis[0].process.send_signal(signal.SIGKILL)
        rest = [asyncio.create_task(pair(http, n)) for n in range(40, 120)]
        await asyncio.gather(*first, *rest)
    assert set(outcomes[1]) == {200}  # the survivor served everything
    assert "connection" in outcomes[0]  # the killed one really died mid-load
    assert await assert_consistent(db) >= len(outcomes[1])


async def test_a_reaper_killed_mid_batch_leaves_everything_consistent(
    database_url: str, db: asyncpg.Connection
) -> None:
    await seed_expired(db, 30_000)
    reaper = await asyncio.create_subprocess_exec(
        "burnafter", "reaper", "--once",
        env={"DATABASE_URL": database_url, "REAPER_BATCH_SIZE": "30000", "PATH": path()},
    )  # fmt: skip
    # Wait until its batch statement is running, then kill it.
    await eventually(
        lambda: reaper_backends(db), seconds=30, interval=0.01, what="the reaper's batch running"
    )
    reaper.kill()
    await reaper.wait()

    async def no_reaper_backend() -> bool:
        return not await reaper_backends(db)

    # The server finishes or rolls back the orphaned statement.
    await eventually(no_reaper_backend, seconds=30, what="the orphaned batch gone")
    assert await assert_consistent(db) == 30_000
    finish = await cli("reaper", "--once", env={"DATABASE_URL": database_url})
    assert finish.returncode == 0
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0
    assert await assert_consistent(db) == 30_000


async def test_two_reapers_at_once_delete_each_row_exactly_once(
    database_url: str, db: asyncpg.Connection
) -> None:
    await seed_expired(db, 5000)
    env = {"DATABASE_URL": database_url, "REAPER_BATCH_SIZE": "200", "LOG_FORMAT": "json"}
    first, second = await asyncio.gather(
        cli("reaper", "--once", env=env), cli("reaper", "--once", env=env)
    )
    assert first.returncode == second.returncode == 0
    refs = [
        {
            json.loads(line)["secret_ref"]
            for line in run.stderr.decode().splitlines()
            if '"secret.expired"' in line
        }
        for run in (first, second)
    ]
    assert not refs[0] & refs[1]  # no row deleted twice
    assert len(refs[0] | refs[1]) == 5000
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0
    assert await assert_consistent(db) == 5000


async def reaper_backends(db: asyncpg.Connection) -> int:
    """Server backends running a reaper batch (other than this connection)."""
    count: int = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%FOR UPDATE SKIP LOCKED%'"
        " AND state = 'active' AND pid <> pg_backend_pid()"
    )
    return count


async def seed_expired(db: asyncpg.Connection, count: int) -> None:
    """``count`` live secrets that expired a minute ago, with their receipts."""
    await db.execute(
        """
        WITH s AS (
            INSERT INTO secrets (id, ciphertext, claim_verifier, views_left, attempts_left,
                                 expires_at)
            SELECT lpad(g::text, 22, '0'), '\\x01'::bytea, '\\x00'::bytea, 1, 5,
                   now() - interval '1 minute'
            FROM generate_series(1, $1) AS g
            RETURNING id, expires_at
        )
        INSERT INTO receipts (id, manage_verifier, max_views, max_attempts, passphrase,
                              ciphertext_bytes, expires_at)
        SELECT id, '\\x00'::bytea, 1, 5, false, 1, expires_at FROM s
        """,
        count,
    )


def count_reaches(counter: Counter[str], key: str, at_least: int) -> Callable[[], bool]:
    return lambda: counter[key] >= at_least


async def refuses(http: aiohttp.ClientSession, url: str) -> bool:
    """The service at ``url`` no longer answers: it refuses the connection, or closes
    it before any answer."""
    try:
        async with http.get(f"{url}/healthz"):
            return False
    except aiohttp.ClientConnectionError:
        return True


async def lock_waiters(db: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock (other than this connection)."""
    count: int = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database() AND pid <> pg_backend_pid()"
    )
    return count


def path() -> str:
    import os
    import sys

    return f"{Path(sys.executable).parent}:{os.environ['PATH']}"


async def test_reveals_racing_the_reaper_at_the_expiry_instant_end_one_way_each(
    database_url: str, start_service: StartService, settings: Settings, db: asyncpg.Connection
) -> None:
    api = start_service("api", database_url, RATE_LIMIT_CREATE="0", RATE_LIMIT_REVEAL="0")
    # A round whose reveals all land on one side of the instant (a busy machine can
    # stall the test for longer than the window) proves nothing about the race, but
    # must still end consistently; the race must be crossed in one of a few rounds.
    crossed = False
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            statuses, states = await race_the_reaper_once(http, api.url, database_url, settings, db)
            assert set(statuses) <= {200, 404}
            assert states["spent"] == statuses.count(200)
            assert states["spent"] + states["expired"] == 40
            if states["spent"] and states["expired"]:
                crossed = True  # the race window was really crossed
                break
    assert crossed, "no round had reveals on both sides of the expiry instant"


async def race_the_reaper_once(
    http: aiohttp.ClientSession,
    api_url: str,
    database_url: str,
    settings: Settings,
    db: asyncpg.Connection,
) -> tuple[list[int], Counter[str]]:
    """40 secrets expiring at one instant, revealed from 300 ms before it to 285 ms
    after while the reaper runs every 10 ms across it; answers the reveals' statuses
    and the receipts' states, once everything is reaped and checked consistent."""
    secrets = [make_secret() for _ in range(40)]
    ids = []
    for secret in secrets:
        created = await http.post(f"{api_url}/api/v1/secrets", json=secret.body)
        ids.append((await created.json())["id"])
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    # Every secret expires at the same instant, 400 ms from now (set last, so that
    # nothing slow on a busy machine stands between it and the reveals below).
    expiry = await db.fetchval("SELECT now() + interval '400 milliseconds'")
    await db.execute("UPDATE secrets SET expires_at = $1 WHERE id = any($2)", expiry, ids)
    await db.execute("UPDATE receipts SET expires_at = $1 WHERE id = any($2)", expiry, ids)

    async def reveal(n: int) -> int:
        await asyncio.sleep(0.1 + n * 0.015)  # from 300 ms before the instant to 285 after
        url = f"{api_url}/api/v1/secrets/{ids[n]}/reveal"
        async with http.post(url, json=secrets[n].reveal_body()) as response:
            return response.status

    async def reap_through_the_instant() -> None:
        await asyncio.sleep(0.3)
        for _ in range(40):  # one pass every 10 ms across the expiry instant
            await reap_once(pool, settings)
            await asyncio.sleep(0.01)

    reaping = asyncio.ensure_future(reap_through_the_instant())
    statuses = list(await asyncio.gather(*(reveal(n) for n in range(40))))
    await reaping
    await pool.close()
    await cli("reaper", "--once", env={"DATABASE_URL": database_url})
    await assert_consistent(db)
    rows = await db.fetch("SELECT state FROM receipts WHERE id = any($1)", ids)
    return statuses, Counter(r["state"] for r in rows)


async def test_sigterm_finishes_the_request_in_flight_then_exits(
    database_url: str, start_service: StartService, db: asyncpg.Connection
) -> None:
    api = start_service("api", database_url, SHUTDOWN_GRACE="10")
    secret = make_secret()
    async with aiohttp.ClientSession() as http:
        created = await http.post(f"{api.url}/api/v1/secrets", json=secret.body)
        secret_id = (await created.json())["id"]
        holder = await asyncpg.connect(database_url)
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT 1 FROM secrets WHERE id = $1 FOR UPDATE", secret_id)
        in_flight = asyncio.create_task(
            http.post(f"{api.url}/api/v1/secrets/{secret_id}/reveal", json=secret.reveal_body())
        )
        # The reveal now waits on the row lock inside the api.
        await eventually(lambda: lock_waiters(db), what="the reveal waiting on the row lock")
        api.process.send_signal(signal.SIGTERM)
        await eventually(
            lambda: refuses(http, api.url), what="the api no longer accepting"
        )  # no longer accepting
        assert api.process.poll() is None  # still finishing its request
        assert await lock_waiters(db) == 1  # the reveal still waits
        await lock.commit()
        await holder.close()
        response = await in_flight
        assert response.status == 200
    assert await asyncio.to_thread(api.process.wait, 10) == 0


async def test_a_rolling_restart_under_load_drops_no_request(
    database_url: str, start_service: StartService
) -> None:
    """Two api processes are replaced one after the other while clients keep creating
    and revealing. A client that cannot connect (the process stopped listening) tries
    the other one, as a load balancer does; every request still succeeds."""
    env = {"RATE_LIMIT_CREATE": "0", "RATE_LIMIT_REVEAL": "0", "SHUTDOWN_GRACE": "10"}
    apis = [start_service("api", database_url, **env) for _ in range(2)]
    ports = [int(api.url.rsplit(":", 1)[1]) for api in apis]
    failures: list[object] = []
    done = Counter[str]()
    stop = asyncio.Event()

    async def call(
        http: aiohttp.ClientSession, n: int, path: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        for attempt in range(4):
            url = f"http://127.0.0.1:{ports[(n + attempt) % 2]}{path}"
            try:
                async with http.post(url, json=body) as response:
                    if response.status >= 500:
                        failures.append((path, response.status))
                    return {"status": response.status, **(await response.json())}
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                await asyncio.sleep(0.05)  # refused or reset before any answer: try the other
        failures.append((path, "no process accepted it"))
        return {"status": 0}

    async def client(n: int, http: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            secret = make_secret()
            created = await call(http, n, "/api/v1/secrets", secret.body)
            if created["status"] != 201:
                failures.append(("create", created["status"]))
                continue
            revealed = await call(
                http, n + 1, f"/api/v1/secrets/{created['id']}/reveal", secret.reveal_body()
            )
            if revealed["status"] != 200:
                failures.append(("reveal", revealed["status"]))
            done["pairs"] += 1

    # One connection per request, as load balancers do towards pods being replaced,
    # so no request is sent on a keep-alive connection the stopping server closes.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        clients = [asyncio.create_task(client(n, http)) for n in range(4)]
        await eventually(count_reaches(done, "pairs", 8), what="load running")
        for index in (0, 1):
            assert await asyncio.to_thread(apis[index].stop) == 0  # drained, clean exit
            apis[index] = start_service("api", database_url, port=ports[index], **env)
            restarted = done["pairs"]
            await eventually(count_reaches(done, "pairs", restarted + 8), what="load after restart")
        stop.set()
        await asyncio.gather(*clients)
    assert failures == []
    assert done["pairs"] > 20


async def test_sigterm_drains_then_finishes_a_body_in_flight(
    database_url: str, start_service: StartService
) -> None:
    """A rolling update's SIGTERM: for SHUTDOWN_DRAIN the api keeps accepting new
    connections and serving them while /readyz says 503 (load balancers take it out
    meanwhile, and nobody gets a refused connection); then it stops listening, and
    a request whose body was still arriving completes; the process exits cleanly."""
    api = start_service("api", database_url, SHUTDOWN_DRAIN="5", SHUTDOWN_GRACE="20")
    slow = make_secret()
    body = json.dumps(slow.body).encode()
    half = len(body) // 2
    first_half_sent, rest_may_go = asyncio.Event(), asyncio.Event()

    async def slowly() -> Any:
        yield body[:half]
        first_half_sent.set()
        await rest_may_go.wait()
        yield body[half:]

    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        in_flight = asyncio.create_task(
            http.post(f"{api.url}/api/v1/secrets", data=slowly(), headers=headers)
        )
        await first_half_sent.wait()
        api.process.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            async with http.get(f"{api.url}/readyz") as response:
                return response.status == 503 and (await response.json())["status"] == "draining"

        await eventually(draining, what="/readyz says draining")
        # Still serving new connections while it drains, each answer closing its
        # connection so that a proxy's next request opens one elsewhere.
        async with http.post(f"{api.url}/api/v1/secrets", json=make_secret().body) as created:
            assert created.status == 201
            assert created.headers["Connection"] == "close"
        # After the drain it stops listening...
        await eventually(lambda: refuses(http, api.url), what="the api stopped listening")
        # ...and the body still arriving on the connection it accepted is answered.
        rest_may_go.set()
        async with await in_flight as answered:
            assert answered.status == 201, await answered.text()
    assert await asyncio.to_thread(api.process.wait, 60) == 0
    assert "draining" in api.log.read_text()
