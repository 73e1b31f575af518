"""Requests through the api (issue 17, its server side): ask, read with the fill
link, answer once (a v2 content sealed to the asker), collect with the collect
link. Clients are played here with services/protocol, as the pages and the CLI
will play them."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from typing import Any

import aiohttp
import asyncpg
import pytest
import structlog.testing

from services.protocol import content, request
from services.protocol.envelope import b64u_decode, b64u_encode
from services.server.audit import Auditor
from services.worker.reaper import reap_once
from tests.support.asking import (
    REQUESTS,
    SEGMENT,
    Asker,
    answer,
    bearer,
    collect,
    new_asker,
    sealed_answer,
)
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.leaks import LEAK_WATCH
from tests.support.services import ServiceProcess, make_settings
from tests.support.waiting import eventually

RACERS = 50
TWO_APIS_ENV = {"SEGMENT_SIZE": str(SEGMENT), "RATE_LIMIT_CREATE": "0"}  # the fixture's


async def site(api_with: ClientWith, **env: str) -> ApiClient:
    return await api_with(SEGMENT_SIZE=str(SEGMENT), **env)


async def state_of(api: ApiClient, request_id: str, asker: Asker) -> dict[str, Any]:
    read = await api.get(f"{REQUESTS}/{request_id}", headers=bearer(asker.collect.manage))
    assert read.status == 200
    answer_: dict[str, Any] = await read.json()
    return answer_


async def test_ask_open_answer_with_a_file_and_collect(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await site(api_with)
    asker = new_asker()
    asked = await api.post(REQUESTS, json=asker.body(files_allowed=True))
    assert asked.status == 201
    request_id = (await asked.json())["id"]
    assert (await state_of(api, request_id, asker))["state"] == "open"

    opened = await api.post(f"{REQUESTS}/{request_id}/open", json=asker.fill_claim())
    assert opened.status == 200
    shown = await opened.json()
    assert request.open_note(asker.fill_key, b64u_decode(shown["note"])) == asker.note
    assert shown["files_allowed"] is True
    # The responder's client takes the public key from the fill link's fragment.
    text, data = f"the key is {secrets.token_hex(8)}", os.urandom(30_000)
    LEAK_WATCH.add("plaintext", text)
    answered = await answer(api, request_id, asker, asker.public_key, text, data)
    assert answered.status == 201
    view = await state_of(api, request_id, asker)
    assert view["state"] == "answered" and view["opened_at"] and view["answered_at"]

    # A fill link never opens the answer: its claim is not the collect link's.
    by_fill = await api.post(f"/api/v1/secrets/{request_id}/reveal", json=asker.fill_claim())
    assert by_fill.status == 404
    assert await collect(api, request_id, asker) == (text, data)
    again = await api.post(f"{REQUESTS}/{request_id}/open", json=asker.fill_claim())
    assert (again.status, (await again.json())["type"]) == (
        409,
        "urn:burnafter:problem:request-answered",
    )
    # The database holds the note sealed only, and the answer's key wrapped to the asker.
    row = await db.fetchrow("SELECT note FROM requests WHERE id = $1", request_id)
    assert asker.note.encode() not in bytes(row["note"])
    receipt = await api.get(f"/api/v1/receipts/{request_id}", headers=bearer(asker.collect.manage))
    assert (await receipt.json())["state"] == "viewed"


async def test_a_changed_fill_link_makes_an_answer_the_asker_refuses(api_with: ClientWith) -> None:
    api = await site(api_with)
    asker = new_asker()
    request_id = (await (await api.post(REQUESTS, json=asker.body())).json())["id"]
    # Someone swapped the public key in the fill link's fragment for their own.
    theirs = request.new_private_key()
    answered = await answer(api, request_id, asker, request.public_key(theirs), "hunter2-hunter2")
    assert answered.status == 201
    revealed = await api.post(
        f"/api/v1/secrets/{request_id}/reveal", json={"claim": b64u_encode(asker.collect.claim)}
    )
    body = await revealed.json()
    with pytest.raises(content.ContentError):
        request.unwrap_as_asker(asker.private_key, b64u_decode(body["wrapped_key"]))


async def test_refusals_are_clear_and_change_nothing(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await site(api_with, MAX_CONTENT_BYTES=str(64 * 1024))
    asker = new_asker()
    for body, field in [
        ({**asker.body(), "answer": "x"}, "answer"),
        ({**asker.body(), "answer": {"claim_verifier": "x", "extra": 1}}, "answer"),
        ({**asker.body(), "max_content_bytes": 10**9}, "max_content_bytes"),
        ({**asker.body(), "note": "A" * 10_000}, "note"),
        ({**asker.body(), "fill_verifier": "AA"}, "fill_verifier"),
    ]:
        refused = await api.post(REQUESTS, json=body)
        assert (refused.status, (await refused.json()).get("field")) == (400, field), field
    assert await db.fetchval("SELECT count(*) FROM requests") == 0

    request_id = (await (await api.post(REQUESTS, json=asker.body(max_content_bytes=1000))).json())[
        "id"
    ]
    stranger = await api.post(
        f"{REQUESTS}/{request_id}/open", json={"claim": b64u_encode(os.urandom(32))}
    )
    unknown = await api.post(f"{REQUESTS}/{'A' * 21}A/open", json=asker.fill_claim())
    assert stranger.status == unknown.status == 404
    too_big = await answer(api, request_id, asker, asker.public_key, "", os.urandom(5000))
    # The limit said is the request's, below the service's.
    assert (too_big.status, (await too_big.json())["max_content_bytes"]) == (413, 1000)
    wrong = new_asker()
    not_theirs = await answer(api, request_id, wrong, asker.public_key, "hi")
    assert not_theirs.status == 404
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    view = await api.get(f"{REQUESTS}/{request_id}", headers=bearer(os.urandom(32)))
    assert view.status == 404

    await db.execute("UPDATE requests SET expires_at = now() - interval '1 s'")
    late = await answer(api, request_id, asker, asker.public_key, "hi")
    assert (late.status, (await late.json())["type"]) == (
        410,
        "urn:burnafter:problem:request-expired",
    )
    assert (await state_of(api, request_id, asker))["state"] == "expired"


async def test_who_may_ask_is_the_request_policy(api_with: ClientWith) -> None:
    api = await site(api_with, CREATE_POLICY="open", REQUEST_POLICY="sso")
    refused = await api.post(REQUESTS, json=new_asker().body())
    assert refused.status == 401
    allowed = await site(api_with, CREATE_POLICY="sso")
    assert (await allowed.post(REQUESTS, json=new_asker().body())).status == 401  # follows it
    opened = await site(api_with)
    assert (await opened.post(REQUESTS, json=new_asker().body())).status == 201


async def test_racing_answers_across_two_processes_store_exactly_one(
    two_apis: list[ServiceProcess], db: asyncpg.Connection
) -> None:
    asker = new_asker()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        asked = await session.post(f"{two_apis[0].url}{REQUESTS}", json=asker.body())
        request_id = (await asked.json())["id"]
        start = asyncio.Event()
        waiting: list[int] = []

        async def race(n: int) -> tuple[int, str | None]:
            body, _ = sealed_answer(asker.public_key, f"answer {n} {secrets.token_hex(6)}", b"")
            waiting.append(n)
            await start.wait()
            url = f"{two_apis[n % 2].url}{REQUESTS}/{request_id}/answer"
            async with session.post(url, json={**body, **asker.fill_claim()}) as response:
                problem = None if response.status == 201 else (await response.json())["type"]
                return response.status, problem

        tasks = [asyncio.create_task(race(n)) for n in range(RACERS)]
        await eventually(lambda: len(waiting) == RACERS, what="every racer at the start line")
        start.set()
        results = await asyncio.gather(*tasks)

    assert Counter(results) == {
        (201, None): 1,
        (409, "urn:burnafter:problem:request-answered"): RACERS - 1,
    }
    assert await db.fetchval("SELECT count(*) FROM secrets WHERE id = $1", request_id) == 1
    assert await db.fetchval("SELECT count(*) FROM contents WHERE id = $1", request_id) == 1


async def test_the_reaper_takes_requests_a_retention_past_their_time(
    api_with: ClientWith, db: asyncpg.Connection, database_url: str
) -> None:
    api = await site(api_with)
    asker = new_asker()
    stale = (await (await api.post(REQUESTS, json=asker.body())).json())["id"]
    fresh = (await (await api.post(REQUESTS, json=asker.body())).json())["id"]
    settings = make_settings(database_url)
    await db.execute(
        "UPDATE requests SET expires_at = now() - make_interval(secs => $2 + 60) WHERE id = $1",
        stale,
        settings.receipt_retention,
    )
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await reap_once(pool, settings)
    finally:
        await pool.close()
    left = {row["id"] for row in await db.fetch("SELECT id FROM requests")}
    assert stale not in left and fresh in left


async def test_a_request_s_life_is_audited_by_its_reference_only(api_with: ClientWith) -> None:
    api = await site(api_with, AUDIT_KEY="q" * 32)
    asker = new_asker()
    with structlog.testing.capture_logs() as logged:
        request_id = (await (await api.post(REQUESTS, json=asker.body())).json())["id"]
        assert (await api.post(f"{REQUESTS}/{request_id}/open", json=asker.fill_claim())).ok
        assert (await answer(api, request_id, asker, asker.public_key, "hunter2")).status == 201
    audit = [line for line in logged if line.get("audit")]
    assert [line["event"] for line in audit] == [
        "request.created",
        "request.opened",
        "request.answered",
    ]
    ref = Auditor(b"q" * 32, "api").ref(request_id)
    assert {line["secret_ref"] for line in audit} == {ref}
    assert request_id not in repr(logged) and asker.note not in repr(logged)


async def test_an_answer_counts_against_the_asker_s_storage_quota(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    quota = 24 * 1024
    api = await site(api_with, MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER=str(quota))
    first, second = new_asker(), new_asker()
    first_id = (await (await api.post(REQUESTS, json=first.body())).json())["id"]
    second_id = (await (await api.post(REQUESTS, json=second.body())).json())["id"]
    # The responder's bytes are the asker's: an answer over what is left is refused,
    # and stores nothing; the request stays open for an answer that fits.
    too_much = await answer(api, first_id, first, first.public_key, "", os.urandom(quota))
    assert (too_much.status, (await too_much.json())["type"]) == (
        507,
        "urn:burnafter:problem:sender-quota-full",
    )
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    assert (await state_of(api, first_id, first))["state"] == "open"
    fits = await answer(api, first_id, first, first.public_key, "", os.urandom(quota // 2))
    assert fits.status == 201
    # Both asked from one address, so they share one anonymous sender's quota: what
    # the first answer holds leaves too little for a second one of the same size.
    again = await answer(api, second_id, second, second.public_key, "", os.urandom(quota // 2))
    assert again.status == 507
