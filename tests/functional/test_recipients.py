"""Several recipients through the api (issue 16): one content sealed once, one link
per recipient with its own views and passphrase, one receipt with a line each;
revoking one or all; the content gone with its last link; exactly each link's views
under 200 racing reveals per link across two api processes."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg

from services.protocol import content, envelope
from services.protocol.envelope import b64u_decode, b64u_encode
from services.server.settings import Webhook
from services.worker.reaper import reap_once
from services.worker.webhooks import Share, payload
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.sealing import Recipient, SealedShare, seal_share, secret_passphrase
from tests.support.services import ServiceProcess, make_settings
from tests.support.waiting import eventually

SEGMENT = 4096
CONTENTS = "/api/v1/contents"
RACERS = 200
# The two_apis fixture's: a thousand reveals from one address, so no rate limit (it
# is not what is tested).
TWO_APIS_ENV = {"SEGMENT_SIZE": str(SEGMENT), "RATE_LIMIT_REVEAL": "0"}


def name(who: str) -> str:
    """A recipient's name unique to one test (the leak watch looks for it)."""
    return f"{who} {secrets.token_hex(6)}"


def bearer(token: bytes | str) -> dict[str, str]:
    value = b64u_encode(token) if isinstance(token, bytes) else token
    return {"Authorization": f"Bearer {value}"}


async def small_site(api_with: ClientWith, **env: str) -> ApiClient:
    return await api_with(SEGMENT_SIZE=str(SEGMENT), **env)


async def share(api: ApiClient, sealed: SealedShare) -> dict[str, Any]:
    """Create the share, upload its other segments, finalize: the create's answer."""
    created = await api.post(CONTENTS, json=sealed.body)
    assert created.status == 201, await created.text()
    answer: dict[str, Any] = await created.json()
    upload = answer["upload"]
    if upload is not None:
        for index in range(1, len(sealed.segments)):
            url = f"{CONTENTS}/{answer['id']}/segments/{index}"
            put = await api.put(url, data=sealed.segments[index], headers=bearer(upload["token"]))
            assert put.status == 200
        live = await api.post(
            f"{CONTENTS}/{answer['id']}/finalize", headers=bearer(upload["token"])
        )
        assert live.status == 200
    return answer


async def receipt(api: ApiClient, share_id: str, sealed: SealedShare) -> dict[str, Any]:
    read = await api.get(f"/api/v1/receipts/{share_id}", headers=bearer(sealed.manage))
    assert read.status == 200
    answer: dict[str, Any] = await read.json()
    return answer


def names_of(answer: dict[str, Any], sealed: SealedShare) -> list[str]:
    """The recipients' names, opened as the sender's client opens them."""
    return [
        envelope.open_recipient_name(
            sealed.receipt_key, line["recipient"], b64u_decode(line["name"])
        )
        for line in answer["recipients"]
    ]


async def open_link(
    api: ApiClient, sealed: SealedShare, number: int, link_id: str, share_id: str
) -> bytes:
    """Recipient ``number`` opens their link as a client does: reveal, the segments
    with the grant, done. Answers the file's bytes."""
    opened = await api.post(f"/api/v1/secrets/{link_id}/reveal", json=sealed.claim(number))
    assert opened.status == 200
    body = await opened.json()
    # Segments are fetched by the link's own id: a recipient never learns the share's.
    assert body["content_id"] == link_id
    content_key = content.unwrap_content_key(
        sealed.links[number].wrap, b64u_decode(body["wrapped_key"])
    )
    grant = bearer(body["download"]["token"])
    if link_id != share_id:
        by_share = await api.get(f"{CONTENTS}/{share_id}/segments/1", headers=grant)
        assert by_share.status == 404
    got = [b64u_decode(body["first_segment"])]
    for index in range(1, body["segment_count"]):
        url = f"{CONTENTS}/{link_id}/segments/{index}"
        got.append(await (await api.get(url, headers=grant)).read())
    done = await api.post(f"{CONTENTS}/{link_id}/downloaded", headers=grant)
    assert done.status == 204
    parts = list(content.ContentOpener(content_key, got, SEGMENT))
    return b"".join(p.data for p in parts if isinstance(p, content.FileChunk))


async def test_each_recipient_opens_their_own_link_and_the_receipt_says_who(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    people = [
        Recipient(name("Ana")),
        Recipient(name("Björn"), max_views=2),
        Recipient(name("李华")),
    ]
    data = os.urandom(20_000)  # several segments: the download grant path
    sealed = seal_share(SEGMENT, people, data)
    answer = await share(api, sealed)
    links = answer["links"]
    assert [(link["recipient"], link["max_views"]) for link in links] == [(0, 1), (1, 2), (2, 1)]
    assert answer["id"] == links[0]["id"] and answer["max_views"] == 4
    assert len({link["id"] for link in links}) == 3

    for number, link in enumerate(links):
        assert await open_link(api, sealed, number, link["id"], answer["id"]) == data
    # Björn has a view left; the others' links are gone, and another's claim opens nothing.
    assert await open_link(api, sealed, 1, links[1]["id"], answer["id"]) == data
    for number in (0, 1, 2):
        again = await api.post(
            f"/api/v1/secrets/{links[number]['id']}/reveal", json=sealed.claim(number)
        )
        assert again.status == 404
    wrong = await api.post(f"/api/v1/secrets/{links[2]['id']}/reveal", json=sealed.claim(0))
    assert wrong.status == 404

    read = await receipt(api, answer["id"], sealed)
    assert names_of(read, sealed) == [person.name for person in people]
    assert [(line["id"], line["state"], line["views"]) for line in read["recipients"]] == [
        (links[0]["id"], "viewed", 1),
        (links[1]["id"], "viewed", 2),
        (links[2]["id"], "viewed", 1),
    ]
    assert (read["state"], read["views"], read["max_views"]) == ("viewed", 4, 4)
    viewed = Counter(event["recipient"] for event in read["events"] if event["event"] == "viewed")
    assert viewed == {0: 1, 1: 2, 2: 1}
    # The last link ended: the content, its segments and grants are gone.
    assert (
        await db.fetchval("SELECT count(*) FROM segments WHERE content_id = $1", answer["id"]) == 0
    )
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", answer["id"]) == 0
    # The server holds the names sealed only.
    stored = await db.fetch("SELECT recipient_name FROM receipts WHERE share_id = $1", answer["id"])
    assert all(person.name.encode() not in bytes(row[0]) for row in stored for person in people)


async def test_revoking_one_recipient_leaves_the_others_and_revoking_all_ends_the_share(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    sealed = seal_share(
        SEGMENT, [Recipient(name(w)) for w in ("Ana", "Bo", "Cy")], os.urandom(9000)
    )
    answer = await share(api, sealed)
    share_id, links = answer["id"], answer["links"]
    revoke = f"/api/v1/receipts/{share_id}/revoke"
    one = await api.post(revoke, json={"recipient": 1}, headers=bearer(sealed.manage))
    assert one.status == 204
    gone = await api.post(f"/api/v1/secrets/{links[1]['id']}/reveal", json=sealed.claim(1))
    assert gone.status == 404
    twice = await api.post(revoke, json={"recipient": 1}, headers=bearer(sealed.manage))
    assert (twice.status, (await twice.json())["state"]) == (409, "revoked")
    nobody = await api.post(revoke, json={"recipient": 5000}, headers=bearer(sealed.manage))
    assert (nobody.status, (await nobody.json())["type"]) == (
        404,
        "urn:burnafter:problem:recipient-not-found",
    )
    stranger = await api.post(revoke, headers=bearer(os.urandom(32)))
    assert stranger.status == 404
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", share_id) == 1

    opened = await api.post(f"/api/v1/secrets/{links[0]['id']}/reveal", json=sealed.claim(0))
    assert opened.status == 200  # the others still work
    grant = (await opened.json())["download"]["token"]
    everyone = await api.post(revoke, json={}, headers=bearer(sealed.manage))
    assert everyone.status == 204  # Cy's link: Ana's view is spent already
    read = await receipt(api, share_id, sealed)
    assert [line["state"] for line in read["recipients"]] == ["viewed", "revoked", "revoked"]
    assert read["state"] == "revoked"
    # Ana's download grant still holds the content; once done, nothing is left.
    assert await db.fetchval("SELECT count(*) FROM segments WHERE content_id = $1", share_id) > 0
    done = await api.post(f"{CONTENTS}/{links[0]['id']}/downloaded", headers=bearer(grant))
    assert done.status == 204
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", share_id) == 0
    assert await db.fetchval("SELECT count(*) FROM segments WHERE content_id = $1", share_id) == 0
    again = await api.post(revoke, headers=bearer(sealed.manage))
    assert again.status == 409


async def test_a_wrong_passphrase_counts_only_against_its_own_link(api_with: ClientWith) -> None:
    api = await small_site(api_with)
    words = secret_passphrase()
    sealed = seal_share(SEGMENT, [Recipient(name("Ana"), passphrase=words), Recipient(name("Bo"))])
    answer = await share(api, sealed)
    links = answer["links"]
    bad = {**sealed.claim(0), "unlock": b64u_encode(os.urandom(32))}
    refused = await api.post(f"/api/v1/secrets/{links[0]['id']}/reveal", json=bad)
    assert refused.status == 401
    read = await receipt(api, answer["id"], sealed)
    assert [line["failed_attempts"] for line in read["recipients"]] == [1, 0]
    assert [line["passphrase"] for line in read["recipients"]] == [True, False]
    assert (
        await api.post(f"/api/v1/secrets/{links[1]['id']}/reveal", json=sealed.claim(1))
    ).status == 200
    right = await api.post(f"/api/v1/secrets/{links[0]['id']}/reveal", json=sealed.proofs(0))
    assert right.status == 200


async def test_ten_recipients_of_a_file_store_it_once(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    sealed = seal_share(SEGMENT, [Recipient(name(f"r{n}")) for n in range(10)], os.urandom(30_000))
    answer = await share(api, sealed)
    share_id = answer["id"]
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", share_id) == 1
    assert await db.fetchval(
        "SELECT count(*) FROM segments WHERE content_id = $1", share_id
    ) == len(sealed.segments)
    assert (
        await db.fetchval(
            "SELECT count(DISTINCT content_id) FROM secrets WHERE content_id = $1", share_id
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE content_id = $1", share_id) == 10
    assert await db.fetchval("SELECT bytes FROM storage_usage WHERE scope = 'all'") == sum(
        map(len, sealed.segments)
    )


async def test_recipients_are_checked_and_a_bad_share_stores_nothing(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with, MAX_RECIPIENTS="3")
    limits = await (await api.get("/api/v1/limits")).json()
    assert limits["max_recipients"] == 3
    four = seal_share(SEGMENT, [Recipient(name(f"r{n}")) for n in range(4)])
    too_many = await api.post(CONTENTS, json=four.body)
    assert (too_many.status, (await too_many.json())["field"]) == (400, "recipients")
    two = seal_share(SEGMENT, [Recipient(name("Ana")), Recipient(name("Bo"))])
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {**two.body, "claim_verifier": two.body["recipients"][0]["claim_verifier"]},
            "claim_verifier",
        ),
        ({**two.body, "recipients": []}, "recipients"),
        ({**two.body, "recipients": [{**two.body["recipients"][0], "extra": 1}]}, "recipients"),
        ({**two.body, "recipients": [{**two.body["recipients"][0], "max_views": 0}]}, "max_views"),
        ({**two.body, "recipients": [{**two.body["recipients"][0], "name": "A" * 2000}]}, "name"),
        # A name sealed without its padding would tell its length: one size for all.
        ({**two.body, "recipients": [{**two.body["recipients"][0], "name": "AAAA"}]}, "name"),
        (
            {**two.body, "recipients": [{**two.body["recipients"][0], "wrapped_key": "AA"}]},
            "wrapped_key",
        ),
    ]
    for body, field in cases:
        refused = await api.post(CONTENTS, json=body)
        assert (refused.status, (await refused.json()).get("field")) == (400, field), field
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    assert await db.fetchval("SELECT count(*) FROM receipts") == 0


async def test_racing_reveals_on_five_links_give_each_link_exactly_its_views(
    two_apis: list[ServiceProcess], db: asyncpg.Connection
) -> None:
    views = [1, 2, 3, 5, 8]
    sealed = seal_share(
        SEGMENT, [Recipient(name(f"r{n}"), max_views=v) for n, v in enumerate(views)]
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        created = await session.post(f"{two_apis[0].url}{CONTENTS}", json=sealed.body)
        assert created.status == 201
        links = (await created.json())["links"]
        start = asyncio.Event()
        waiting: list[int] = []

        async def reveal(n: int, number: int) -> tuple[int, int]:
            waiting.append(n)
            await start.wait()
            url = f"{two_apis[n % 2].url}/api/v1/secrets/{links[number]['id']}/reveal"
            async with session.post(url, json=sealed.claim(number)) as response:
                return number, response.status

        tasks = [
            asyncio.create_task(reveal(n, number))
            for number in range(len(views))
            for n in range(RACERS)
        ]
        await eventually(lambda: len(waiting) == len(tasks), what="every racer at the start line")
        start.set()
        results = await asyncio.gather(*tasks)

    served = Counter(number for number, status in results if status == 200)
    assert served == dict(enumerate(views))
    assert Counter(status for _, status in results) == {
        200: sum(views),
        404: len(views) * RACERS - sum(views),
    }
    counted = await db.fetch(
        "SELECT recipient, views FROM receipts WHERE share_id = $1 ORDER BY recipient",
        links[0]["id"],
    )
    assert [tuple(row) for row in counted] == list(enumerate(views))
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", links[0]["id"]) == 0


def test_a_webhook_names_the_recipient_by_number_and_the_share_by_reference() -> None:
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    for format in ("json", "slack"):
        hook = Webhook("ops", "https://hooks.example.invalid/x", b"k" * 32, format)
        told = payload(hook, 7, "secret.viewed", "ref-link", at, "ana", Share("ref-share", 2))
        if format == "json":
            assert json.loads(told) == {
                "delivery": 7,
                "event": "secret.viewed",
                "secret_ref": "ref-link",
                "occurred_at": "2026-12-03T12:00:00Z",
                "sender": "ana",
                "share_ref": "ref-share",
                "recipient": 2,
            }
        else:
            assert "recipient 3 of share ref-share" in json.loads(told)["text"]
    alone = payload(
        Webhook("ops", "https://x.invalid", b"k" * 32), 1, "secret.viewed", "r", at, None
    )
    assert "recipient" not in json.loads(alone)


async def test_the_reaper_ends_what_is_left_of_a_share_and_purges_its_receipt_whole(
    api_with: ClientWith, db: asyncpg.Connection, database_url: str
) -> None:
    api = await small_site(api_with)
    sealed = seal_share(
        SEGMENT, [Recipient(name(w)) for w in ("Ana", "Bo", "Cy")], os.urandom(9000)
    )
    answer = await share(api, sealed)
    share_id, links = answer["id"], answer["links"]
    assert await open_link(api, sealed, 0, links[0]["id"], share_id)
    await db.execute("UPDATE secrets SET expires_at = now() - interval '1 s'")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        settings = make_settings(database_url)
        await reap_once(pool, settings)
        read = await receipt(api, share_id, sealed)
        assert [line["state"] for line in read["recipients"]] == ["viewed", "expired", "expired"]
        assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", share_id) == 0
        # Ana's line ended long ago, the others only now: nothing is purged yet.
        retention = settings.receipt_retention
        await db.execute(
            "UPDATE receipts SET ended_at = now() - make_interval(secs => $2 + 60) WHERE id = $1",
            links[0]["id"],
            retention,
        )
        await reap_once(pool, settings)
        assert await db.fetchval("SELECT count(*) FROM receipts WHERE share_id = $1", share_id) == 3
        await db.execute(
            "UPDATE receipts SET ended_at = now() - make_interval(secs => $2 + 60)"
            " WHERE share_id = $1",
            share_id,
            retention,
        )
        await reap_once(pool, settings)
        assert await db.fetchval("SELECT count(*) FROM receipts WHERE share_id = $1", share_id) == 0
    finally:
        await pool.close()
