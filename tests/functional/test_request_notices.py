"""Telling the asker that a request was answered (issue 17): a ``request.answered``
webhook and an email through a real SMTP server (aiosmtpd on loopback), each sent
once the answer can be collected, and neither carrying anything that opens it."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.api.app import create_app
from services.protocol import request
from services.protocol.envelope import b64u_encode
from services.server.audit import Auditor
from services.server.metrics import NoticeMetrics, WebhookMetrics, new_registry
from services.server.settings import Settings
from services.worker.notices import SUBJECT, Notices
from services.worker.webhooks import Dispatcher
from tests.support.asking import (
    REQUESTS,
    SEGMENT,
    Asker,
    answer_in_parts,
    bearer,
    collect,
    finish_upload,
    new_asker,
)
from tests.support.fixtures_types import AiohttpClient, ApiClient
from tests.support.leaks import LEAK_WATCH
from tests.support.services import make_settings
from tests.support.smtp import Relay
from tests.support.waiting import eventually

HOOK_SECRET = "request-hook-signing-secret-" + "k" * 20
ADDRESS = "asker@example.test"
SIGNED_IN = {"X-Forwarded-Email": "asker@example.test"}


@pytest.fixture
def relay() -> Iterator[Relay]:
    smtp = Relay()
    yield smtp
    smtp.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    opened = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield opened
    await opened.close()


def notice_settings(database_url: str, **env: str) -> Settings:
    return make_settings(database_url, SEGMENT_SIZE=str(SEGMENT), AUDIT_KEY="n" * 32, **env)


def signed_in_settings(database_url: str, relay: Relay) -> Settings:
    """A relay configured, and the test client taken for the proxy that signs users in."""
    return notice_settings(database_url, TRUSTED_PROXIES="127.0.0.1/32", **smtp_env(relay))


def smtp_env(relay: Relay) -> dict[str, str]:
    return {**relay.settings(), "WEBHOOK_RETRY_BASE": "0.2", "WEBHOOK_RETRY_MAX": "0.2"}


async def ask(api: ApiClient, asker: Asker, **fields: Any) -> str:
    asked = await api.post(REQUESTS, json=asker.body(**fields), headers=SIGNED_IN)
    assert asked.status == 201, await asked.text()
    request_id: str = (await asked.json())["id"]
    return request_id


async def test_the_webhook_tells_of_an_answer_once_it_can_be_collected(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        got.append((dict(request.headers), await request.read()))
        return aiohttp.web.Response(status=204)

    receiver = await aiohttp_client(_hook_app(hook))
    LEAK_WATCH.add("webhook secret", HOOK_SECRET)
    url = str(receiver.make_url("/hook"))
    hooks = [{"name": "ops", "url": url, "secret": HOOK_SECRET, "format": "json"}]
    settings = notice_settings(database_url, WEBHOOKS=json.dumps(hooks))
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    async with aiohttp.ClientSession() as session:
        dispatcher = Dispatcher(pool, settings, WebhookMetrics(new_registry("reaper")), session)
        asker = new_asker()
        request_id = await ask(api, asker, notify=["ops"])
        text, data = f"the key {secrets.token_hex(6)}", os.urandom(3 * SEGMENT)
        LEAK_WATCH.add("plaintext", text)
        token, _, segments = await answer_in_parts(api, request_id, asker, text, data)

        # Answered but still uploading: nothing to tell yet, the answer cannot be opened;
        # the asker's view says so.
        assert await notices.run_once() == 0
        view = await api.get(f"{REQUESTS}/{request_id}", headers=bearer(asker.collect.manage))
        assert [(await view.json())[k] for k in ("state", "uploading")] == ["answered", True]
        assert await dispatcher.run_once() == 0
        await finish_upload(api, token, request_id, segments)
        view = await api.get(f"{REQUESTS}/{request_id}", headers=bearer(asker.collect.manage))
        assert (await view.json())["uploading"] is False
        assert await notices.run_once() == 1
        assert await dispatcher.run_once() == 1
        assert await notices.run_once() == 0  # told once
        assert await dispatcher.run_once() == 0

    ((headers, body),) = got
    payload = json.loads(body)
    assert headers["X-Burnafter-Event"] == payload["event"] == "request.answered"
    assert payload["secret_ref"] == Auditor(settings.audit_key, "reaper").ref(request_id)
    assert request_id.encode() not in body
    assert await collect(api, request_id, asker) == (text, data)


def _hook_app(handler: Any) -> aiohttp.web.Application:
    app = aiohttp.web.Application()
    app.router.add_post("/hook", handler)
    return app


async def test_the_asker_is_emailed_through_a_real_smtp_relay_and_nothing_in_it_opens_anything(
    aiohttp_client: AiohttpClient,
    database_url: str,
    pool: asyncpg.Pool,
    relay: Relay,
    db: asyncpg.Connection,
) -> None:
    relay.start()
    settings = signed_in_settings(database_url, relay)
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    asker = new_asker()
    request_id = await ask(api, asker, email=True)
    text = f"db password {secrets.token_hex(8)}"
    LEAK_WATCH.add("plaintext", text)
    token, _, segments = await answer_in_parts(api, request_id, asker, text, b"")
    assert (len(segments), token) == (1, {})  # one segment: collectable at once

    assert await notices.run_once() == 1
    (envelope,) = relay.got
    assert (envelope.mail_from, envelope.rcpt_tos) == ("burnafter@example.test", [ADDRESS])
    (message,) = relay.messages()
    assert message["Subject"] == SUBJECT and message["To"] == ADDRESS
    raw = bytes(envelope.original_content or b"")
    assert b"was answered" in raw
    assert Auditor(settings.audit_key, "reaper").ref(request_id).encode() in raw
    # No key, no link, no note, no answer: in any encoding the keys could take.
    for what in (
        asker.fill_key,
        asker.private_key,
        asker.public_key,
        request.collect_keys(asker.private_key).claim,
        request.collect_keys(asker.private_key).manage,
    ):
        assert what not in raw and b64u_encode(what).encode() not in raw
        assert what.hex().encode() not in raw
    for words in (asker.note, text, request_id, "#", "/c/", "/q/", "http"):
        assert words.encode() not in raw, words
    # Sent once, and the address is gone from the database.
    assert await db.fetchval("SELECT notify_email FROM requests WHERE id = $1", request_id) is None
    assert await notices.run_once() == 0
    assert len(relay.got) == 1


async def test_an_email_waits_for_a_relay_that_is_down(
    aiohttp_client: AiohttpClient,
    database_url: str,
    pool: asyncpg.Pool,
    relay: Relay,
    db: asyncpg.Connection,
) -> None:
    settings = signed_in_settings(database_url, relay)
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    asker = new_asker()
    request_id = await ask(api, asker, email=True)
    await answer_in_parts(api, request_id, asker, "hello there", b"")

    # Nobody listens on the relay's port yet: the address stays, the attempt counts.
    assert await notices.run_once() == 1
    row = await db.fetchrow("SELECT notify_email, email_attempts FROM requests")
    assert (row["notify_email"], row["email_attempts"]) == (ADDRESS, 1)
    relay.start()

    async def sent() -> bool:
        await notices.run_once()
        return len(relay.got) == 1

    await eventually(sent, what="the retry after the backoff reached the relay")
    assert await db.fetchval("SELECT notify_email FROM requests") is None


async def test_email_goes_only_to_the_signed_in_asker_s_own_address(
    aiohttp_client: AiohttpClient, database_url: str, relay: Relay, db: asyncpg.Connection
) -> None:
    plain = await aiohttp_client(create_app(notice_settings(database_url)))
    assert (await (await plain.get("/api/v1/limits")).json())["email_notices"] is False
    refused = await plain.post(REQUESTS, json=new_asker().body(email=True))
    assert (refused.status, (await refused.json())["field"]) == (400, "email")

    # Nobody may name the address: an anonymous asker (or a signed-in one typing
    # someone else's) could make the service email anyone. The email goes to the
    # address the identity-aware proxy names the asker by, if it is one.
    mailing = await aiohttp_client(create_app(signed_in_settings(database_url, relay)))
    for headers in ({}, {"X-Forwarded-Email": "dana"}, {"X-Forwarded-Email": "a:b@c.d"}):
        limits = await (await mailing.get("/api/v1/limits", headers=headers)).json()
        assert limits["email_notices"] is False, headers
        body = new_asker().body(email=True)
        refused = await mailing.post(REQUESTS, json=body, headers=headers)
        assert (refused.status, (await refused.json())["field"]) == (400, "email"), headers
    for typed in ("victim@example.test", ["victim@example.test"], 1):
        body = new_asker().body(email=typed)
        refused = await mailing.post(REQUESTS, json=body, headers=SIGNED_IN)
        assert (refused.status, (await refused.json())["field"]) == (400, "email"), typed
    assert await db.fetchval("SELECT count(*) FROM requests") == 0

    limits = await (await mailing.get("/api/v1/limits", headers=SIGNED_IN)).json()
    assert limits["email_notices"] is True
    taken = await mailing.post(REQUESTS, json=new_asker().body(email=True), headers=SIGNED_IN)
    assert taken.status == 201
    assert await db.fetchval("SELECT notify_email FROM requests") == ADDRESS


async def test_an_answer_opened_before_the_notices_round_is_told_all_the_same(
    aiohttp_client: AiohttpClient, database_url: str, pool: asyncpg.Pool
) -> None:
    hooks = [{"name": "ops", "url": "http://127.0.0.1:9/hook", "secret": HOOK_SECRET}]
    LEAK_WATCH.add("webhook secret", HOOK_SECRET)
    settings = notice_settings(database_url, WEBHOOKS=json.dumps(hooks))
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    asker = new_asker()
    request_id = await ask(api, asker, notify=["ops"])
    await answer_in_parts(api, request_id, asker, "opened at once, one view", b"")
    # The asker was watching and opened it, its one view: its content is gone.
    assert await collect(api, request_id, asker) == ("opened at once, one view", b"")
    assert await notices.run_once() == 1
    queued = await pool.fetch(
        "SELECT event FROM webhook_deliveries WHERE secret_id = $1", request_id
    )
    assert sorted(row["event"] for row in queued) == ["request.answered", "secret.viewed"]
