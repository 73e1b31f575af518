"""Requests through the api (issue 17, its server side): ask, read with the fill
link, answer once (a v2 content sealed to the asker), collect with the collect
link. Clients are played here with services/protocol, as the pages and the CLI
will play them."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.protocol import content, request
from services.protocol.envelope import b64u_decode, b64u_encode, verifier
from services.worker.reaper import reap_once
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.leaks import LEAK_WATCH
from tests.support.services import ServiceProcess, make_settings
from tests.support.waiting import eventually

SEGMENT = 4096
REQUESTS = "/api/v1/requests"
RACERS = 50
TWO_APIS_ENV = {"SEGMENT_SIZE": str(SEGMENT), "RATE_LIMIT_CREATE": "0"}  # the fixture's


def bearer(token: bytes | str) -> dict[str, str]:
    value = b64u_encode(token) if isinstance(token, bytes) else token
    return {"Authorization": f"Bearer {value}"}


@dataclass(frozen=True)
class Asker:
    """The asker's client: the fill link's key, the key pair, the note."""

    fill_key: bytes
    private_key: bytes
    note: str
    passphrase: str | None = None

    @property
    def public_key(self) -> bytes:
        return request.public_key(self.private_key)

    @property
    def collect(self) -> request.CollectKeys:
        return request.collect_keys(self.private_key, self.passphrase)

    def body(self, **fields: Any) -> dict[str, Any]:
        collect = self.collect
        answer = {"claim_verifier": b64u_encode(verifier(collect.claim)), "max_views": 1}
        if collect.unlock is not None:
            answer["unlock_verifier"] = b64u_encode(verifier(collect.unlock))
        return {
            "fill_verifier": b64u_encode(verifier(request.fill_keys(self.fill_key).claim)),
            "note": b64u_encode(request.seal_note(self.fill_key, self.note)),
            "answer": answer,
            "manage_verifier": b64u_encode(verifier(collect.manage)),
            **fields,
        }

    def fill_claim(self) -> dict[str, str]:
        return {"claim": b64u_encode(request.fill_keys(self.fill_key).claim)}


def new_asker(passphrase: str | None = None) -> Asker:
    fill_key, private_key = os.urandom(32), request.new_private_key()
    note = f"Please send the staging key {secrets.token_hex(6)}"
    watched: list[tuple[str, bytes | str]] = [
        ("fill key", fill_key),
        ("private key", private_key),
        ("public key", request.public_key(private_key)),
        ("note", note),
        ("claim", request.fill_keys(fill_key).claim),
        ("claim", request.collect_keys(private_key).claim),
        ("manage", request.collect_keys(private_key).manage),
    ]
    for what, value in watched:
        LEAK_WATCH.add(what, value)
    return Asker(fill_key, private_key, note, passphrase)


def sealed_answer(public_key: bytes, text: str, data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """What the responder's client sends: the answer sealed, its key wrapped to the asker."""
    content_key = content.new_content_key()
    LEAK_WATCH.add("content key", content_key)
    files = [content.FileSource("keys.txt", "text/plain", len(data), io.BytesIO(data))]
    segments = list(content.ContentSealer(content_key, text, files if data else (), SEGMENT))
    body = {
        "segment_size": SEGMENT,
        "segment_count": len(segments),
        "sealed_bytes": sum(map(len, segments)),
        "first_segment": b64u_encode(segments[0]),
        "wrapped_key": b64u_encode(request.wrap_for_asker(public_key, content_key)),
    }
    return body, segments


async def answer(
    api: ApiClient, request_id: str, asker: Asker, public_key: bytes, text: str, data: bytes = b""
) -> aiohttp.ClientResponse:
    body, segments = sealed_answer(public_key, text, data)
    answered = await api.post(
        f"{REQUESTS}/{request_id}/answer", json={**body, **asker.fill_claim()}
    )
    if answered.status != 201:
        return answered
    upload = (await answered.json())["upload"]
    if upload is not None:
        token = bearer(upload["token"])
        for index in range(1, len(segments)):
            url = f"/api/v1/contents/{request_id}/segments/{index}"
            assert (await api.put(url, data=segments[index], headers=token)).status == 200
        done = await api.post(f"/api/v1/contents/{request_id}/finalize", headers=token)
        assert done.status == 200
    return answered


async def collect(api: ApiClient, request_id: str, asker: Asker) -> tuple[str, bytes]:
    """The asker opens the answer with the collect link: text and file bytes."""
    keys = asker.collect
    proofs = {"claim": b64u_encode(keys.claim)}
    if keys.unlock is not None:
        proofs["unlock"] = b64u_encode(keys.unlock)
    revealed = await api.post(f"/api/v1/secrets/{request_id}/reveal", json=proofs)
    assert revealed.status == 200, await revealed.text()
    body = await revealed.json()
    content_key = request.unwrap_as_asker(asker.private_key, b64u_decode(body["wrapped_key"]))
    got = [b64u_decode(body["first_segment"])]
    if body["download"] is not None:
        grant = bearer(body["download"]["token"])
        for index in range(1, body["segment_count"]):
            url = f"/api/v1/contents/{body['content_id']}/segments/{index}"
            got.append(await (await api.get(url, headers=grant)).read())
        await api.post(f"/api/v1/contents/{body['content_id']}/downloaded", headers=grant)
    parts = list(content.ContentOpener(content_key, got, SEGMENT))
    header = parts[0]
    assert isinstance(header, content.Header)
    return header.text, b"".join(p.data for p in parts if isinstance(p, content.FileChunk))


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
    assert too_big.status == 413
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
