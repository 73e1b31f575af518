"""A request's clients, played with services/protocol as the pages and the CLI play
them: the asker (fill key, key pair, note), the responder's sealed answer, and the
asker's collect."""

from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.protocol import content, request
from services.protocol.envelope import b64u_decode, b64u_encode, verifier
from tests.support.fixtures_types import ApiClient
from tests.support.leaks import LEAK_WATCH

SEGMENT = 4096
REQUESTS = "/api/v1/requests"


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


def new_asker(passphrase: str | None = None, note: str | None = None) -> Asker:
    """A new asker's keys and note (one of its own unless given), all watched for leaks."""
    fill_key, private_key = os.urandom(32), request.new_private_key()
    note = f"Please send the staging key {secrets.token_hex(6)}" if note is None else note
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


def sealed_answer(
    public_key: bytes, text: str, data: bytes, segment_size: int = SEGMENT
) -> tuple[dict[str, Any], list[bytes]]:
    """What the responder's client sends: the answer sealed, its key wrapped to the asker."""
    content_key = content.new_content_key()
    LEAK_WATCH.add("content key", content_key)
    files = [content.FileSource("keys.txt", "text/plain", len(data), io.BytesIO(data))]
    segments = list(content.ContentSealer(content_key, text, files if data else (), segment_size))
    body = {
        "segment_size": segment_size,
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


async def answer_in_parts(
    api: ApiClient, request_id: str, asker: Asker, text: str, data: bytes
) -> tuple[dict[str, str], str, list[bytes]]:
    """The responder's answer and its first segment only: the upload token (none for
    one segment), and the segments to put."""
    body, segments = sealed_answer(asker.public_key, text, data)
    answered = await api.post(
        f"{REQUESTS}/{request_id}/answer", json={**body, **asker.fill_claim()}
    )
    assert answered.status == 201
    upload = (await answered.json())["upload"]
    return (bearer(upload["token"]) if upload else {}), request_id, segments


async def finish_upload(
    api: ApiClient, token: dict[str, str], request_id: str, segments: list[bytes]
) -> None:
    for index in range(1, len(segments)):
        url = f"/api/v1/contents/{request_id}/segments/{index}"
        assert (await api.put(url, data=segments[index], headers=token)).status == 200
    assert (await api.post(f"/api/v1/contents/{request_id}/finalize", headers=token)).status == 200
