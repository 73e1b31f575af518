"""Telling the asker that a request was answered (issue 17): a ``request.answered``
webhook and an email through a real SMTP server (aiosmtpd on loopback), each sent
once the answer can be collected, and neither carrying anything that opens it. The
email is in the language the asker's page was in (issue 18)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

import services.i18n
from services.api.app import create_app
from services.i18n import LANGUAGES, catalog_path, translations
from services.protocol import request
from services.protocol.envelope import b64u_encode
from services.server.audit import Auditor
from services.server.metrics import NoticeMetrics, WebhookMetrics, new_registry
from services.server.settings import Settings
from services.worker.notices import Notices
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
# The email's messages, and a Japanese catalog of them that stands in for the one
# translators will write: the email is written in it, not merely labelled.
SUBJECT = "Your request for a secret was answered"
ANSWERED = "The request for a secret you made on %(asked)s was answered on %(answered)s."
COLLECT = (
    "Open the collect link you kept when you asked to read the answer. This email carries "
    "no link to it: only your collect link can open the answer."
)
REFERENCE = "Reference: %(reference)s"
JAPANESE = {
    SUBJECT: "シークレットのリクエストに回答がありました",
    ANSWERED: "%(asked)sに作成したシークレットのリクエストに、%(answered)sに回答がありました。",
    COLLECT: "回答を読むには、リクエストしたときに保存した受け取りリンクを開いてください。"
    "このメールにそのリンクはありません。回答を開けるのは受け取りリンクだけです。",
    REFERENCE: "参照番号: %(reference)s",
}


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


@pytest.fixture
def plain_relay() -> Iterator[Relay]:
    """A relay that takes no 8-bit body (no 8BITMIME)."""
    smtp = Relay(eight_bit=False)
    yield smtp
    smtp.stop()


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The catalogs read from a folder of the test's own (empty: none is there)."""
    monkeypatch.setattr(services.i18n, "LOCALES_DIR", tmp_path / "locales")
    translations.cache_clear()
    yield tmp_path / "locales"
    translations.cache_clear()


@pytest.fixture
def japanese(catalogs: Path) -> None:
    """A Japanese catalog of the email's messages (and no other language's)."""
    catalog = Catalog(locale="ja", domain=services.i18n.DOMAIN)
    for english, translated in JAPANESE.items():
        catalog.add(english, translated, flags=["python-format"] if "%(" in english else [])
    path = catalog_path(LANGUAGES["ja"])
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog)


async def ask(api: ApiClient, asker: Asker, headers: dict[str, str] | None = None,
              **fields: Any) -> str:  # fmt: skip
    asked = await api.post(
        REQUESTS, json=asker.body(**fields), headers={**SIGNED_IN, **(headers or {})}
    )
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


def opens_nothing(mail: bytes, asker: Asker, text: str, request_id: str) -> None:
    """No key, no link, no note, no answer: in any encoding the keys could take."""
    for what in (
        asker.fill_key,
        asker.private_key,
        asker.public_key,
        request.collect_keys(asker.private_key).claim,
        request.collect_keys(asker.private_key).manage,
    ):
        assert what not in mail and b64u_encode(what).encode() not in mail
        assert what.hex().encode() not in mail
    for words in (asker.note, text, request_id, "#", "/c/", "/q/", "http"):
        assert words.encode() not in mail, words


async def written(db: asyncpg.Connection, request_id: str, tag: str, ref: str) -> str:
    """The text the email of ``request_id`` should have, in English or JAPANESE."""
    row = await db.fetchrow("SELECT * FROM requests WHERE id = $1", request_id)
    words = JAPANESE if tag == "ja" else {}
    asked, answered = (
        format_datetime(row[field], format="long", tzinfo=UTC, locale=tag)
        for field in ("created_at", "answered_at")
    )
    paragraphs = [
        words.get(ANSWERED, ANSWERED) % {"asked": asked, "answered": answered},
        words.get(COLLECT, COLLECT),
        words.get(REFERENCE, REFERENCE) % {"reference": ref},
    ]
    return "\n\n".join(paragraphs) + "\n"


def text_of(message: EmailMessage) -> str:
    return str(message.get_content()).replace("\r\n", "\n")


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
    # No Accept-Language: English, and says so.
    assert message["Content-Language"] == "en"
    ref = Auditor(settings.audit_key, "reaper").ref(request_id)
    assert text_of(message) == await written(db, request_id, "en", ref)
    raw = bytes(envelope.original_content or b"")
    assert b"was answered" in raw and ref.encode() in raw
    opens_nothing(raw, asker, text, request_id)
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


async def answered_with_email(api: ApiClient, headers: dict[str, str]) -> tuple[str, Asker, str]:
    """A request asked with ``headers`` and an email notice, and answered."""
    asker = new_asker()
    request_id = await ask(api, asker, headers, email=True)
    text = f"api key {secrets.token_hex(8)}"
    LEAK_WATCH.add("plaintext", text)
    await answer_in_parts(api, request_id, asker, text, b"")
    return request_id, asker, text


async def test_the_email_is_in_the_language_the_asker_s_page_was_in(
    aiohttp_client: AiohttpClient,
    database_url: str,
    pool: asyncpg.Pool,
    relay: Relay,
    db: asyncpg.Connection,
    japanese: None,
) -> None:
    relay.start()
    settings = signed_in_settings(database_url, relay)
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    auditor = Auditor(settings.audit_key, "reaper")
    # The browser's calls carry its Accept-Language, and the switcher's cookie, which
    # wins: the page's language.
    by_browser = await answered_with_email(api, {"Accept-Language": "ja,en;q=0.5"})
    by_switcher = await answered_with_email(api, {"Accept-Language": "de", "Cookie": "lang=ja"})
    without_email = await ask(api, new_asker(), {"Accept-Language": "ja"})
    stored = dict(await db.fetch("SELECT id, notify_language FROM requests"))
    assert stored == {by_browser[0]: "ja", by_switcher[0]: "ja", without_email: None}

    assert await notices.run_once() == 2
    by_ref = {auditor.ref(each[0]): each for each in (by_browser, by_switcher)}
    assert len(relay.got) == 2
    for envelope, message in zip(relay.got, relay.messages(), strict=True):
        (ref,) = [ref for ref in by_ref if ref in text_of(message)]
        request_id, asker, text = by_ref.pop(ref)
        assert message["Content-Language"] == "ja"
        assert message["Subject"] == JAPANESE[SUBJECT]
        assert text_of(message) == await written(db, request_id, "ja", ref)
        assert "was answered" not in text_of(message)
        # Its UTF-8 as it is, to a relay that takes 8-bit bodies (RFC 6152).
        assert message["Content-Transfer-Encoding"] == "8bit"
        assert "BODY=8BITMIME" in envelope.mail_options
        raw = bytes(envelope.original_content or b"")
        opens_nothing(raw, asker, text, request_id)
    # The language goes with the address.
    assert await db.fetchval("SELECT count(*) FROM requests WHERE notify_language IS NOT NULL") == 0


async def test_an_unknown_language_or_a_missing_catalog_gets_english(
    aiohttp_client: AiohttpClient,
    database_url: str,
    pool: asyncpg.Pool,
    relay: Relay,
    db: asyncpg.Connection,
    catalogs: Path,
) -> None:
    relay.start()
    settings = signed_in_settings(database_url, relay)
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    auditor = Auditor(settings.audit_key, "reaper")
    klingon, _, _ = await answered_with_email(api, {"Accept-Language": "tlh", "Cookie": "lang=x"})
    # German is ours, but its catalog is missing (none is in the test's folder).
    german, _, _ = await answered_with_email(api, {"Accept-Language": "de-AT"})
    # A tag a later release stored, or none from a previous one.
    later, _, _ = await answered_with_email(api, {"Accept-Language": "ja"})
    await db.execute("UPDATE requests SET notify_language = 'kl' WHERE id = $1", later)
    previous, _, _ = await answered_with_email(api, {})
    await db.execute("UPDATE requests SET notify_language = NULL WHERE id = $1", previous)
    stored = dict(await db.fetch("SELECT id, notify_language FROM requests"))
    assert stored == {klingon: "en", german: "de", later: "kl", previous: None}
    with pytest.raises(asyncpg.CheckViolationError):  # a tag, never free text
        await db.execute("UPDATE requests SET notify_language = 'ja; <b>' WHERE id = $1", later)

    assert await notices.run_once() == 4
    refs = {auditor.ref(request_id): request_id for request_id in stored}
    for message in relay.messages():
        (ref,) = [ref for ref in refs if ref in text_of(message)]
        assert message["Content-Language"] == "en"
        assert message["Subject"] == SUBJECT
        assert text_of(message) == await written(db, refs.pop(ref), "en", ref)
    assert refs == {}


async def test_a_relay_without_8bitmime_gets_the_same_text_quoted_printable(
    aiohttp_client: AiohttpClient,
    database_url: str,
    pool: asyncpg.Pool,
    plain_relay: Relay,
    db: asyncpg.Connection,
    japanese: None,
) -> None:
    plain_relay.start()
    settings = signed_in_settings(database_url, plain_relay)
    api = await aiohttp_client(create_app(settings))
    notices = Notices(pool, settings, NoticeMetrics(new_registry("reaper")))
    request_id, asker, text = await answered_with_email(api, {"Accept-Language": "ja"})

    assert await notices.run_once() == 1
    (envelope,) = plain_relay.got
    (message,) = plain_relay.messages()
    raw = bytes(envelope.original_content or b"")
    assert raw.isascii() and "BODY=8BITMIME" not in envelope.mail_options
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message["Content-Language"] == "ja"
    ref = Auditor(settings.audit_key, "reaper").ref(request_id)
    assert text_of(message) == await written(db, request_id, "ja", ref)
    opens_nothing(raw, asker, text, request_id)
