"""Protocol v2 contents through the api, on real PostgreSQL over real HTTP: a small
secret in one request each way; a large one uploaded in segments, resumed,
finalized, revealed with a download grant and downloaded segment by segment."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter

import asyncpg

from services.protocol import content
from services.protocol.envelope import b64u_decode, b64u_encode
from tests.support.fixtures_types import ApiClient, ClientWith
from tests.support.sealing import seal_content

SEGMENT = 4096
CONTENTS = "/api/v1/contents"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def octets(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/octet-stream"}


async def small_site(api_with: ClientWith, **env: str) -> ApiClient:
    return await api_with(SEGMENT_SIZE=str(SEGMENT), MAX_CONTENT_BYTES=str(1024 * 1024), **env)


def opened(sealed_segments: list[bytes], content_key: bytes) -> tuple[str, bytes]:
    parts = list(content.ContentOpener(content_key, sealed_segments, SEGMENT))
    header = parts[0]
    assert isinstance(header, content.Header)
    data = b"".join(p.data for p in parts[1:] if isinstance(p, content.FileChunk))
    return header.text, data


async def test_a_password_is_one_request_each_way(api_with: ClientWith) -> None:
    api = await small_site(api_with)
    limits = await (await api.get("/api/v1/limits")).json()
    assert (limits["segment_size"], limits["max_content_bytes"]) == (SEGMENT, 1024 * 1024)
    sealed = seal_content(SEGMENT, "db-admin / 4uK#p9!vQz-2mW")
    created = await api.post(CONTENTS, json=sealed.body)
    assert created.status == 201, await created.text()
    answer = await created.json()
    assert answer["upload"] is None  # live at once
    peeked = await api.post(f"/api/v1/secrets/{answer['id']}/peek", json=sealed.claim())
    peek = await peeked.json()
    assert (peek["version"], peek["sealed_bytes"]) == (2, len(sealed.segments[0]))
    revealed = await api.post(f"/api/v1/secrets/{answer['id']}/reveal", json=sealed.claim())
    body = await revealed.json()
    assert (body["version"], body["download"], body["segment_count"]) == (2, None, 1)
    content_key = content.unwrap_content_key(sealed.keys.wrap, b64u_decode(body["wrapped_key"]))
    assert opened([b64u_decode(body["first_segment"])], content_key) == (
        "db-admin / 4uK#p9!vQz-2mW",
        b"",
    )


async def test_a_file_in_segments_uploads_resumes_and_downloads(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    data = os.urandom(50_000)
    sealed = seal_content(SEGMENT, "the dump", data)
    count = len(sealed.segments)
    assert count > 10
    answer = await (await api.post(CONTENTS, json=sealed.body)).json()
    secret_id, upload = answer["id"], answer["upload"]
    assert upload["received"] == 1
    url = f"{CONTENTS}/{secret_id}/segments"
    token = upload["token"]
    for index in range(1, 6):
        put = await api.put(f"{url}/{index}", data=sealed.segments[index], headers=octets(token))
        assert (await put.json()) == {"received": index + 1}
    # The connection broke: the client asks where to go on, and a retry is harmless.
    state = await (await api.get(f"{CONTENTS}/{secret_id}/upload", headers=bearer(token))).json()
    assert (state["received"], state["segment_count"]) == (6, count)
    again = await api.put(f"{url}/5", data=sealed.segments[5], headers=octets(token))
    assert (again.status, await again.json()) == (200, {"received": 6})
    ahead = await api.put(f"{url}/7", data=sealed.segments[7], headers=octets(token))
    assert (ahead.status, await ahead.json()) == (200, {"received": 6})  # in the window
    skipped = await api.put(f"{url}/10", data=sealed.segments[10], headers=octets(token))
    assert skipped.status == 409  # 6 + UPLOAD_WINDOW (4) and past
    assert (await skipped.json())["received"] == 6
    conflict = await api.put(f"{url}/2", data=sealed.segments[3], headers=octets(token))
    assert (await conflict.json())["type"] == "urn:burnafter:problem:segment-conflict"
    early = await api.post(f"{CONTENTS}/{secret_id}/finalize", headers=bearer(token))
    assert (early.status, (await early.json())["received"]) == (409, 6)
    not_yet = await api.post(f"/api/v1/secrets/{secret_id}/reveal", json=sealed.claim())
    assert not_yet.status == 404  # not live before finalize
    for index in range(6, count):
        put = await api.put(f"{url}/{index}", data=sealed.segments[index], headers=octets(token))
        assert put.status == 200
    live = await api.post(f"{CONTENTS}/{secret_id}/finalize", headers=bearer(token))
    assert (await live.json()) == {"state": "live"}

    body = await (await api.post(f"/api/v1/secrets/{secret_id}/reveal", json=sealed.claim())).json()
    grant = body["download"]["token"]
    received = [b64u_decode(body["first_segment"])]
    for index in range(1, count):
        got = await api.get(f"{url}/{index}", headers=bearer(grant))
        assert got.content_type == "application/octet-stream"
        received.append(await got.read())
    again_first = await api.get(f"{url}/1", headers=bearer(grant))  # a cut download resumes
    assert await again_first.read() == received[1]
    content_key = content.unwrap_content_key(sealed.keys.wrap, b64u_decode(body["wrapped_key"]))
    text, plain = opened(received, content_key)
    assert (text, hashlib.sha256(plain).digest()) == ("the dump", hashlib.sha256(data).digest())
    done = await api.post(f"{CONTENTS}/{secret_id}/downloaded", headers=bearer(grant))
    assert done.status == 204
    after = await api.get(f"{url}/1", headers=bearer(grant))
    assert (after.status, (await after.json())["type"]) == (
        404,
        "urn:burnafter:problem:download-not-found",
    )
    assert await db.fetchval("SELECT count(*) FROM segments WHERE content_id = $1", secret_id) == 0


async def test_a_content_over_the_limit_is_refused_before_any_segment(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await api_with(SEGMENT_SIZE=str(SEGMENT), MAX_CONTENT_BYTES=str(20_000))
    sealed = seal_content(SEGMENT, "", os.urandom(30_000))
    refused = await api.post(CONTENTS, json=sealed.body)
    assert refused.status == 413
    problem = await refused.json()
    assert problem["max_content_bytes"] == 20_000
    assert "20000 bytes" in problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM contents") == 0
    wrong_size = await api.post(
        CONTENTS, json={**seal_content(SEGMENT, "x").body, "segment_size": 8192}
    )
    assert (wrong_size.status, (await wrong_size.json())["field"]) == (400, "segment_size")


async def test_strangers_and_bad_tokens_get_one_answer_and_change_nothing(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    sealed = seal_content(SEGMENT, "", os.urandom(20_000))
    answer = await (await api.post(CONTENTS, json=sealed.body)).json()
    url = f"{CONTENTS}/{answer['id']}/segments/1"
    wrong = b64u_encode(os.urandom(32))
    stranger = await api.put(url, data=sealed.segments[1], headers=octets(wrong))
    unknown = await api.put(
        f"{CONTENTS}/{b64u_encode(os.urandom(16))}/segments/1",
        data=sealed.segments[1],
        headers=octets(answer["upload"]["token"]),
    )
    assert stranger.status == unknown.status == 404
    assert await stranger.json() == await unknown.json()
    for response in [
        await api.put(url, data=sealed.segments[1]),  # no token
        await api.put(url, data=b"x", headers=bearer(answer["upload"]["token"])),  # no type
        await api.put(f"{CONTENTS}/{answer['id']}/segments/-1", headers=octets(wrong)),
        await api.get(url, headers=bearer(wrong)),
        await api.post(f"{CONTENTS}/{answer['id']}/downloaded", headers=bearer(wrong)),
    ]:
        assert 400 <= response.status < 500, response.status
    assert await db.fetchval("SELECT received FROM contents WHERE id = $1", answer["id"]) == 1


async def test_racing_reveals_of_a_one_view_file_give_one_grant(api_with: ClientWith) -> None:
    api = await small_site(api_with)
    sealed = seal_content(SEGMENT, "", os.urandom(10_000))
    answer = await (await api.post(CONTENTS, json=sealed.body)).json()
    token = answer["upload"]["token"]
    for index in range(1, len(sealed.segments)):
        await api.put(
            f"{CONTENTS}/{answer['id']}/segments/{index}",
            data=sealed.segments[index],
            headers=octets(token),
        )
    await api.post(f"{CONTENTS}/{answer['id']}/finalize", headers=bearer(token))
    reveal = f"/api/v1/secrets/{answer['id']}/reveal"
    reveals = await asyncio.gather(*(api.post(reveal, json=sealed.claim()) for _ in range(20)))
    assert Counter(r.status for r in reveals) == {200: 1, 404: 19}


async def test_a_ten_gib_content_can_be_declared_where_the_operator_allows_it(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    gib = 1024**3
    api = await api_with(
        SEGMENT_SIZE=str(256 * 1024),
        MAX_CONTENT_BYTES=str(10 * gib),
        MAX_STORED_CIPHERTEXT_BYTES="0",
        MAX_STORED_CIPHERTEXT_BYTES_PER_SENDER="0",
    )
    limits = await (await api.get("/api/v1/limits")).json()
    segment = limits["segment_size"]
    sealed_bytes = limits["max_sealed_bytes"]
    count = -(-sealed_bytes // (segment + 16))
    first = seal_content(SEGMENT, "x").body
    body = {
        **first,
        "segment_size": segment,
        "segment_count": count,
        "sealed_bytes": sealed_bytes,
        "first_segment": b64u_encode(os.urandom(segment + 16)),
    }
    created = await api.post(CONTENTS, json=body)
    assert created.status == 201, await created.text()
    assert (await created.json())["upload"]["received"] == 1
    row = await db.fetchrow("SELECT sealed_bytes, segment_count FROM contents")
    assert tuple(row) == (sealed_bytes, count) and sealed_bytes > 10 * gib
    over = await api.post(CONTENTS, json={**body, "sealed_bytes": sealed_bytes + 1})
    assert over.status == 413


async def test_ids_and_indexes_out_of_any_content_get_a_4xx_and_change_nothing(
    api_with: ClientWith, db: asyncpg.Connection
) -> None:
    api = await small_site(api_with)
    sealed = seal_content(SEGMENT, "", os.urandom(20_000))
    answer = await (await api.post(CONTENTS, json=sealed.body)).json()
    upload = octets(answer["upload"]["token"])
    stranger = bearer(b64u_encode(os.urandom(32)))
    for content_id, index in [
        (answer["id"], "9999999999"),  # past any PostgreSQL integer
        (answer["id"], "2147483648"),
        (answer["id"], "1" * 40),
        ("not-an-id", "1"),
        ("%00" * 22, "1"),  # a NUL byte PostgreSQL's text would refuse
        ("A" * 5000, "1"),
    ]:
        url = f"{CONTENTS}/{content_id}/segments/{index}"
        answers = [
            await api.put(url, data=b"x", headers=upload),
            await api.get(url, headers=stranger),
        ]
        if content_id != answer["id"]:
            answers += [
                await api.get(f"{CONTENTS}/{content_id}/upload", headers=upload),
                await api.post(f"{CONTENTS}/{content_id}/finalize", headers=upload),
                await api.post(f"{CONTENTS}/{content_id}/downloaded", headers=stranger),
            ]
        for response in answers:
            assert 400 <= response.status < 500, (content_id[:30], index, response.status)
    assert await db.fetchval("SELECT received FROM contents WHERE id = $1", answer["id"]) == 1
