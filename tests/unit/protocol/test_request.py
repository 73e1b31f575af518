"""Protocol v2 requests (services/protocol/request.py) against the vectors that the
browser's request.js passes too, and the properties the design promises: a fill
link never opens the answer, and a fill link with another public key makes an
answer the asker's collect link refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from services.protocol import content, request
from services.protocol.envelope import EnvelopeError, b64u_decode, b64u_encode

VECTORS = json.loads(
    (Path(__file__).resolve().parents[3] / "docs" / "protocol-v2-vectors.json").read_text()
)


def d(value: str) -> bytes:
    return b64u_decode(value)


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=lambda v: str(v["passphrase"]))
def test_request_vectors(vector: dict[str, Any]) -> None:
    fill = request.fill_keys(d(vector["fill_key"]))
    assert (b64u_encode(fill.claim), b64u_encode(fill.note)) == (
        vector["fill_claim"],
        vector["note_key"],
    )
    assert request.open_note(d(vector["fill_key"]), d(vector["sealed_note"])) == vector["note"]
    sealed = request.seal_note(d(vector["fill_key"]), vector["note"], d(vector["note_nonce"]))
    assert b64u_encode(sealed) == vector["sealed_note"]
    private = d(vector["private_key"])
    assert b64u_encode(request.public_key(private)) == vector["public_key"]
    collect = request.collect_keys(private, vector["passphrase"])
    assert b64u_encode(collect.claim) == vector["collect_claim"]
    assert b64u_encode(collect.manage) == vector["collect_manage"]
    assert (None if collect.unlock is None else b64u_encode(collect.unlock)) == (
        vector["collect_unlock"]
    )
    wrapped = request.wrap_for_asker(
        d(vector["public_key"]),
        d(vector["content_key"]),
        d(vector["ephemeral_private"]),
        d(vector["wrap_nonce"]),
    )
    assert b64u_encode(wrapped) == vector["wrapped"]
    assert request.unwrap_as_asker(private, wrapped) == d(vector["content_key"])
    with pytest.raises(content.ContentError):  # a fill link whose public key was changed
        request.unwrap_as_asker(private, d(vector["wrapped_to_another_key"]))


def test_an_answer_opens_only_with_the_askers_private_key() -> None:
    private, content_key = request.new_private_key(), content.new_content_key()
    wrapped = request.wrap_for_asker(request.public_key(private), content_key)
    assert len(wrapped) == request.WRAPPED_ANSWER_BYTES
    assert request.unwrap_as_asker(private, wrapped) == content_key
    with pytest.raises(content.ContentError):
        request.unwrap_as_asker(request.new_private_key(), wrapped)
    # Nothing a fill link holds (its key, the public key) is a private key that opens it.
    fill_key = os.urandom(32)
    for held in (fill_key, request.public_key(private)):
        with pytest.raises(content.ContentError):
            request.unwrap_as_asker(held, wrapped)
    flipped = bytearray(wrapped)
    flipped[40] ^= 1
    with pytest.raises(content.ContentError):
        request.unwrap_as_asker(private, bytes(flipped))


def test_a_public_key_of_small_order_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        request.wrap_for_asker(bytes(32), content.new_content_key())


def test_a_note_is_bounded_and_padded() -> None:
    fill_key = os.urandom(32)
    short, longer = request.seal_note(fill_key, "a"), request.seal_note(fill_key, "a" * 900)
    assert len(short) == len(longer)  # both in the first padding bucket
    with pytest.raises(EnvelopeError):
        request.seal_note(fill_key, "x" * (request.NOTE_BYTES + 1))
    with pytest.raises(EnvelopeError):
        request.open_note(os.urandom(32), short)
