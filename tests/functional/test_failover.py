"""PostgreSQL fails over under load: a primary and a streaming standby, two api
processes given both as a multi-host ``DATABASE_URL`` with
``target_session_attrs=read-write``, steady creates and reveals with a ledger of
what was acknowledged. The network between the primary and the standby stops
delivering first (a lagging standby), then the primary is killed (``-m immediate``) and the standby
promoted, as a cluster manager would.

Synchronous replication: no acknowledged create is lost, no acknowledged reveal can
be served again, the clients see only 503s meanwhile, and both apis are ready again
within seconds of the promotion. Asynchronous: the same, but for what the standby
never got, which is lost: every create acknowledged after the network stopped, and
the view each such secret had spent, which is served again. docs/operations.md says
which setting the exactly-once promise needs."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.support.fixtures_types import StartService
from tests.support.replication import ReplicatedPostgres, start_replicated
from tests.support.sealing import MadeSecret, make_secret
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

WORKERS = 8
RECOVERY_TARGET = 10.0  # seconds from the promotion until every api serves again


@dataclass
class Ledger:
    """What the clients were told, and when."""

    sent: int = 0
    held: bool = False  # the standby hears nothing from the primary any more
    crashed: bool = False  # the primary is gone
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    created: dict[str, MadeSecret] = field(default_factory=dict)
    # Creates sent after the standby stopped hearing, acknowledged by the old primary.
    unreplicated: set[str] = field(default_factory=set)
    served: Counter[str] = field(default_factory=Counter)  # reveals answered 200
    promoted_at: float | None = None
    back_at: dict[int, float] = field(default_factory=dict)  # api -> first 201 after


async def _load(
    http: aiohttp.ClientSession, apis: list[ServiceProcess], ledger: Ledger, worker: int,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    """Create a one-view secret on one api, reveal it on the other; again."""
    turn = worker
    while not stop.is_set():
        maker, opener = turn % 2, (turn + 1) % 2
        turn += 1
        secret = make_secret()
        ledger.sent += 1
        held = ledger.held
        async with http.post(f"{apis[maker].url}/api/v1/secrets", json=secret.body) as r:
            ledger.statuses["create", r.status] += 1
            if r.status != 201:
                await asyncio.sleep(0.02)  # pacing: a client that backs off a little
                continue
            secret_id = (await r.json())["id"]
            if held and not ledger.crashed:
                ledger.unreplicated.add(secret_id)
        ledger.created[secret_id] = secret
        if ledger.promoted_at is not None:
            ledger.back_at.setdefault(maker, time.monotonic())
        reveal = f"{apis[opener].url}/api/v1/secrets/{secret_id}/reveal"
        async with http.post(reveal, json=secret.reveal_body()) as r:
            ledger.statuses["reveal", r.status] += 1
            if r.status == 200:
                ledger.served[secret_id] += 1


async def _ready(http: aiohttp.ClientSession, api: ServiceProcess) -> bool:
    async with http.get(f"{api.url}/readyz") as r:
        return r.status == 200


async def _fail_over(
    cluster: ReplicatedPostgres, apis: list[ServiceProcess], *, synchronous: bool
) -> tuple[Ledger, float]:
    """Run the load through a failover; return the ledger and the seconds from the
    promotion until both apis served a create and said ready."""
    ledger = Ledger()
    stop = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = [asyncio.create_task(_load(http, apis, ledger, n, stop)) for n in range(WORKERS)]
        try:
            await eventually(lambda: len(ledger.created) >= 50, what="the load flows")
            cluster.hold_replication()
            ledger.held = True
            sent = ledger.sent
            # Synchronous: every worker now waits on a commit the standby cannot
            # confirm. Asynchronous: commits go on, acknowledged, on the primary only.
            await eventually(
                lambda: (
                    ledger.sent >= sent + WORKERS
                    and (synchronous or len(ledger.unreplicated) >= 20)
                ),
                what="requests in flight while the standby hears nothing",
            )
            await cluster.kill_primary()
            ledger.crashed = True
            await cluster.promote()
            ledger.promoted_at = time.monotonic()

            async def both_back() -> bool:
                return len(ledger.back_at) == 2 and all(
                    await asyncio.gather(*(_ready(http, api) for api in apis))
                )

            await eventually(both_back, seconds=30, what="both apis serve again")
            recovered = time.monotonic() - ledger.promoted_at
            after = len(ledger.created)
            await eventually(lambda: len(ledger.created) >= after + 50, what="load goes on")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    return ledger, recovered


async def _reveal_again(apis: list[ServiceProcess], ledger: Ledger) -> Counter[int]:
    """Every secret whose one view was served, asked for again."""
    async with aiohttp.ClientSession() as http:

        async def again(secret_id: str) -> int:
            url = f"{apis[0].url}/api/v1/secrets/{secret_id}/reveal"
            async with http.post(url, json=ledger.created[secret_id].reveal_body()) as r:
                return r.status

        return Counter(await asyncio.gather(*(again(i) for i in ledger.served)))


@pytest.mark.parametrize("synchronous", [True, False], ids=["synchronous", "asynchronous"])
async def test_a_failover_under_load_loses_nothing_acknowledged_with_synchronous_replication(
    session_dir: Path, start_service: StartService, synchronous: bool
) -> None:
    mode = "synchronous" if synchronous else "asynchronous"
    cluster = await start_replicated(session_dir / f"failover-{mode}", synchronous=synchronous)
    try:
        env = {"DB_TIMEOUT": "2", "RATE_LIMIT_CREATE": "0", "RATE_LIMIT_REVEAL": "0"}
        apis = [start_service("api", cluster.url, **env) for _ in range(2)]
        ledger, recovered = await _fail_over(cluster, apis, synchronous=synchronous)
        again = await _reveal_again(apis, ledger)
        conn = await asyncpg.connect(cluster.url_of(cluster.standby))
        try:
            kept = {
                row["id"]
                for row in await conn.fetch(
                    "SELECT id FROM receipts WHERE id = ANY($1::text[])", list(ledger.created)
                )
            }
            over = await conn.fetchval("SELECT count(*) FROM receipts WHERE views > max_views")
        finally:
            await conn.close()
    finally:
        await cluster.stop()

    lost = set(ledger.created) - kept
    print(
        f"\nfailover, {mode}: {len(ledger.created)} creates acknowledged, {len(lost)} lost; "
        f"{len(ledger.served)} reveals served, {again[200]} served again after; "
        f"answers {dict(sorted(ledger.statuses.items()))}; "
        f"both apis serving {recovered:.2f} s after the promotion"
    )
    assert max(ledger.served.values()) == 1
    assert over == 0
    assert recovered <= RECOVERY_TARGET
    if synchronous:
        assert ledger.unreplicated == set()  # none acknowledged while it could not be
        assert lost == set()
        assert again == {404: len(ledger.served)}
        assert {status for _, status in ledger.statuses} <= {200, 201, 503}
    else:
        # What the standby never got is gone: the creates acknowledged meanwhile, and
        # the views spent then, so a secret revealed then is served again if it had
        # been made before (a secret made then is simply gone: 404).
        assert len(ledger.unreplicated) >= 20
        assert ledger.unreplicated <= lost  # with some sent just before, committed after
        assert set(again) <= {200, 404}
        assert {status for _, status in ledger.statuses} <= {200, 201, 404, 503}
