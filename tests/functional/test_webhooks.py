"""Webhooks: the outbox fills in the transaction of each event, a dispatcher posts
signed payloads to the endpoints the operator configured, retries while an
endpoint is down, and never posts twice what was answered 2xx."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from services.api.app import create_app
from services.server.audit import Auditor
from services.server.metrics import WebhookMetrics, new_registry
from services.server.settings import Settings
from services.worker.reaper import reap_once
from services.worker.webhooks import Dispatcher
from tests.support.cli import cli, watch_cli_links
from tests.support.fixtures_types import AiohttpClient, ApiClient, Dispatch
from tests.support.leaks import LEAK_WATCH
from tests.support.sealing import make_secret
from tests.support.services import make_settings
from tests.support.waiting import eventually
from tools.net import free_port

HOOK_SECRET = "webhook-signing-secret-" + "k" * 20


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records what it gets."""

    port: int
    answer: int = 204
    delay: float = 0.0  # seconds before it answers: a slow endpoint
    answered_at: float = 0.0  # time.time() of its last answer
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        await asyncio.sleep(self.delay)
        self.answered_at = time.time()
        return web.Response(status=self.answer)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]


def verify(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/webhooks.md)."""
    signed = headers["X-Burnafter-Timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Burnafter-Signature"])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(free_port())
    yield hook
    await hook.stop()


def hook_settings(
    database_url: str,
    receiver: Receiver,
    fmt: str = "json",
    retry_base: str = "0.05",
    retry_max: str = "0.2",
) -> Settings:
    LEAK_WATCH.add("webhook secret", HOOK_SECRET)
    hooks = [{"name": "ops", "url": receiver.url, "secret": HOOK_SECRET, "format": fmt}]
    return make_settings(
        database_url,
        WEBHOOKS=json.dumps(hooks),
        WEBHOOK_RETRY_BASE=retry_base,
        WEBHOOK_RETRY_MAX=retry_max,
        AUDIT_KEY="a" * 32,
    )


@pytest.fixture
async def dispatch(database_url: str) -> AsyncIterator[Dispatch]:
    """Run dispatcher rounds (several dispatchers at once, if asked) until nothing
    is due, or only one round when ``once``; return how many rows they claimed."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    session = aiohttp.ClientSession()

    async def run(settings: Settings, dispatchers: int = 1, once: bool = False) -> int:
        metrics = WebhookMetrics(new_registry("reaper"))
        workers = [Dispatcher(pool, settings, metrics, session) for _ in range(dispatchers)]
        claimed = 0
        while counts := await asyncio.gather(*(w.run_once() for w in workers)):
            claimed += sum(counts)
            if once or not any(counts):
                break
        return claimed

    yield run
    await session.close()
    await pool.close()


async def test_each_view_is_delivered_once_signed(
    aiohttp_client: AiohttpClient, database_url: str, receiver: Receiver, dispatch: Dispatch
) -> None:
    await receiver.start()
    settings = hook_settings(database_url, receiver)
    api = await aiohttp_client(create_app(settings))
    secret = make_secret(max_views=3, notify=["ops"])
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    for _ in range(3):
        assert (
            await api.post(f"/api/v1/secrets/{sid}/reveal", json=secret.reveal_body())
        ).status == 200
    assert await dispatch(settings, dispatchers=3) == 3

    assert len(receiver.got) == 3
    assert all(verify(headers, body) for headers, body in receiver.got)
    payloads = receiver.payloads()
    assert [p["event"] for p in payloads] == ["secret.viewed"] * 3
    assert len({p["delivery"] for p in payloads}) == 3
    ref = Auditor(settings.audit_key, "reaper").ref(sid)
    assert {p["secret_ref"] for p in payloads} == {ref}
    assert all(
        set(p) == {"delivery", "event", "secret_ref", "occurred_at", "sender"} for p in payloads
    )
    assert all(sid.encode() not in body for _, body in receiver.got)
    # Nothing more is due: a 2xx answer is never posted again.
    assert await dispatch(settings) == 0
    assert len(receiver.got) == 3

    tampered = dict(receiver.got[0][0])
    assert not verify(tampered, receiver.got[0][1] + b" ")

    receipt = await (await api.get(f"/api/v1/receipts/{sid}", headers=secret.bearer)).json()
    assert receipt["notify"] == ["ops"]
    assert [(n["event"], n["state"]) for n in receipt["notifications"]] == [
        ("secret.viewed", "delivered")
    ] * 3


async def test_deliveries_wait_for_a_receiver_that_is_down(
    aiohttp_client: AiohttpClient,
    database_url: str,
    receiver: Receiver,
    dispatch: Dispatch,
    db: asyncpg.Connection,
) -> None:
    # Each retry is one dispatcher round once its backoff is over (the test waits for
    # that, not for a fixed time).
    settings = hook_settings(database_url, receiver, retry_base="0.3", retry_max="0.6")
    await view_one_secret_for_ops(await aiohttp_client(create_app(settings)))

    # Nobody listens on the port yet, then it answers 503: the row stays pending.
    assert await dispatch(settings) == 1
    await receiver.start()
    receiver.answer = 503
    await eventually(lambda: retry_is_due(db), what="the retry after the backoff is due")
    assert await dispatch(settings, once=True) == 1
    row = await db.fetchrow("SELECT attempts, delivered_at, last_status FROM webhook_deliveries")
    assert (row["attempts"], row["delivered_at"], row["last_status"]) == (2, None, 503)

    receiver.answer = 200
    await eventually(lambda: retry_is_due(db), what="the retry after the backoff is due")
    assert await dispatch(settings, once=True) == 1
    assert await db.fetchval("SELECT delivered_at IS NOT NULL FROM webhook_deliveries")
    assert await db.fetchval("SELECT attempts FROM webhook_deliveries") == 3
    # The receiver saw the attempt it answered 503 and the one it answered 200; the
    # first attempt found nobody listening.
    assert len(receiver.got) == 2 and all(verify(h, b) for h, b in receiver.got)
    assert receiver.got[0][1] == receiver.got[1][1]  # the same delivery, sent again
    # Once any retry of the delivered row would be due (past the longest backoff,
    # WEBHOOK_RETRY_MAX), nothing is claimed or sent again.
    await eventually(
        lambda: db.fetchval(
            "SELECT now() > delivered_at + interval '0.65 seconds' FROM webhook_deliveries"
        ),
        what="the database's clock past the longest backoff",
    )
    assert await dispatch(settings) == 0
    assert len(receiver.got) == 2


async def test_the_backoff_counts_from_the_answer_of_a_slow_endpoint(
    aiohttp_client: AiohttpClient,
    database_url: str,
    receiver: Receiver,
    dispatch: Dispatch,
    db: asyncpg.Connection,
) -> None:
    # An endpoint that answers 503 after longer than the backoff: the retry is due one
    # backoff after that answer, not after the round began (else it is due at once).
    settings = hook_settings(database_url, receiver, retry_base="0.5", retry_max="0.5")
    await view_one_secret_for_ops(await aiohttp_client(create_app(settings)))
    await receiver.start()
    receiver.answer, receiver.delay = 503, 1.0

    assert await dispatch(settings, once=True) == 1
    due = await db.fetchval("SELECT extract(epoch FROM next_attempt_at) FROM webhook_deliveries")
    # A backoff is at least half its full length (the rest is jitter): counted from
    # the round's start, the retry would be due a second before the answer.
    assert due >= receiver.answered_at + 0.5 / 2 - 0.05


async def view_one_secret_for_ops(api: ApiClient) -> None:
    """A secret whose sender asked to tell "ops", viewed once: one delivery queued."""
    secret = make_secret(notify=["ops"])
    sid = (await (await api.post("/api/v1/secrets", json=secret.body)).json())["id"]
    revealed = await api.post(f"/api/v1/secrets/{sid}/reveal", json=secret.reveal_body())
    assert revealed.status == 200


async def retry_is_due(db: asyncpg.Connection) -> bool:
    """The one pending delivery may be claimed again (its backoff is over)."""
    return bool(
        await db.fetchval(
            "SELECT next_attempt_at <= now() FROM webhook_deliveries WHERE delivered_at IS NULL"
        )
    )


async def test_expiry_revoke_and_lockout_are_told_too_in_slack_format(
    aiohttp_client: AiohttpClient,
    database_url: str,
    receiver: Receiver,
    dispatch: Dispatch,
    db: asyncpg.Connection,
) -> None:
    await receiver.start()
    settings = hook_settings(database_url, receiver, fmt="slack")
    api = await aiohttp_client(create_app(settings))

    expiring = make_secret(notify=["ops"])
    expiring_id = (await (await api.post("/api/v1/secrets", json=expiring.body)).json())["id"]
    await db.execute(
        "UPDATE secrets SET expires_at = now() - interval '1 s' WHERE id = $1", expiring_id
    )
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        assert (await reap_once(pool, settings)).expired == 1
    finally:
        await pool.close()

    revoked = make_secret(notify=["ops"])
    revoked_id = (await (await api.post("/api/v1/secrets", json=revoked.body)).json())["id"]
    assert (await api.delete(f"/api/v1/secrets/{revoked_id}", headers=revoked.bearer)).status == 204

    locked = make_secret(passphrase="right passphrase", max_attempts=1, notify=["ops"])
    locked_id = (await (await api.post("/api/v1/secrets", json=locked.body)).json())["id"]
    wrong = locked.reveal_body(passphrase="wrong passphrase")
    assert (await api.post(f"/api/v1/secrets/{locked_id}/reveal", json=wrong)).status == 401

    silent = make_secret()  # asked for no notification
    silent_id = (await (await api.post("/api/v1/secrets", json=silent.body)).json())["id"]
    assert (
        await api.post(f"/api/v1/secrets/{silent_id}/reveal", json=silent.reveal_body())
    ).status == 200

    assert await dispatch(settings) == 3
    texts = [p["text"] for p in receiver.payloads()]
    auditor = Auditor(settings.audit_key, "reaper")
    assert any(auditor.ref(expiring_id) in t and "expired" in t for t in texts)
    assert any(auditor.ref(revoked_id) in t and "revoked" in t for t in texts)
    assert any(auditor.ref(locked_id) in t and "wrong passphrases" in t for t in texts)
    assert all(verify(h, b) for h, b in receiver.got)


async def test_senders_pick_only_configured_endpoints(
    aiohttp_client: AiohttpClient, database_url: str, receiver: Receiver, db: asyncpg.Connection
) -> None:
    api = await aiohttp_client(create_app(hook_settings(database_url, receiver)))
    limits = await (await api.get("/api/v1/limits")).json()
    assert limits["notify_endpoints"] == ["ops"]
    for notify in (["elsewhere"], "ops", [receiver.url], ["ops"] * 11):
        response = await api.post("/api/v1/secrets", json=make_secret(notify=notify).body)
        assert response.status == 400, notify
        assert (await response.json())["field"] == "notify"
    assert await db.fetchval("SELECT count(*) FROM secrets") == 0


async def test_the_cli_asks_for_notifications_and_status_shows_them(
    aiohttp_client: AiohttpClient, database_url: str, receiver: Receiver, dispatch: Dispatch
) -> None:
    await receiver.start()
    settings = hook_settings(database_url, receiver)
    api = await aiohttp_client(create_app(settings))
    base_url = str(api.make_url("")).rstrip("/")
    sent = await cli("send", "--server", base_url, "--notify", "ops", stdin=b"tell me")
    assert sent.returncode == 0, sent.stderr
    share, receipt = watch_cli_links(sent.stdout, sent.stderr)
    assert (await cli("open", str(share))).returncode == 0
    assert await dispatch(settings) == 1
    status = await cli("status", str(receipt))
    assert status.returncode == 0, status.stderr
    text = status.stdout.decode()
    assert "notifications (to ops):" in text
    assert "secret.viewed" in text and "ops: delivered after 1 attempt(s)" in text
